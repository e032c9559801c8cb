/**
 * The Kubernetes network model on the lab (3 nodes × 2 pods, eBGP to a BIRD ToR): every pod has a
 * unique IP; pods reach pods on other nodes without NAT (the receiver sees the sender's pod IP); a
 * node reaches its own pods; pods reach the outside through NAT-outgoing (the outside sees the
 * node's address), and not when the pool says no.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RESOURCE_COMMANDS } from '../../src/cli/resources.js';
import { labPaths } from '../../src/lab/lab-context.js';
import { POOL_V4 } from '../../src/lab/lab-plan.js';
import { waitFor } from '../../src/lab/wait.js';
import { badPodCells, cell, withLab } from './lab-harness.js';

describe('e2e: the Kubernetes network model', () => {
  it('unique pod IPs, pod-to-pod without NAT across nodes, node to own pods, NAT-outgoing on and off', async () => {
    await withLab({ nodes: 3, podsPerNode: 2, tor: 'bird', mode: 'ebgp', dualStack: false }, async (lab) => {
      const s = await lab.state();
      const ips = s.pods.flatMap((p) => p.ips);
      expect(ips).toHaveLength(6);
      expect(new Set(ips).size).toBe(6);
      for (const ip of ips) expect(ip.startsWith('10.244.')).toBe(true);

      const m = await lab.matrix();
      expect(badPodCells(await lab.matrix({ podsOnly: true }))).toEqual([]);
      // The receiver saw the sender's pod IP, across nodes (TCP and UDP).
      const c = cell(m, 'pod-1-1', 'pod-3-2');
      expect(c.results.map((r) => r.seen)).toEqual([
        s.pods.find((p) => p.name === 'pod-1-1')!.ips[0],
        s.pods.find((p) => p.name === 'pod-1-1')!.ips[0],
      ]);
      // A node reaches its own pods, from its own address.
      expect(cell(m, 'node-2', 'pod-2-1').verdict).toBe('ok');
      // The outside sees the node's address (NAT-outgoing).
      const out = cell(m, 'pod-2-1', 'outside');
      expect(out.verdict).toBe('nat');
      expect(new Set(out.results.map((r) => r.seen))).toEqual(new Set(['10.99.0.12']));

      // The pool says no: the outside no longer answers pods (it has no route to pod addresses).
      const file = join(lab.ctx.dir, 'no-nat.yaml');
      await writeFile(
        file,
        `apiVersion: margay.dev/v1\nkind: IPPool\nmetadata: { name: lab-ipv4 }\nspec: { cidr: ${POOL_V4}, blockSize: 26, natOutgoing: false, nodeSelector: all() }\n`,
      );
      const io = { out: () => undefined, err: (t: string) => process.stderr.write(`${t}\n`) };
      expect(
        await RESOURCE_COMMANDS.apply!.run(['-f', file, '--datastore', `file:${labPaths(lab.ctx.dir).datastore}`], io),
      ).toBe(0);
      await waitFor(
        'pods to lose the outside',
        async () => cell(await lab.matrix(), 'pod-2-1', 'outside').verdict === 'fail',
        20_000,
        500,
      );
      // Pod-to-pod is untouched.
      expect(badPodCells(await lab.matrix({ podsOnly: true }))).toEqual([]);
    });
  }, 180_000);
});
