import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatastore } from '../../src/datastore/index.js';
import type { Datastore } from '../../src/datastore/types.js';
import { silentLogger } from '../../src/log.js';
import { Cluster, MARGAYCTL, sleep, waitFor, type AgentNode, type Pod } from './cluster.js';
import { continuousPing } from './ping.js';

// Mesh → route reflector, make-before-break: node-3 is a route reflector, the mesh is turned
// off and BGPPeers to the reflector are added while pods on node-1 and node-2 ping each other; the
// old mesh sessions go only once their routes are learned over the reflector. No packet is lost.
let c: Cluster;
let store: Datastore;
let pods: Pod[];
const API = 'margay.dev/v1';

beforeAll(async () => {
  c = await new Cluster(84, '10.184.0.0/16').setUp(3);
  store = await openDatastore(c.nodes[0]!.env.MARGAY_DATASTORE!, { log: silentLogger() });
  // node-3 is a route reflector from the start (cluster ID on its Node, a label to select it by):
  // its agent records its address next to the operator's fields. With the mesh on it reflects too.
  await store.create({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'node-3', labels: { 'route-reflector': 'true' } },
    spec: { bgp: { routeReflectorClusterID: '224.0.0.1' } },
  });
  await c.startAll();
  for (const n of c.nodes) await c.waitReady(n, 40_000);
  pods = [await c.addPod(c.nodes[0]!, 'rr-a'), await c.addPod(c.nodes[1]!, 'rr-b')];
}, 60_000);

afterAll(async () => {
  await store?.close();
  await c?.stop();
});

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
    await store.create({
      apiVersion: API,
      kind: 'BGPPeer',
      metadata: { name: 'to-reflectors' },
      spec: { nodeSelector: '!has(route-reflector)', peerSelector: 'has(route-reflector)' },
    });
    await store.create({
      apiVersion: API,
      kind: 'BGPPeer',
      metadata: { name: 'reflector-clients' },
      spec: { nodeSelector: 'has(route-reflector)', peerSelector: '!has(route-reflector)' },
    });
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
      40_000,
      500,
    );
    await sleep(1000);
    const [r1, r2] = [await there.stop(), await back.stop()];
    expect(r1.sent).toBeGreaterThan(20);
    expect(r1.received, r1.text).toBe(r1.sent);
    expect(r2.received, r2.text).toBe(r2.sent);
    expect(await c.logTail(n1, 400)).toContain('peer retired (make-before-break)');
    // The route to node-2's block is still there, now learned over the reflector.
    expect((await c.routes(n1, 110)).some((r) => r.gateway === n2.ip)).toBe(true);
  });
});
