import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, sleep, waitFor, type AgentNode, type Pod } from './cluster.js';
import { continuousPing } from './ping.js';

// Restart without disruption: SIGTERM and kill -9 of margay-node while pods on two nodes ping each
// other continuously. Nothing the agent programmed is removed (routes, iptables, ipsets read back
// before and after), and not one packet is lost.
let c: Cluster;
let pods: Pod[];

beforeAll(async () => {
  c = await new Cluster(82, '10.182.0.0/16').setUp(2);
  await c.startAll();
  for (const n of c.nodes) await c.waitReady(n, 40_000);
  pods = [await c.addPod(c.nodes[0]!, 'rs-a'), await c.addPod(c.nodes[1]!, 'rs-b')];
  await waitFor(
    'pods reach each other',
    async () =>
      (await execa('ip', ['netns', 'exec', pods[0]!.ns, 'ping', '-c', '1', '-W', '1', pods[1]!.ip], { reject: false }))
        .exitCode === 0,
    20_000,
  );
}, 60_000);

afterAll(async () => {
  await c?.stop();
});

/** Everything Margay owns in the node's kernel, as text, for before/after comparison. */
async function kernelState(n: AgentNode): Promise<string> {
  const ip = async (...a: string[]): Promise<string> => (await execa('ip', ['-n', n.ns, ...a])).stdout;
  const routes = await Promise.all([109, 110, 111].map((p) => ip('route', 'show', 'proto', String(p))));
  const ipt = (await execa('ip', ['netns', 'exec', n.ns, 'iptables-save'])).stdout
    .split('\n')
    .filter((l) => l.includes('mgy'))
    .sort();
  const sets = (await execa('ip', ['netns', 'exec', n.ns, 'ipset', 'list', '-n'])).stdout
    .split('\n')
    .filter((l) => l.startsWith('mgy'))
    .sort();
  return [...routes, ...ipt, ...sets].join('\n');
}

describe('margay-node restart without disruption (2 nodes, real kernel)', () => {
  it('SIGTERM then kill -9, each followed by a restart: kernel state kept, no packet lost either way', async () => {
    const [a, b] = [c.nodes[0]!, c.nodes[1]!];
    const before = [await kernelState(a), await kernelState(b)];
    expect(before[0]).toContain(`via ${b.ip}`); // node-2's block learned over BGP
    const there = continuousPing(pods[0]!, pods[1]!);
    const back = continuousPing(pods[1]!, pods[0]!);
    await sleep(500);

    // SIGTERM: a clean stop that leaves the dataplane (and closes BGP without a Cease).
    expect(await c.stopAgent(b, 'SIGTERM')).toBe(0);
    expect(await c.logTail(b, 5)).toContain('dataplane left in place');
    expect(await kernelState(b)).toBe(before[1]);
    await sleep(1000);
    expect(await kernelState(a)).toBe(before[0]); // the peer kept node-2's routes (graceful restart)
    c.start(b);
    await c.waitReady(b, 30_000);
    await c.waitReady(a, 20_000);

    // kill -9: no chance to clean up anything, and nothing needed.
    await c.stopAgent(a, 'SIGKILL');
    await sleep(1000);
    expect(await kernelState(b)).toBe(before[1]);
    c.start(a);
    await c.waitReady(a, 30_000);
    await c.waitReady(b, 20_000);
    await sleep(500);

    const [r1, r2] = [await there.stop(), await back.stop()];
    expect(r1.sent).toBeGreaterThan(50);
    expect(r1.received, r1.text).toBe(r1.sent);
    expect(r2.received, r2.text).toBe(r2.sent);
    expect(await kernelState(a)).toBe(before[0]);
    expect(await kernelState(b)).toBe(before[1]);
    expect(await c.logTail(a, 400)).toMatch(/graceful restart/);
  });
});
