import { describe, expect, it } from 'vitest';
import { Sequencer } from './sequencer.js';
import { RecordingSink } from './testing/fixtures.js';
import type { DesiredChain } from './types.js';

const chain = (name: string, ...targets: string[]): DesiredChain => ({
  family: 4,
  table: 'filter',
  name,
  rules: targets.map((t) => ['-j', t]),
});

describe('Sequencer', () => {
  it('emits nothing before in-sync, then everything followed by inSync', () => {
    const sink = new RecordingSink();
    const seq = new Sequencer(sink);
    seq.routeUpdated({ dst: '10.0.0.0/26', kind: 'blackhole' });
    seq.flush();
    expect(sink.calls).toEqual([]);
    seq.markInSync();
    seq.flush();
    expect(sink.names).toEqual(['routeUpdated', 'inSync']);
  });

  it('orders ipsets, chains (targets first), endpoints, routes, then removals in reverse', () => {
    const sink = new RecordingSink();
    const seq = new Sequencer(sink);
    seq.markInSync();
    seq.chainUpdated(chain('mgy-a', 'mgy-b'));
    seq.chainUpdated(chain('mgy-c'));
    seq.chainUpdated(chain('mgy-b', 'mgy-c'));
    seq.flush();
    sink.clear();
    seq.routeUpdated({ dst: '10.0.0.1/32', kind: 'workload', dev: 'mgy1' });
    seq.chainUpdated(chain('mgy-top', 'mgy-new'));
    seq.chainUpdated(chain('mgy-new'));
    seq.ipsetUpdated({ family: 4, name: 'mgy4-x', type: 'hash:net', members: [] });
    seq.routeRemoved('10.0.0.9/32');
    seq.chainRemoved(4, 'filter', 'mgy-c');
    seq.chainRemoved(4, 'filter', 'mgy-a');
    seq.chainRemoved(4, 'filter', 'mgy-b');
    seq.ipsetRemoved(4, 'mgy4-old');
    seq.flush();
    // Removals of never-emitted keys (10.0.0.9/32, mgy4-old) are dropped.
    expect(
      sink.calls.map((c) =>
        c[0] === 'chainUpdated' ? `+${(c[1] as DesiredChain).name}` : c[0] === 'chainRemoved' ? `-${c[3]}` : c[0],
      ),
    ).toEqual(['ipsetUpdated', '+mgy-new', '+mgy-top', 'routeUpdated', '-mgy-a', '-mgy-b', '-mgy-c']);
  });

  it('coalesces: an unchanged value is not re-emitted, update+remove in one batch of a new key is nothing', () => {
    const sink = new RecordingSink();
    const seq = new Sequencer(sink);
    seq.markInSync();
    seq.routeUpdated({ dst: '10.0.0.0/26', kind: 'blackhole' });
    seq.flush();
    sink.clear();
    seq.routeUpdated({ dst: '10.0.0.0/26', kind: 'blackhole' });
    seq.routeUpdated({ dst: '10.0.1.0/26', kind: 'blackhole' });
    seq.routeRemoved('10.0.1.0/26');
    seq.flush();
    expect(sink.calls).toEqual([]);
  });

  it('passes learnedRoutesInSync on only after inSync', () => {
    const sink = new RecordingSink();
    const seq = new Sequencer(sink);
    seq.markLearnedRoutesInSync();
    seq.flush();
    expect(sink.calls).toEqual([]);
    seq.markInSync();
    seq.flush();
    expect(sink.names).toEqual(['inSync', 'learnedRoutesInSync']);
  });
});
