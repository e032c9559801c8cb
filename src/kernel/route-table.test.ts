import { describe, expect, it } from 'vitest';
import { InvariantError } from '../errors.js';
import { silentLogger } from '../log.js';
import { KernelBatchError } from './errors.js';
import { IpRouteTable } from './route-table.js';
import { FakeCommandRunner } from './testing/fake-command-runner.js';
import { FakeRouteTable } from './testing/fake-route-table.js';

const V4 =
  '[{"dst":"10.1.0.0/24","gateway":"10.9.0.2","dev":"d0","protocol":"109"},{"dst":"10.2.0.0/24","dev":"d0","protocol":"4"},{"dst":"10.3.0.0/24","dev":"d0","protocol":"110"}]';

describe('IpRouteTable', () => {
  it('a shared read answers the next read of every protocol (one process), unless a write or 5 s came between', async () => {
    const answer = ({ stdin }: { stdin?: string }) => ({
      stdout: (stdin ?? '')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) =>
          l === 'route show table all proto 111 root 0.0.0.0/0'
            ? '[{"dst":"10.1.0.0/26","gateway":"10.9.0.2","dev":"d0"},{"dst":"10.2.0.0/26","dev":"d0","table":"77"}]'
            : '[]',
        )
        .join('\n'),
    });
    const runner = new FakeCommandRunner().on('-N -j -batch -', answer);
    const rt = new IpRouteTable(runner, silentLogger());
    expect((await rt.list({ shareWithNext: true })).map((r) => r.dst)).toEqual(['10.1.0.0/26', '10.2.0.0/26']);
    expect((await rt.list({ table: 254 })).map((r) => r.dst)).toEqual(['10.1.0.0/26']); // from the shared read
    expect(runner.commands).toHaveLength(1);
    await rt.list({ table: 254 }); // used once: read again
    expect(runner.commands).toHaveLength(2);
    // A write in between: read again.
    await rt.list({ shareWithNext: true });
    await rt.apply({ remove: [{ dst: '10.1.0.0/26', table: 254, proto: 111 }] });
    const n = runner.commands.length;
    await rt.list({});
    expect(runner.lines.slice(n)).toEqual(['ip -N -j -batch -']);
    // Stale: read again.
    const now = Date.now();
    await rt.list({ shareWithNext: true });
    const m = runner.commands.length;
    const realNow = Date.now;
    Date.now = () => now + 6000;
    try {
      await rt.list({});
    } finally {
      Date.now = realNow;
    }
    expect(runner.commands.length).toBe(m + 1);
    await expect(rt.list({ shareWithNext: true, protos: [111] })).rejects.toThrow(InvariantError);
  });

  it('lists both families in the target namespace in one ip -batch and keeps only our protocols', async () => {
    const runner = new FakeCommandRunner().on('-N -j -batch -', ({ stdin }) => ({
      // One JSON line per `route show` line, in order: proto 109 v4 holds a route, the rest nothing.
      stdout: (stdin ?? '')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) =>
          l === 'route show table all proto 109 root 0.0.0.0/0'
            ? '[{"dst":"10.1.0.0/24","gateway":"10.9.0.2","dev":"d0"}]'
            : l === 'route show table all proto 110 root 0.0.0.0/0'
              ? '[{"dst":"10.3.0.0/24","dev":"d0"},{"dst":"10.4.0.0/24","dev":"d0","table":"77"}]'
              : '[]',
        )
        .join('\n'),
    }));
    const rt = new IpRouteTable(runner, silentLogger(), 'nsA');
    expect((await rt.list()).map((r) => [r.dst, r.table, r.proto])).toEqual([
      ['10.1.0.0/24', 254, 109],
      ['10.3.0.0/24', 254, 110],
      ['10.4.0.0/24', 77, 110],
    ]);
    expect(runner.commands.map((c) => [c.argv.join(' '), c.stdin])).toEqual([
      [
        'ip -n nsA -N -j -batch -',
        [109, 110, 111]
          .flatMap((p) => ['0.0.0.0/0', '::/0'].map((root) => `route show table all proto ${p} root ${root}\n`))
          .join(''),
      ],
    ]);
    expect((await rt.list({ protos: [110], family: 4, table: 254 })).map((r) => [r.dst, r.proto])).toEqual([
      ['10.3.0.0/24', 110],
    ]);
    await expect(rt.list({ protos: [4] })).rejects.toThrow(InvariantError);
  });

  it('falls back to one ip process per query when the batch stops at a failure', async () => {
    const runner = new FakeCommandRunner()
      .on('-N -j -batch -', { exitCode: 1, stderr: 'Error: ipv4: FIB table does not exist.\nDump terminated\n' })
      .on('-4 route show table 77 proto 109', { exitCode: 2, stderr: 'Error: ipv4: FIB table does not exist.\n' })
      .on('-4 route show table 77 proto 110', { stdout: '[{"dst":"10.3.0.0/24","dev":"d0","table":"77"}]' })
      .on('route show', { stdout: '[]' });
    const rt = new IpRouteTable(runner, silentLogger());
    expect((await rt.list({ family: 4, table: 77 })).map((r) => [r.dst, r.proto, r.table])).toEqual([
      ['10.3.0.0/24', 110, 77],
    ]);
    expect(runner.lines.slice(1)).toEqual([109, 110, 111].map((p) => `ip -N -j -4 route show table 77 proto ${p}`));
  });

  it('writes removes and adds in one ip -force -batch, listing nothing when every key is free', async () => {
    const runner = new FakeCommandRunner();
    const rt = new IpRouteTable(runner, silentLogger());
    await rt.apply({
      replace: [{ dst: '10.5.0.0/26', table: 254, proto: 111, type: 'blackhole' }],
      remove: [{ dst: '10.6.0.0/26', table: 254, proto: 111 }],
    });
    expect(runner.commands.map((c) => [c.argv.join(' '), c.stdin])).toEqual([
      [
        'ip -force -batch -',
        'route del 10.6.0.0/26 table 254 proto 111\nroute add blackhole 10.5.0.0/26 table 254 proto 111\n',
      ],
    ]);
  });

  it('replaces a key the kernel holds only after seeing the route there is ours', async () => {
    const runner = new FakeCommandRunner()
      .on('-batch', { exitCode: 1, stderr: 'RTNETLINK answers: File exists\nCommand failed -:2\n' }, { once: true })
      .on('-N -j -batch -', {
        stdout: '[{"dst":"10.8.0.0/24","gateway":"10.9.0.2","dev":"d0"}]\n[]\n[]\n',
      });
    const rt = new IpRouteTable(runner, silentLogger());
    await rt.apply({
      replace: [
        { dst: '10.7.0.0/24', via: '10.9.0.2', table: 254, proto: 109 },
        { dst: '10.8.0.0/24', via: '10.9.0.3', table: 254, proto: 109 },
      ],
    });
    const batches = runner.commands.filter((c) => c.argv.includes('-force')).map((c) => c.stdin);
    expect(batches).toEqual([
      'route add 10.7.0.0/24 via 10.9.0.2 table 254 proto 109\nroute add 10.8.0.0/24 via 10.9.0.3 table 254 proto 109\n',
      'route replace 10.8.0.0/24 via 10.9.0.3 table 254 proto 109\n',
    ]);
    // Only our own protocols were listed, in the one table concerned; no full listing.
    expect(runner.commands.filter((c) => c.argv.includes('-j')).map((c) => c.stdin)).toEqual([
      [109, 110, 111].map((p) => `route show table all proto ${p} root 0.0.0.0/0\n`).join(''),
    ]);
  });

  it('names the failing lines, and ignores deleting a route that is already gone', async () => {
    const runner = new FakeCommandRunner().on('route show', { stdout: '[]' }).on('-batch', {
      exitCode: 1,
      stderr:
        'RTNETLINK answers: No such process\nCommand failed -:1\nError: Nexthop has invalid gateway.\nCommand failed -:3\n',
    });
    const rt = new IpRouteTable(runner, silentLogger());
    const err = await rt
      .apply({
        remove: [{ dst: '10.6.0.0/26', table: 254, proto: 109 }],
        replace: [
          { dst: '10.7.0.0/24', via: '10.9.0.2', table: 254, proto: 109 },
          { dst: '10.8.0.0/24', via: '10.99.0.2', table: 254, proto: 109 },
        ],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KernelBatchError);
    expect((err as KernelBatchError).code).toBe('MGY_KERNEL_OP');
    expect((err as KernelBatchError).failures).toEqual([
      {
        line: 3,
        text: 'route replace 10.8.0.0/24 via 10.99.0.2 table 254 proto 109',
        reason: 'Error: Nexthop has invalid gateway.',
      },
    ]);
    expect((err as Error).message).toContain('line 3 "route replace 10.8.0.0/24');
  });

  it('refuses to overwrite a foreign route with the same table, dst and metric, and applies the rest', async () => {
    const runner = new FakeCommandRunner()
      .on('-batch', { exitCode: 1, stderr: 'RTNETLINK answers: File exists\nCommand failed -:1\n' }, { once: true })
      .on('-N -j -batch -', { stdout: '[]\n[]\n[]\n' })
      .on('-4 route show table 254', { stdout: V4 });
    const rt = new IpRouteTable(runner, silentLogger());
    const err = await rt
      .apply({
        replace: [
          { dst: '10.2.0.0/24', dev: 'mgy1', table: 254, proto: 109 },
          { dst: '10.4.0.0/24', dev: 'mgy1', table: 254, proto: 109 },
        ],
      })
      .catch((e: unknown) => e);
    expect((err as KernelBatchError).failures).toEqual([
      {
        line: 1,
        text: 'route replace 10.2.0.0/24 dev mgy1 table 254 proto 109',
        reason: 'would overwrite a route with proto 4, which Margay does not own',
      },
    ]);
    // One batch only: the free key was added, the taken one never replaced.
    expect(runner.commands.filter((c) => c.argv.includes('-force')).map((c) => c.stdin)).toEqual([
      'route add 10.2.0.0/24 dev mgy1 table 254 proto 109\nroute add 10.4.0.0/24 dev mgy1 table 254 proto 109\n',
    ]);
  });

  it('refuses to write or delete routes with a protocol Margay does not own', async () => {
    const rt = new IpRouteTable(new FakeCommandRunner(), silentLogger());
    await expect(rt.replace({ dst: '10.0.0.0/24', dev: 'x', table: 254, proto: 4 })).rejects.toThrow(InvariantError);
    await expect(rt.remove({ dst: '10.0.0.0/24', table: 254, proto: 2 })).rejects.toThrow(/not one of Margay's/);
  });
});

describe('FakeRouteTable', () => {
  it('records ops, injects failures and never touches foreign routes', async () => {
    const rt = new FakeRouteTable();
    rt.seedForeign({ dst: '10.2.0.0/24', dev: 'eth0', table: 254, proto: 4 });
    await rt.replace({ dst: '10.1.0.0/24', dev: 'mgy1', table: 254, proto: 109 });
    await expect(rt.replace({ dst: '10.2.0.0/24', dev: 'mgy1', table: 254, proto: 109 })).rejects.toThrow(
      KernelBatchError,
    );
    rt.failNext(new InvariantError('boom'), /remove/);
    await expect(rt.remove({ dst: '10.1.0.0/24', table: 254, proto: 109 })).rejects.toThrow('boom');
    expect((await rt.list()).map((r) => r.dst)).toEqual(['10.1.0.0/24']);
    expect(rt.routes.size).toBe(2);
    expect(rt.ops).toEqual(['replace 10.1.0.0/24', 'replace 10.2.0.0/24', 'remove 10.1.0.0/24', 'list']);
  });
});
