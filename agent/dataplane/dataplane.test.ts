import { describe, expect, it, vi } from 'vitest';
import { KernelOpError } from '../../src/errors.js';
import { createFakeKernelAdapters } from '../../src/kernel/testing/fake-kernel-adapters.js';
import { OWNERSHIP } from '../../src/kernel/ownership.js';
import { silentLogger } from '../../src/log.js';
import { CalcGraph } from '../calc/graph.js';
import { block, node, pool } from '../calc/testing/fixtures.js';
import type { CalcConfig } from '../calc/types.js';
import { Dataplane } from './dataplane.js';
import { EndpointWaitError } from './errors.js';

const CONFIG: CalcConfig = { nodeName: 'node-a', routingMode: 'host-gw', ipv4: true, ipv6: true, hostMtu: 1500 };
const IFACE = 'mgy0123456789a';

function setUp(config = CONFIG, opts: { routesFirst?: boolean } = {}) {
  const kernel = createFakeKernelAdapters();
  const dp = new Dataplane(kernel, silentLogger(), {
    ...opts,
    families: [4, 6],
    refreshIntervalMs: 0,
    backoff: { initial: 1, max: 5, jitter: [1, 1] },
  });
  const graph = new CalcGraph(config, dp);
  return { kernel, dp, graph };
}

describe('Dataplane driven by the CalcGraph (fake kernel)', () => {
  it('programs nothing before in-sync, then the whole state; a new endpoint is waited for', async () => {
    const { kernel, dp, graph } = setUp();
    kernel.links.links.set(IFACE, {
      name: IFACE,
      index: 9,
      mtu: 1500,
      mac: 'ee:ee:ee:ee:ee:ee',
      up: true,
      operState: 'UP',
      kind: 'veth',
      addresses: [],
    });
    dp.start();
    graph.upserted('Node', node('node-b', '10.0.0.2'));
    graph.upserted('IPPool', pool('p', '192.168.0.0/16', true));
    graph.upserted('IPAMBlock', block('192.168.1.0/26', 'node-a'));
    graph.upserted('IPAMBlock', block('192.168.2.0/26', 'node-b'));
    await dp.whenIdle();
    await new Promise((r) => setTimeout(r, 20));
    // Before in-sync the kernel is read (so the first apply only writes), never written.
    expect(kernel.routes.routes.size).toBe(0);
    expect(kernel.routes.ops).toEqual(['list']);
    expect(kernel.iptables[4].ops).toEqual(['save filter', 'save nat']);
    graph.inSync();
    await dp.whenIdle();
    expect(kernel.routes.ops.filter((o) => o === 'list')).toHaveLength(1);
    expect(kernel.iptables[4].ops.filter((o) => o.startsWith('save'))).toEqual(['save filter', 'save nat']);
    const routes = [...kernel.routes.routes.values()]
      .map((r) => `${r.dst} ${r.type ?? ''} ${r.via ?? ''} ${r.proto}`)
      .sort();
    expect(routes).toEqual([
      `192.168.1.0/26 blackhole  ${OWNERSHIP.routeProtocol.blackhole}`,
      `192.168.2.0/26  10.0.0.2 ${OWNERSHIP.routeProtocol.bgp}`,
    ]);
    expect(kernel.ipsets.sets.get('mgy4-masq-pools')?.members).toEqual(['192.168.0.0/16']);
    expect(kernel.iptables[4].saveText('filter')).toContain('-A FORWARD -m comment --comment mgy:');

    graph.registerEndpoint({
      key: 'k8s/c1',
      namespace: 'default',
      pod: 'p1',
      iface: IFACE,
      mac: '0a:58:c0:a8:01:05',
      ipv4Nets: ['192.168.1.5/32'],
      ipv6Nets: [],
    });
    await dp.waitForEndpoint('k8s/c1', { timeoutMs: 1000 });
    expect(kernel.routes.routes.get(`254|192.168.1.5/32|0`)).toMatchObject({
      dev: IFACE,
      proto: OWNERSHIP.routeProtocol.workload,
    });
    expect(kernel.iptables[4].saveText('filter')).toContain(`-A mgy-from-wl-dispatch -m comment --comment`);
    expect(kernel.neighbors.entries.get(`n|${IFACE}|192.168.1.5`)?.lladdr).toBe('0a:58:c0:a8:01:05');
    expect(kernel.sysctl.values.get(`net/ipv4/conf/${IFACE}/proxy_arp`)).toBe('1');
    await dp.stop();
  });

  it('retries with resync after an injected failure and then succeeds', async () => {
    const { kernel, dp, graph } = setUp();
    dp.start();
    graph.upserted('IPAMBlock', block('192.168.1.0/26', 'node-a'));
    kernel.routes.failNext(new KernelOpError(['ip'], 1, 'boom'), /replace/);
    graph.inSync();
    await new Promise((r) => setTimeout(r, 50));
    await dp.whenIdle();
    expect([...kernel.routes.routes.keys()]).toEqual(['254|192.168.1.0/26|0']);
    expect(kernel.routes.ops.filter((o) => o === 'list').length).toBeGreaterThanOrEqual(2);
    await dp.stop();
  });

  it('waitForEndpoint times out with a typed error', async () => {
    const { dp } = setUp();
    await expect(dp.waitForEndpoint('nope', { timeoutMs: 5 })).rejects.toBeInstanceOf(EndpointWaitError);
  });

  it('orders a pass: conntrack flush, ipset updates, rules and routes, ipset removals last', async () => {
    const { kernel, dp, graph } = setUp();
    dp.start();
    graph.upserted('IPPool', pool('p', '10.1.0.0/16', true));
    graph.inSync();
    await dp.whenIdle();
    const ops: string[] = [];
    const tap = (name: string, inj: { ops: string[] }) => {
      const orig = inj.ops.push.bind(inj.ops);
      inj.ops.push = (...items: string[]) => {
        for (const i of items) ops.push(`${name} ${i}`);
        return orig(...items);
      };
    };
    tap('ipset', kernel.ipsets.faults);
    tap('ipt4', kernel.iptables[4].faults);
    tap('ct', kernel.conntrack.faults);
    tap('route', kernel.routes.faults);
    graph.registerEndpoint({ key: 'a', iface: 'mgy0000000000a', ipv4Nets: ['10.1.0.5/32'], ipv6Nets: [] });
    await dp.waitForEndpoint('a', { timeoutMs: 1000 });
    // The same address for a new pod: its old flows go first, then the route is programmed again.
    graph.batch(() => {
      graph.unregisterEndpoint('a');
      graph.registerEndpoint({ key: 'b', iface: 'mgy0000000000b', ipv4Nets: ['10.1.0.5/32'], ipv6Nets: [] });
      graph.upserted('IPPool', pool('p', '10.2.0.0/16', true));
    });
    await dp.waitForEndpoint('b', { timeoutMs: 1000 });
    const pass = ops.slice(ops.indexOf('ct delete 10.1.0.5'));
    expect(pass[0]).toBe('ct delete 10.1.0.5');
    expect(pass.findIndex((o) => o.startsWith('ipset restore'))).toBeLessThan(
      pass.findIndex((o) => o.startsWith('ipt4 restore')),
    );
    expect(kernel.routes.routes.get('254|10.1.0.5/32|0')?.dev).toBe('mgy0000000000b');
    await dp.stop();
  });

  it('a failed read before in-sync is read again by the first apply, which then programs everything', async () => {
    const { kernel, dp, graph } = setUp();
    kernel.routes.failNext(new KernelOpError(['ip', 'route', 'show'], 1, 'boom'), /list/);
    dp.start();
    graph.upserted('IPAMBlock', block('192.168.1.0/26', 'node-a'));
    await new Promise((r) => setTimeout(r, 20));
    expect(kernel.routes.routes.size).toBe(0);
    graph.inSync();
    await dp.whenIdle();
    expect(kernel.routes.ops.filter((o) => o === 'list')).toHaveLength(2);
    expect([...kernel.routes.routes.values()].map((r) => r.dst)).toEqual(['192.168.1.0/26']);
    expect(dp.isProgrammed).toBe(true);
    await dp.stop();
  });

  it('a removed endpoint rejects its waiters', async () => {
    const { dp, graph } = setUp();
    graph.inSync();
    const wait = dp.waitForEndpoint('x', { timeoutMs: 5000 });
    graph.registerEndpoint({ key: 'x', iface: 'mgy0000000000x', ipv4Nets: ['10.1.0.9/32'], ipv6Nets: [] });
    graph.unregisterEndpoint('x');
    await expect(wait).rejects.toMatchObject({ reason: 'removed' });
  });
});

describe('Dataplane: the route path', () => {
  it('a change is applied in the next check phase, without waiting for a timer (real clock)', async () => {
    const { kernel, dp, graph } = setUp();
    dp.start();
    graph.upserted('Node', node('node-b', '10.0.0.2'));
    graph.upserted('IPPool', pool('p', '192.168.0.0/16', true));
    graph.inSync();
    await dp.whenIdle();
    const applies = dp.applyCount;
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      // Timers stand still from here: only setImmediate and I/O run.
      graph.upserted('IPAMBlock', block('192.168.2.0/26', 'node-b'));
      for (let i = 0; i < 5 && dp.applyCount === applies; i++) await new Promise((r) => setImmediate(r));
      expect(dp.applyCount).toBe(applies + 1);
      expect([...kernel.routes.routes.values()].some((r) => r.dst === '192.168.2.0/26')).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('Dataplane: routes first (a cold start)', () => {
  const start = () => {
    const t = setUp(CONFIG, { routesFirst: true });
    t.dp.start();
    t.graph.upserted('Node', node('node-b', '10.0.0.2'));
    t.graph.upserted('IPPool', pool('p', '192.168.0.0/16', true));
    t.graph.upserted('IPAMBlock', block('192.168.1.0/26', 'node-a'));
    t.graph.upserted('IPAMBlock', block('192.168.2.0/26', 'node-b'));
    t.graph.inSync();
    return t;
  };

  it('programs only routes until released; then reads and programs the rest', async () => {
    const { kernel, dp } = start();
    await dp.whenIdle();
    await new Promise((r) => setTimeout(r, 20)); // no retry loop spins on the held reconcilers
    expect([...kernel.routes.routes.values()].map((r) => r.dst).sort()).toEqual(['192.168.1.0/26', '192.168.2.0/26']);
    for (const f of [4, 6] as const) expect(kernel.iptables[f].ops).toEqual([]);
    expect(kernel.ipsets.faults.ops).toEqual([]);
    expect(kernel.sysctl.values.size).toBe(0);
    expect(dp.routesProgrammed).toBe(true);
    expect(dp.isProgrammed).toBe(false);
    const applies = dp.applyCount;
    expect(applies).toBeLessThanOrEqual(2);
    dp.releaseHeld();
    await dp.whenIdle();
    expect(kernel.iptables[4].ops.filter((o) => o.startsWith('save'))).toEqual(['save filter', 'save nat']);
    expect(kernel.ipsets.sets.get('mgy4-masq-pools')?.members).toEqual(['192.168.0.0/16']);
    expect(kernel.iptables[4].saveText('filter')).toContain('-A FORWARD -m comment --comment mgy:');
    expect(dp.isProgrammed).toBe(true);
    await dp.stop();
  });

  it("a pod's wait releases the held reconcilers at once", async () => {
    const { kernel, dp, graph } = start();
    await dp.whenIdle();
    graph.registerEndpoint({ key: 'a', iface: 'mgy0000000000a', ipv4Nets: ['192.168.1.5/32'], ipv6Nets: [] });
    await dp.waitForEndpoint('a', { timeoutMs: 1000 });
    expect(kernel.iptables[4].saveText('filter')).toContain('-A mgy-from-wl-dispatch -m comment --comment');
    expect(dp.isHolding).toBe(false);
    await dp.stop();
  });
});
