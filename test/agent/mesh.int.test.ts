import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/netns.js';
import { Cluster, httpGet, MARGAYCTL, waitFor } from './cluster.js';

// Three margay-node processes in node namespaces on one file datastore: node-to-node mesh, each
// learns the others' blocks into its kernel, pods on different nodes reach each other; readiness,
// metrics and `margayctl node status` on the way.
const BGP_PROTO = 110;
let c: Cluster;

beforeAll(async () => {
  c = await new Cluster(81, '10.181.0.0/16').setUp(3, { MARGAY_IPV4POOL_BLOCK_SIZE: '26' });
  await c.startAll();
  for (const n of c.nodes) await c.waitReady(n, 40_000);
}, 60_000);

afterAll(async () => {
  await c?.stop();
});

describe('margay-node mesh (3 nodes, real kernel)', () => {
  it('each node records its BGP address, the default pool exists once, and every mesh session is Established', async () => {
    const st = await execa('ip', [
      'netns',
      'exec',
      c.nodes[0]!.ns,
      process.execPath,
      MARGAYCTL,
      'node',
      'status',
      '--socket',
      `${c.nodes[0]!.runDir}/bgp.sock`,
      '-o',
      'json',
    ]);
    const peers = JSON.parse(st.stdout) as { address: string; state: string; description: string }[];
    expect(peers.map((p) => [p.address, p.state, p.description]).sort()).toEqual([
      ['10.81.0.2', 'Established', 'mesh node-2'],
      ['10.81.0.3', 'Established', 'mesh node-3'],
    ]);
    const text = await execa('ip', [
      'netns',
      'exec',
      c.nodes[1]!.ns,
      process.execPath,
      MARGAYCTL,
      'node',
      'status',
      '--socket',
      `${c.nodes[1]!.runDir}/bgp.sock`,
    ]);
    expect(text.stdout).toContain('| 10.81.0.1    | node-to-node mesh | up    |');
  });

  it("pods get addresses from blocks of their node; every node learns the other nodes' blocks via BGP into its kernel", async () => {
    const pods = [];
    for (const [i, n] of c.nodes.entries()) pods.push(await c.addPod(n, `mesh-c${i}`));
    const blocks = pods.map((p) => `${p.ip.split('.').slice(0, 3).join('.')}.${Number(p.ip.split('.')[3]) & ~63}/26`);
    for (const [i, n] of c.nodes.entries()) {
      const want = c.nodes.map((m, j) => [blocks[j], m.ip] as const).filter((_, j) => j !== i);
      await waitFor(
        `${n.name} learns ${want.map((w) => w[0]).join(', ')}`,
        async () => {
          const r = await c.routes(n, BGP_PROTO);
          return want.every(([dst, via]) => r.some((x) => x.dst === dst && x.gateway === via));
        },
        20_000,
      );
    }
    // iBGP split horizon (RFC 4271 §9.2): a node never re-advertises a block it learned from another
    // mesh node, so each node holds exactly one path per remote block — from the block's owner.
    for (const [i, n] of c.nodes.entries()) {
      const r = await execa('ip', [
        'netns',
        'exec',
        n.ns,
        process.execPath,
        MARGAYCTL,
        'bgp',
        'rib',
        '--socket',
        `${n.runDir}/bgp.sock`,
        '--limit',
        '1000',
        '-o',
        'json',
      ]);
      const paths = (JSON.parse(r.stdout) as { routes: { prefix: string; from: string }[] }).routes;
      for (const [j, m] of c.nodes.entries()) {
        if (j === i) continue;
        expect(
          paths.filter((p) => p.prefix === blocks[j]).map((p) => p.from),
          `${n.name}: paths for ${m.name}'s block`,
        ).toEqual([m.ip]);
      }
    }
    // Pod to pod across nodes, both ways.
    for (const from of pods) {
      for (const to of pods) {
        if (from === to) continue;
        await waitFor(
          `${from.ip} → ${to.ip}`,
          async () =>
            (await execa('ip', ['netns', 'exec', from.ns, 'ping', '-c', '1', '-W', '1', to.ip], { reject: false }))
              .exitCode === 0,
          15_000,
        );
      }
    }
  });

  it('/liveness, /readiness and Prometheus /metrics', async () => {
    const n = c.nodes[0]!;
    expect((await httpGet(c.url(n, '/liveness'))).status).toBe(200);
    expect(await httpGet(c.url(n, '/readiness'))).toEqual({ status: 200, body: 'ready\n' });
    const m = await httpGet(c.url(n, '/metrics', 9091));
    expect(m.status).toBe(200);
    const value = (re: RegExp): number => Number(re.exec(m.body)?.[1] ?? Number.NaN);
    expect(value(/^margay_bgp_peers\{state="Established"\} (\d+)$/m)).toBe(2);
    expect(value(/^margay_int_dataplane_apply_time_seconds_count (\d+)$/m)).toBeGreaterThan(0);
    expect(value(/^margay_ipam_allocations_in_use\{ippool="default-ipv4-ippool"\} (\d+)$/m)).toBe(1);
    expect(value(/^margay_ipam_allocations_borrowed\{ippool="default-ipv4-ippool"\} (\d+)$/m)).toBe(0);
    expect(value(/^margay_routes\{kind="remote"\} (\d+)$/m)).toBe(2);
    expect(value(/^margay_active_local_endpoints (\d+)$/m)).toBe(1);
    expect(value(/^margay_iptables_restore_calls_total (\d+)$/m)).toBeGreaterThan(0);
    expect(value(/^margay_datastore_in_sync (\d+)$/m)).toBe(1);
    expect(m.body).toMatch(/^margay_process_resident_memory_bytes \d+/m);
  });

  it('readiness drops when a configured peer goes away, and comes back', async () => {
    const [a, b] = [c.nodes[0]!, c.nodes[1]!];
    await c.stopAgent(b, 'SIGKILL');
    await waitFor(
      'node-1 not ready (peer node-2 down)',
      async () => {
        const r = await httpGet(c.url(a, '/readiness'));
        return r.status === 503 && r.body.includes('bgp');
      },
      20_000,
      300,
    );
    // The kernel kept node-2's routes on node-1 meanwhile (graceful restart helper).
    expect((await c.routes(a, BGP_PROTO)).some((r) => r.gateway === b.ip)).toBe(true);
    c.start(b);
    await c.waitReady(b, 40_000);
    await c.waitReady(a, 20_000);
    const rt = await run('ip', ['-n', a.ns, 'route', 'show', 'proto', String(BGP_PROTO)]);
    expect(rt).toContain(`via ${b.ip}`);
  });
});
