import { describe, expect, it } from 'vitest';
import { KernelOpError } from '../../src/errors.js';
import { FakeRouteTable } from '../../src/kernel/testing/fake-route-table.js';
import { FibApplyError, FibSync } from './fib-sync.js';

const T = 254;
const BGP = 110;

function kernel(fake: FakeRouteTable): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of fake.routes.values()) {
    out[r.dst] = r.nexthops ? r.nexthops.map((h) => h.via).join(',') : (r.via ?? '');
  }
  return out;
}

describe('FibSync', () => {
  it('installs best paths with our proto, ECMP as multipath, and removes withdrawn ones', async () => {
    const rt = new FakeRouteTable();
    const fib = new FibSync(rt, { table: T, batchSize: 2 });
    fib.setBestPaths([
      { prefix: '10.1.0.0/24', nextHops: ['10.0.0.2'] },
      { prefix: '10.2.0.0/24', nextHops: ['10.0.0.3', '10.0.0.2'] },
      { prefix: '10.3.0.0/24', nextHops: ['10.0.0.2'] },
    ]);
    expect(await fib.apply()).toEqual({ replaced: 3, removed: 0, unchanged: 0 });
    expect(kernel(rt)).toEqual({
      '10.1.0.0/24': '10.0.0.2',
      '10.2.0.0/24': '10.0.0.2,10.0.0.3',
      '10.3.0.0/24': '10.0.0.2',
    });
    expect([...rt.routes.values()].every((r) => r.proto === BGP && r.table === T)).toBe(true);
    fib.setBestPaths([
      { prefix: '10.1.0.0/24', nextHops: null },
      { prefix: '10.2.0.0/24', nextHops: ['10.0.0.3'] },
    ]);
    expect(await fib.apply()).toEqual({ replaced: 1, removed: 1, unchanged: 0 });
    expect(kernel(rt)).toEqual({ '10.2.0.0/24': '10.0.0.3', '10.3.0.0/24': '10.0.0.2' });
  });

  it('writes IPv6 next hops of IPv4 prefixes and link-local next hops with their device; reads them back unchanged', async () => {
    const rt = new FakeRouteTable();
    const fib = new FibSync(rt, { table: T, batchSize: 100 });
    fib.setBestPaths([
      { prefix: '10.1.0.0/24', nextHops: ['2001:db8::2'] },
      { prefix: '10.2.0.0/24', nextHops: ['fe80::1%v0'] },
      { prefix: '10.3.0.0/24', nextHops: ['fe80::2%v0', 'fe80::1%v1'] },
    ]);
    expect(await fib.apply()).toEqual({ replaced: 3, removed: 0, unchanged: 0 });
    const routes = [...rt.routes.values()].sort((a, b) => a.dst.localeCompare(b.dst));
    expect(routes.map((r) => ({ dst: r.dst, via: r.via, dev: r.dev, nexthops: r.nexthops }))).toEqual([
      { dst: '10.1.0.0/24', via: '2001:db8::2', dev: undefined, nexthops: undefined },
      { dst: '10.2.0.0/24', via: 'fe80::1', dev: 'v0', nexthops: undefined },
      {
        dst: '10.3.0.0/24',
        via: undefined,
        dev: undefined,
        nexthops: [
          { via: 'fe80::1', dev: 'v1' },
          { via: 'fe80::2', dev: 'v0' },
        ],
      },
    ]);
    // After a restart the same desired state touches nothing.
    const again = new FibSync(rt, { table: T, batchSize: 100 });
    again.setBestPaths([
      { prefix: '10.1.0.0/24', nextHops: ['2001:db8::2'] },
      { prefix: '10.2.0.0/24', nextHops: ['fe80::1%v0'] },
      { prefix: '10.3.0.0/24', nextHops: ['fe80::1%v1', 'fe80::2%v0'] },
    ]);
    expect(await again.apply()).toEqual({ replaced: 0, removed: 0, unchanged: 3 });
  });

  it('on restart keeps unchanged routes untouched and removes stale ones only after in-sync', async () => {
    const rt = new FakeRouteTable();
    rt.routes.set(`${T}|10.1.0.0/24|0`, { dst: '10.1.0.0/24', table: T, proto: BGP, via: '10.0.0.2' });
    rt.routes.set(`${T}|10.9.0.0/24|0`, { dst: '10.9.0.0/24', table: T, proto: BGP, via: '10.0.0.2' });
    rt.seedForeign({ dst: '10.8.0.0/24', table: T, proto: 12, via: '10.0.0.9' });
    const fib = new FibSync(rt, { table: T, batchSize: 100 });
    fib.setBestPaths([
      { prefix: '10.1.0.0/24', nextHops: ['10.0.0.2'] },
      { prefix: '10.2.0.0/24', nextHops: ['10.0.0.2'] },
    ]);
    expect(await fib.apply()).toEqual({ replaced: 1, removed: 0, unchanged: 1 });
    expect(rt.ops).toEqual(['list', 'replace 10.2.0.0/24']);
    expect(Object.keys(kernel(rt)).sort()).toEqual(['10.1.0.0/24', '10.2.0.0/24', '10.8.0.0/24', '10.9.0.0/24']);
    fib.markInSync();
    expect(await fib.apply()).toEqual({ replaced: 0, removed: 1, unchanged: 0 });
    expect(Object.keys(kernel(rt)).sort()).toEqual(['10.1.0.0/24', '10.2.0.0/24', '10.8.0.0/24']);
  });

  it('before in-sync removes what it installed itself when withdrawn', async () => {
    const rt = new FakeRouteTable();
    const fib = new FibSync(rt, { table: T, batchSize: 100 });
    fib.setBestPaths([{ prefix: '10.1.0.0/24', nextHops: ['10.0.0.2'] }]);
    await fib.apply();
    fib.setBestPaths([{ prefix: '10.1.0.0/24', nextHops: null }]);
    expect(await fib.apply()).toEqual({ replaced: 0, removed: 1, unchanged: 0 });
  });

  it('a change that arrives while its prefix is being written stays queued for the next apply', async () => {
    // A graceful-restart peer back: its stale route swept (withdraw), then re-announced while the
    // removal is still in the kernel. The re-announce must not be lost with the removal's dirty mark.
    const rt = new FakeRouteTable();
    const fib = new FibSync(rt, { table: T, batchSize: 100 });
    fib.setBestPaths([{ prefix: '10.1.0.0/24', nextHops: ['10.0.0.2'] }]);
    await fib.apply();
    let during: (() => void) | undefined;
    const apply = rt.apply.bind(rt);
    rt.apply = async (changes) => {
      await apply(changes);
      during?.();
      during = undefined;
    };
    fib.setBestPaths([{ prefix: '10.1.0.0/24', nextHops: null }]);
    during = () => fib.setBestPaths([{ prefix: '10.1.0.0/24', nextHops: ['10.0.0.2'] }]);
    expect(await fib.apply()).toEqual({ replaced: 0, removed: 1, unchanged: 0 });
    expect(fib.pending).toBe(1);
    expect(await fib.apply()).toEqual({ replaced: 1, removed: 0, unchanged: 0 });
    expect(kernel(rt)).toEqual({ '10.1.0.0/24': '10.0.0.2' });
    // The other way round: written, then withdrawn during the write.
    fib.setBestPaths([{ prefix: '10.2.0.0/24', nextHops: ['10.0.0.3'] }]);
    during = () => fib.setBestPaths([{ prefix: '10.2.0.0/24', nextHops: null }]);
    expect(await fib.apply()).toEqual({ replaced: 1, removed: 0, unchanged: 0 });
    expect(await fib.apply()).toEqual({ replaced: 0, removed: 1, unchanged: 0 });
    expect(kernel(rt)).toEqual({ '10.1.0.0/24': '10.0.0.2' });
    expect(fib.pending).toBe(0);
  });

  it('honours the accept filter', async () => {
    const rt = new FakeRouteTable();
    const fib = new FibSync(rt, { table: T, batchSize: 100, accept: (p) => p.startsWith('10.1.') });
    fib.setBestPaths([
      { prefix: '10.1.0.0/24', nextHops: ['10.0.0.2'] },
      { prefix: '10.2.0.0/24', nextHops: ['10.0.0.2'] },
    ]);
    await fib.apply();
    expect(Object.keys(kernel(rt))).toEqual(['10.1.0.0/24']);
  });

  it('a failed batch rethrows typed, then resyncs from the kernel and converges', async () => {
    const rt = new FakeRouteTable();
    const fib = new FibSync(rt, { table: T, batchSize: 100 });
    fib.setBestPaths([{ prefix: '10.1.0.0/24', nextHops: ['10.0.0.2'] }]);
    rt.failNext(new KernelOpError(['ip'], 1, 'boom'), /replace/);
    const err = await fib.apply().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FibApplyError);
    expect((err as FibApplyError).cause).toBeInstanceOf(KernelOpError);
    expect(await fib.apply()).toEqual({ replaced: 1, removed: 0, unchanged: 0 });
    expect(rt.ops.filter((o) => o === 'list')).toHaveLength(2);
  });
});
