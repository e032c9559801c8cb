/**
 * The route reconciler against the real kernel (in a namespace made by the test): applies every
 * kind of route, is idempotent, repairs a pod route deleted by hand within the refresh interval,
 * and leaves routes of other protocols alone.
 */
import { describe, expect, it } from 'vitest';
import { block, node } from '../../agent/calc/testing/fixtures.js';
import { OWNERSHIP } from '../../src/kernel/ownership.js';
import { addPod, eventually, withNode } from './dataplane-helpers.js';

const P = OWNERSHIP.routeProtocol;

describe('dataplane routes (real kernel)', () => {
  it('programs workload, blackhole and host-gw routes; is idempotent; repairs drift; keeps foreign routes', {
    timeout: 120_000,
  }, async () => {
    await withNode(
      async (n) => {
        // Node b is on a link of the node namespace, so host-gw routes via it are valid.
        await n.ip('link', 'add', 'uplink0', 'type', 'veth', 'peer', 'name', 'uplink0p');
        await n.ip('link', 'set', 'uplink0p', 'up');
        await n.ip('link', 'set', 'uplink0', 'up');
        await n.ip('addr', 'add', '10.200.0.1/24', 'dev', 'uplink0');
        await n.ip('-6', 'addr', 'add', 'fd00:200::1/64', 'dev', 'uplink0', 'nodad');
        // Foreign routes: a static one, one with Calico's protocol, one at a destination we also want.
        await n.ip('route', 'add', '10.99.0.0/24', 'via', '10.200.0.9', 'proto', 'static');
        await n.ip('route', 'add', '10.98.0.0/24', 'via', '10.200.0.9', 'proto', '80');
        await n.ip('route', 'add', 'blackhole', '10.97.0.0/26', 'proto', '77');

        n.dp.start();
        n.graph.upserted('Node', node('node-b', '10.200.0.2', 'fd00:200::2'));
        n.graph.upserted('IPAMBlock', block('10.250.1.0/26', 'node-a'));
        n.graph.upserted('IPAMBlock', block('10.250.2.0/26', 'node-b'));
        n.graph.upserted('IPAMBlock', block('fd00:250:2::/122', 'node-b'));
        n.graph.upserted('IPAMBlock', block('10.97.0.0/26', 'node-a')); // collides with the foreign blackhole
        n.graph.inSync();
        const pod = await addPod(n, 'p1', '10.250.1.5', 'fd00:250:1::5');
        n.graph.registerEndpoint(pod.reg);
        await n.dp.waitForEndpoint('p1', { timeoutMs: 30_000 });

        const routes = await n.ip('route', 'show', 'proto', String(P.workload));
        expect(routes).toContain(`10.250.1.5 dev ${pod.iface} scope link`);
        expect(await n.ip('-6', 'route', 'show', 'proto', String(P.workload))).toContain(
          `fd00:250:1::5 dev ${pod.iface}`,
        );
        expect(await n.ip('route', 'show', 'proto', String(P.blackhole))).toContain('blackhole 10.250.1.0/26');
        expect(await n.ip('route', 'show', 'proto', String(P.bgp))).toContain(
          '10.250.2.0/26 via 10.200.0.2 dev uplink0',
        );
        expect(await n.ip('-6', 'route', 'show', 'proto', String(P.bgp))).toContain(
          'fd00:250:2::/122 via fd00:200::2 dev uplink0',
        );

        // Idempotent: a pass after a full re-read writes nothing but the route the kernel keeps
        // refusing (the foreign blackhole is in its way). The loop is stopped meanwhile: it never goes
        // idle while that route fails.
        await n.dp.stop();
        n.dp.queueResync();
        const again = await n.dp.applyOnce();
        expect(again.stats['routes']).toBeUndefined();
        expect(again.errors.map((e) => String((e as Error).cause))).toEqual([
          expect.stringMatching(/10\.97\.0\.0\/26.*does not own/),
        ]);
        expect(await n.ip('route', 'show', 'proto', String(P.workload))).toContain(`10.250.1.5 dev ${pod.iface}`);
        n.dp.start();

        // Drift: the pod route deleted by hand is back within the refresh interval.
        await n.ip('route', 'del', '10.250.1.5/32', 'dev', pod.iface);
        const took = await eventually(
          async () => (await n.ip('route', 'show', '10.250.1.5/32')).includes(pod.iface),
          10_000,
          'pod route restored',
        );
        expect(took).toBeLessThan(10_000);

        // Foreign routes untouched (the colliding blackhole keeps its protocol).
        expect(await n.ip('route', 'show', '10.99.0.0/24')).toContain('proto static');
        expect(await n.ip('route', 'show', '10.98.0.0/24')).toContain('proto 80');
        expect(await n.ip('route', 'show', '10.97.0.0/26')).toContain('proto 77');

        // Removal: the endpoint goes, its routes go; the block moves away, its blackhole goes.
        n.graph.unregisterEndpoint('p1');
        n.graph.upserted('IPAMBlock', block('10.250.1.0/26', 'node-b'));
        await eventually(
          async () => !(await n.ip('route', 'show', 'proto', String(P.workload))).includes('10.250.1.5'),
          10_000,
          'pod route removed',
        );
        await eventually(
          async () => (await n.ip('route', 'show', '10.250.1.0/26')).includes('via 10.200.0.2'),
          10_000,
          'block now via node-b',
        );
        expect(await n.ip('route', 'show', '10.99.0.0/24')).toContain('proto static');
      },
      { dataplane: { refreshIntervalMs: 2_000 } },
    );
  });
});
