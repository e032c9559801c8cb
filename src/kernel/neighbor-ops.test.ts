import { describe, expect, it } from 'vitest';
import { InvariantError, KernelOpError } from '../errors.js';
import { silentLogger } from '../log.js';
import { IpNeighborOps, parseNeighbors } from './neighbor-ops.js';
import { FakeCommandRunner } from './testing/fake-command-runner.js';
import { FakeNeighborOps } from './testing/fake-neighbor-ops.js';

describe('parseNeighbors', () => {
  it('parses permanent, dynamic and proxy entries (iproute2 6.1 JSON)', () => {
    expect(
      parseNeighbors(
        '[{"dst":"10.9.0.7","dev":"d0","lladdr":"02:00:00:00:00:07","state":["PERMANENT"]},{"dst":"fe80::1","dev":"d0","lladdr":"02:00:00:00:00:01","router":null,"state":["STALE"]}]',
      ),
    ).toEqual([
      { dst: '10.9.0.7', dev: 'd0', lladdr: '02:00:00:00:00:07', state: ['PERMANENT'], proxy: false },
      { dst: 'fe80::1', dev: 'd0', lladdr: '02:00:00:00:00:01', state: ['STALE'], proxy: false },
    ]);
    expect(parseNeighbors('[{"dst":"10.9.0.8","dev":"d0","proxy":null}]')).toEqual([
      { dst: '10.9.0.8', dev: 'd0', state: [], proxy: true },
    ]);
    expect(parseNeighbors('')).toEqual([]);
    expect(
      parseNeighbors('[{"dst":"10.9.0.7","lladdr":"02:00:00:00:00:07","state":["PERMANENT"]}]', 'mgy1')[0]!.dev,
    ).toBe('mgy1');
  });
});

describe('IpNeighborOps', () => {
  it('builds permanent, proxy and delete commands in the namespace', async () => {
    const runner = new FakeCommandRunner().on('del proxy 10.0.0.9', {
      exitCode: 2,
      stderr: 'RTNETLINK answers: No such file or directory',
    });
    const n = new IpNeighborOps(runner, silentLogger(), { netns: 'h' });
    await n.replace({ dst: '10.0.0.5', dev: 'mgyab', lladdr: 'ee:ee:ee:ee:ee:ee' });
    await n.replaceProxy({ dst: '10.0.0.9', dev: 'mgyab' });
    await n.delete({ dst: '10.0.0.9', dev: 'mgyab', proxy: true });
    await n.list({ dev: 'mgyab' });
    expect(runner.lines).toEqual([
      'ip -n h neigh replace 10.0.0.5 lladdr ee:ee:ee:ee:ee:ee dev mgyab nud permanent',
      'ip -n h neigh replace proxy 10.0.0.9 dev mgyab',
      'ip -n h neigh del proxy 10.0.0.9 dev mgyab',
      'ip -n h -j neigh show dev mgyab',
      'ip -n h -j neigh show proxy dev mgyab',
    ]);
  });

  it('refuses foreign devices and bad values; real failures throw', async () => {
    const runner = new FakeCommandRunner().on('neigh del', {
      exitCode: 2,
      stderr: 'RTNETLINK answers: Operation not permitted',
    });
    const n = new IpNeighborOps(runner, silentLogger());
    await expect(n.replace({ dst: '10.0.0.5', dev: 'eth0', lladdr: 'ee:ee:ee:ee:ee:ee' })).rejects.toThrow(
      InvariantError,
    );
    await expect(n.replace({ dst: '10.0.0.5 x', dev: 'mgy1', lladdr: 'ee:ee:ee:ee:ee:ee' })).rejects.toThrow(
      InvariantError,
    );
    await expect(n.delete({ dst: '10.0.0.5', dev: 'mgy1' })).rejects.toThrow(KernelOpError);
  });
});

describe('FakeNeighborOps', () => {
  it('stores entries and proxies separately', async () => {
    const f = new FakeNeighborOps();
    await f.replace({ dst: '10.0.0.5', dev: 'mgy1', lladdr: 'ee:ee:ee:ee:ee:ee' });
    await f.replaceProxy({ dst: '10.0.0.5', dev: 'mgy1' });
    expect(await f.list({ proxy: true })).toEqual([{ dst: '10.0.0.5', dev: 'mgy1', state: [], proxy: true }]);
    await f.delete({ dst: '10.0.0.5', dev: 'mgy1' });
    expect((await f.list()).map((n) => n.proxy)).toEqual([true]);
  });
});
