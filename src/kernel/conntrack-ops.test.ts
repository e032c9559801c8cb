import { describe, expect, it } from 'vitest';
import { InvariantError, KernelOpError } from '../errors.js';
import { silentLogger } from '../log.js';
import { ConntrackToolOps, parseConntrack } from './conntrack-ops.js';
import { FakeCommandRunner } from './testing/fake-command-runner.js';
import { FakeConntrackOps } from './testing/fake-conntrack-ops.js';

// conntrack v1.4.7 `conntrack -L` output.
const LIST = `udp      17 99 src=10.1.1.3 dst=10.1.1.1 sport=1000 dport=53 [UNREPLIED] src=10.1.1.1 dst=10.1.1.3 sport=53 dport=1000 mark=0 use=1
tcp      6 99 ESTABLISHED src=10.1.1.1 dst=10.96.0.10 sport=1000 dport=80 [UNREPLIED] src=10.2.2.2 dst=10.1.1.1 sport=80 dport=1000 [ASSURED] mark=0 use=1
`;

describe('ConntrackToolOps', () => {
  it('parses both tuples of each flow', () => {
    expect(parseConntrack(LIST)).toEqual([
      {
        proto: 'udp',
        src: '10.1.1.3',
        dst: '10.1.1.1',
        sport: 1000,
        dport: 53,
        replySrc: '10.1.1.1',
        replyDst: '10.1.1.3',
      },
      {
        proto: 'tcp',
        src: '10.1.1.1',
        dst: '10.96.0.10',
        sport: 1000,
        dport: 80,
        replySrc: '10.2.2.2',
        replyDst: '10.1.1.1',
      },
    ]);
  });

  it('deletes by original and reply source and destination, treating "0 deleted" as success', async () => {
    const runner = new FakeCommandRunner()
      .on('--orig-src', {
        exitCode: 0,
        stderr: 'conntrack v1.4.7 (conntrack-tools): 2 flow entries have been deleted.\n',
      })
      .on('conntrack -D', {
        exitCode: 1,
        stderr: 'conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.\n',
      });
    const ct = new ConntrackToolOps(runner, silentLogger(), 'n1');
    expect(await ct.deleteFlowsFor('10.1.1.1')).toBe(2);
    expect(runner.lines).toEqual(
      ['--orig-src', '--orig-dst', '--reply-src', '--reply-dst'].map(
        (f) => `ip netns exec n1 conntrack -D ${f} 10.1.1.1`,
      ),
    );
    await expect(ct.deleteFlowsFor('10.1.1.1 -F')).rejects.toThrow(InvariantError);
  });

  it('fails on a real error', async () => {
    const runner = new FakeCommandRunner().on('conntrack -D', {
      exitCode: 1,
      stderr: 'conntrack v1.4.7: Operation failed: Operation not permitted\n',
    });
    await expect(new ConntrackToolOps(runner, silentLogger()).deleteFlowsFor('10.1.1.1')).rejects.toThrow(
      KernelOpError,
    );
  });

  it('the fake filters by IP in either direction', async () => {
    const f = new FakeConntrackOps();
    f.flows = parseConntrack(LIST);
    expect((await f.list({ ip: '10.2.2.2' })).length).toBe(1);
    expect(await f.deleteFlowsFor('10.1.1.1')).toBe(2);
    expect(await f.count()).toBe(0);
  });
});
