import { describe, expect, it } from 'vitest';
import { KernelOpError } from '../../src/errors.js';
import { OWNERSHIP } from '../../src/kernel/ownership.js';
import { FakeRouteTable } from '../../src/kernel/testing/fake-route-table.js';
import { ApplyError } from './errors.js';
import { kernelRouteOf, RouteReconciler } from './route-reconciler.js';

const P = OWNERSHIP.routeProtocol;

describe('RouteReconciler (fake route table)', () => {
  it('maps desired routes to kernel routes with our protocol per kind', () => {
    expect(kernelRouteOf({ dst: '10.0.0.5/32', kind: 'workload', dev: 'mgy1' })).toEqual({
      dst: '10.0.0.5/32',
      dev: 'mgy1',
      scope: 'link',
      table: 254,
      proto: P.workload,
    });
    expect(kernelRouteOf({ dst: '10.0.0.0/26', kind: 'blackhole' })).toEqual({
      dst: '10.0.0.0/26',
      type: 'blackhole',
      table: 254,
      proto: P.blackhole,
    });
    expect(kernelRouteOf({ dst: '10.0.1.0/26', kind: 'remote', nextHops: ['10.9.0.1', 'fe80::1%eth1'] })).toEqual({
      dst: '10.0.1.0/26',
      table: 254,
      proto: P.bgp,
      nexthops: [{ via: '10.9.0.1' }, { via: 'fe80::1', dev: 'eth1' }],
    });
  });

  it('applies in one batch, is idempotent, removes only its own stale routes and never touches foreign ones', async () => {
    const table = new FakeRouteTable();
    table.seedForeign({ dst: '10.9.0.0/24', via: '10.0.0.1', table: 254, proto: 4 });
    table.seedForeign({ dst: '10.0.7.0/26', type: 'blackhole', table: 254, proto: P.blackhole }); // ours, from before a restart
    const rr = new RouteReconciler(table);
    rr.learnedRoutesInSync();
    rr.setRoute({ dst: '10.0.0.0/26', kind: 'blackhole' });
    rr.setRoute({ dst: '10.0.0.5/32', kind: 'workload', dev: 'mgy1' });
    expect(await rr.apply()).toEqual({ upserted: 2, deleted: 1 });
    expect([...table.routes.keys()].sort()).toEqual(['254|10.0.0.0/26|0', '254|10.0.0.5/32|0', '254|10.9.0.0/24|0']);
    table.ops.length = 0;
    expect(await rr.apply()).toEqual({ upserted: 0, deleted: 0 });
    expect(table.ops).toEqual([]);
    rr.removeRoute('10.0.0.5/32');
    await rr.apply();
    expect(table.ops).toEqual(['remove 10.0.0.5/32']);
  });

  it('a failure queues a resync: the next apply re-reads the kernel and repairs drift', async () => {
    const table = new FakeRouteTable();
    const rr = new RouteReconciler(table);
    rr.setRoute({ dst: '10.0.0.5/32', kind: 'workload', dev: 'mgy1' });
    table.failNext(new KernelOpError(['ip'], 2, 'Cannot find device'), /replace/);
    await expect(rr.apply()).rejects.toBeInstanceOf(ApplyError);
    expect(rr.hasPending).toBe(true);
    await rr.apply();
    expect(table.ops.filter((o) => o === 'list').length).toBe(2);
    expect(rr.isProgrammed('10.0.0.5/32')).toBe(true);
    // Drift: someone deletes the route by hand; a resync puts it back.
    table.routes.clear();
    rr.queueResync();
    await rr.apply();
    expect(table.routes.size).toBe(1);
  });

  it('keeps remote routes from before a restart until learned routes are in sync; holds back blocked addresses', async () => {
    const table = new FakeRouteTable();
    table.seedForeign({ dst: '10.0.8.0/26', via: '10.0.0.2', table: 254, proto: P.bgp });
    const blocked = new Set(['10.0.0.6/32']);
    const rr = new RouteReconciler(table, (dst) => blocked.has(dst));
    rr.setRoute({ dst: '10.0.0.6/32', kind: 'workload', dev: 'mgy1' });
    await rr.apply();
    expect([...table.routes.keys()]).toEqual(['254|10.0.8.0/26|0']);
    expect(rr.isProgrammed('10.0.0.6/32')).toBe(false);
    blocked.clear();
    rr.learnedRoutesInSync();
    await rr.apply();
    expect([...table.routes.keys()]).toEqual(['254|10.0.0.6/32|0']);
  });

  it('a route the kernel refuses (a foreign route in the way) stays pending without holding the others back', async () => {
    const table = new FakeRouteTable();
    table.seedForeign({ dst: '10.0.9.0/26', type: 'blackhole', table: 254, proto: 3 });
    const rr = new RouteReconciler(table);
    rr.setRoute({ dst: '10.0.9.0/26', kind: 'blackhole' });
    rr.setRoute({ dst: '10.0.0.5/32', kind: 'workload', dev: 'mgy1' });
    await expect(rr.apply()).rejects.toBeInstanceOf(ApplyError);
    expect(rr.isProgrammed('10.0.0.5/32')).toBe(true);
    expect(rr.isProgrammed('10.0.9.0/26')).toBe(false);
    expect(table.routes.get('254|10.0.9.0/26|0')?.proto).toBe(3);
    await expect(rr.apply()).rejects.toBeInstanceOf(ApplyError);
    expect(table.routes.get('254|10.0.0.5/32|0')?.dev).toBe('mgy1');
  });
});
