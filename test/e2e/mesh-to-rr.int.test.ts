/**
 * Switch a running lab from the full mesh to route reflectors with traffic flowing, the way Calico
 * documents the migration: label a node as reflector and give it a cluster ID, one BGPPeer from
 * the other nodes to the reflectors (the reflector configures its side by itself), then turn the
 * node-to-node mesh off in BGPConfiguration. Pods ping across nodes the whole time: no packet is
 * lost. Afterwards the mesh sessions are gone, the reflector sessions are up, every node (and the
 * ToR) has every block — and the ToR learns each block from its owner only, before and after.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { openDatastore } from '../../src/datastore/index.js';
import { labPaths } from '../../src/lab/lab-context.js';
import type { LabPodState } from '../../src/lab/lab-state.js';
import { silentLogger } from '../../src/log.js';
import type { BGPConfiguration, Node } from '../../src/model/index.js';
import { pingLoop } from '../agent/ping.js';
import { agentRecord, missingBlockRoutes, podRouting, withLab, type Lab } from './lab-harness.js';

const MARGAYCTL = join(import.meta.dirname, '../../dist/src/cli/margayctl.js');
const API = 'margay.dev/v1';

/** A ping every 20 ms until stop(); sent and received from ping's summary. */
function pingLoop20(
  from: LabPodState,
  to: string,
): { stop(): Promise<{ sent: number; received: number; text: string }> } {
  return pingLoop(from.netns, to, 0.02);
}

/** A node's configured BGP peers and their state, from its agent (`margayctl node status`). */
async function peersOf(lab: Lab, node: string): Promise<string[]> {
  const r = await execa(process.execPath, [
    MARGAYCTL,
    'node',
    'status',
    '--socket',
    join(labPaths(lab.ctx.dir).node(node), 'run', 'bgp.sock'),
    '-o',
    'json',
  ]);
  return (JSON.parse(r.stdout) as { address: string; state: string }[]).map((p) => `${p.address} ${p.state}`).sort();
}

/** For each block: the ToR BGP sessions (BIRD protocol names) it learned that block over. */
async function torSources(lab: Lab, blocks: readonly string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const b of blocks) {
    const r = await execa('birdc', [
      '-s',
      join(labPaths(lab.ctx.dir).tor, 'bird.ctl'),
      'show',
      'route',
      'for',
      b,
      'all',
    ]);
    out.set(b, [...r.stdout.matchAll(/unicast \[(\w+) /g)].map((m) => m[1]!).sort());
  }
  return out;
}

async function waitFor(what: string, cond: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

describe('e2e: full mesh → route reflectors with traffic flowing', () => {
  it('loses no packet; mesh sessions gone, reflector sessions up, every node has every block', async () => {
    await withLab({ nodes: 3, podsPerNode: 1, tor: 'bird', mode: 'mesh', dualStack: false }, async (lab) => {
      const [n1, n2, n3] = lab.plan.nodes;
      const tor = lab.plan.tor.ip;
      const pods = (await lab.state()).pods;
      const podOn = (node: string): LabPodState => pods.find((p) => p.node === node && p.ips.length > 0)!;
      const v4 = (p: LabPodState): string => p.ips.find((ip) => !ip.includes(':'))!.split('/')[0]!;
      const before = await podRouting(lab);
      expect(missingBlockRoutes(lab, before, true)).toEqual([]);
      const blocks = [...before.ownBlocks.values()].flat();
      expect(blocks).toHaveLength(3);
      // The ToR (an eBGP global peer) learns each block from its owner only, not via every node.
      const owner = (b: string): string => [...before.ownBlocks].find(([, bs]) => bs.includes(b))![0].replace('-', '_');
      for (const [b, from] of await torSources(lab, blocks)) expect(from, b).toEqual([owner(b)]);
      expect(await peersOf(lab, n2!.name)).toEqual(
        [`${n1!.ip} Established`, `${n3!.ip} Established`, `${tor} Established`].sort(),
      );

      // Cross-node traffic both ways between the two nodes that become clients, and to the reflector.
      const pings = [
        pingLoop20(podOn(n2!.name), v4(podOn(n3!.name))),
        pingLoop20(podOn(n3!.name), v4(podOn(n2!.name))),
        pingLoop20(podOn(n2!.name), v4(podOn(n1!.name))),
      ];
      await new Promise((r) => setTimeout(r, 500));
      let meshOff = 0;
      const store = await openDatastore(`file:${labPaths(lab.ctx.dir).datastore}`, { log: silentLogger() });
      try {
        const rr = (await store.get('Node', n1!.name)) as Node;
        await store.update({
          ...rr,
          metadata: { ...rr.metadata, labels: { ...rr.metadata.labels, 'route-reflector': 'true' } },
          spec: { ...rr.spec, bgp: { ...rr.spec?.bgp, routeReflectorClusterID: '244.0.0.1' } },
        } as Node);
        await store.create({
          apiVersion: API,
          kind: 'BGPPeer',
          metadata: { name: 'peer-with-route-reflectors' },
          spec: { nodeSelector: '!has(route-reflector)', peerSelector: 'has(route-reflector)' },
        });
        await new Promise((r) => setTimeout(r, 1000));
        meshOff = Date.now();
        const def = (await store.get('BGPConfiguration', 'default')) as BGPConfiguration;
        await store.update({ ...def, spec: { ...def.spec, nodeToNodeMeshEnabled: false } } as BGPConfiguration);
      } finally {
        await store.close();
      }
      const clientPeers = [`${n1!.ip} Established`, `${tor} Established`].sort();
      await waitFor(
        'clients peer only with the reflector and the ToR',
        async () =>
          JSON.stringify(await peersOf(lab, n2!.name)) === JSON.stringify(clientPeers) &&
          JSON.stringify(await peersOf(lab, n3!.name)) === JSON.stringify(clientPeers),
        30_000,
      );
      await new Promise((r) => setTimeout(r, 1000));
      const results = await Promise.all(pings.map((p) => p.stop()));
      for (const r of results) {
        expect(r.sent).toBeGreaterThan(50);
        expect(r.received, r.text).toBe(r.sent);
      }
      // Fast: each client retired its mesh sessions within seconds of the mesh going (2 s settle).
      for (const n of [n2!, n3!]) {
        const log = await readFile((await agentRecord(lab, n.name)).logFile!, 'utf8');
        const retired = log
          .split('\n')
          .filter((l) => l.includes('peer retired (make-before-break)'))
          .map((l) => Date.parse((JSON.parse(l) as { time: string }).time));
        expect(retired, n.name).toHaveLength(1); // the other client; the reflector's session stays
        expect(Math.max(...retired) - meshOff, n.name).toBeLessThan(10_000);
        expect(log, n.name).not.toContain('restarting every session');
      }

      // The reflector keeps both clients (sessions it configured as the peer side) and the ToR.
      expect(await peersOf(lab, n1!.name)).toEqual(
        [`${n2!.ip} Established`, `${n3!.ip} Established`, `${tor} Established`].sort(),
      );
      const after = await podRouting(lab);
      expect(missingBlockRoutes(lab, after, true)).toEqual([]);
      for (const [b, from] of await torSources(lab, blocks)) expect(from, b).toEqual([owner(b)]);
    });
  }, 90_000);
});
