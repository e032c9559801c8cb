import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatastore } from '../../src/datastore/index.js';
import type { Datastore } from '../../src/datastore/types.js';
import { silentLogger } from '../../src/log.js';
import type { Node } from '../../src/model/index.js';
import { Cluster, MARGAYCTL, sleep, waitFor, type AgentNode, type Pod } from './cluster.js';
import { continuousPing } from './ping.js';

// Mesh → route reflector the way Calico documents it, with pods on node-1 and node-2 pinging each
// other the whole time: node-3 becomes a reflector (label + routeReflectorClusterID on its Node, set
// while it runs), one BGPPeer makes the other nodes peer with it — node-3 configures those sessions
// back by itself (Calico's reverse peering) — and the mesh is turned off. Changing the cluster ID
// restarts no session; the old mesh sessions go only once their routes are learned over the
// reflector. No packet is lost.
let c: Cluster;
let store: Datastore;
let pods: Pod[];
const API = 'margay.dev/v1';

beforeAll(async () => {
  c = await new Cluster(84, '10.184.0.0/16').setUp(3);
  store = await openDatastore(c.nodes[0]!.env.MARGAY_DATASTORE!, { log: silentLogger() });
  await c.startAll();
  for (const n of c.nodes) await c.waitReady(n, 40_000);
  pods = [await c.addPod(c.nodes[0]!, 'rr-a'), await c.addPod(c.nodes[1]!, 'rr-b')];
}, 60_000);

afterAll(async () => {
  await store?.close();
  await c?.stop();
});

/** When the agent last retired a peer make-before-break (epoch ms from its JSON log), or 0. */
function retiredAt(log: string): number {
  const times = log
    .split('\n')
    .filter((l) => l.includes('peer retired (make-before-break)'))
    .map((l) => Date.parse((JSON.parse(l) as { time: string }).time));
  return times.length > 0 ? Math.max(...times) : 0;
}

async function peers(n: AgentNode): Promise<string[]> {
  const r = await execa('ip', [
    'netns',
    'exec',
    n.ns,
    process.execPath,
    MARGAYCTL,
    'node',
    'status',
    '--socket',
    `${n.runDir}/bgp.sock`,
    '-o',
    'json',
  ]);
  return (JSON.parse(r.stdout) as { address: string; state: string }[]).map((p) => `${p.address} ${p.state}`).sort();
}

describe('mesh → route reflector (3 nodes, real kernel)', () => {
  it('switches without losing a packet between pods on the two client nodes', async () => {
    const [n1, n2, n3] = c.nodes as [AgentNode, AgentNode, AgentNode];
    await waitFor(
      'pods reach each other',
      async () =>
        (
          await execa('ip', ['netns', 'exec', pods[0]!.ns, 'ping', '-c', '1', '-W', '1', pods[1]!.ip], {
            reject: false,
          })
        ).exitCode === 0,
      20_000,
    );
    const there = continuousPing(pods[0]!, pods[1]!);
    const back = continuousPing(pods[1]!, pods[0]!);
    await sleep(300);
    // Step 1: node-3 becomes a route reflector while it runs.
    const n3node = (await store.get('Node', 'node-3')) as Node;
    await store.update({
      ...n3node,
      metadata: { ...n3node.metadata, labels: { ...n3node.metadata.labels, 'route-reflector': 'true' } },
      spec: { ...n3node.spec, bgp: { ...n3node.spec?.bgp, routeReflectorClusterID: '224.0.0.1' } },
    } as Node);
    await sleep(500);
    // Step 2: the other nodes peer with the reflector — one BGPPeer, the reflector's side is implied.
    await store.create({
      apiVersion: API,
      kind: 'BGPPeer',
      metadata: { name: 'peer-with-route-reflectors' },
      spec: { nodeSelector: '!has(route-reflector)', peerSelector: 'has(route-reflector)' },
    });
    await waitFor(
      'node-3 has the sessions back to both clients',
      async () =>
        JSON.stringify(await peers(n3)) === JSON.stringify([`${n1.ip} Established`, `${n2.ip} Established`].sort()),
      20_000,
      200,
    );
    // Step 3: the mesh goes.
    const meshOff = Date.now();
    await store.create({
      apiVersion: API,
      kind: 'BGPConfiguration',
      metadata: { name: 'default' },
      spec: { nodeToNodeMeshEnabled: false },
    });

    await waitFor(
      'clients peer only with the reflector',
      async () => {
        const [p1, p2] = [await peers(n1), await peers(n2)];
        return (
          JSON.stringify(p1) === JSON.stringify([`${n3.ip} Established`]) &&
          JSON.stringify(p2) === JSON.stringify([`${n3.ip} Established`])
        );
      },
      20_000,
      200,
    );
    await sleep(1000);
    const [r1, r2] = [await there.stop(), await back.stop()];
    expect(r1.sent).toBeGreaterThan(20);
    expect(r1.received, r1.text).toBe(r1.sent);
    expect(r2.received, r2.text).toBe(r2.sent);
    expect(await c.logTail(n1, 400)).toContain('peer retired (make-before-break)');
    // Neither the new cluster ID nor the new peers restarted a session anywhere.
    for (const n of [n1, n2, n3]) expect(await c.logTail(n, 1000)).not.toContain('restarting every session');
    expect(await c.logTail(n3, 1000)).toContain('route-reflector cluster ID changed');
    // The reflector peers with both clients (sessions it configured as the peer side), nothing else.
    expect(await peers(n3)).toEqual([`${n1.ip} Established`, `${n2.ip} Established`].sort());
    // Fast: each client retires its old mesh session within seconds of the mesh going (2 s settle).
    for (const n of [n1, n2]) {
      const retired = retiredAt(await c.logTail(n, 1000));
      expect(retired, n.name).toBeGreaterThan(meshOff);
      expect(retired - meshOff, n.name).toBeLessThan(10_000);
    }
    // The route to node-2's block is still there, now learned over the reflector.
    expect((await c.routes(n1, 110)).some((r) => r.gateway === n2.ip)).toBe(true);
  });
});
