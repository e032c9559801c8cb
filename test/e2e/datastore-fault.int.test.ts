/**
 * A node cut off its datastore for 30 s, then restored. The cut: every system call node-2's agent
 * makes on the shared file datastore (its directory, store.db and the WAL files) fails with EIO
 * (strace fault injection on that one process: see cutDatastore in lab-harness.ts for why this is
 * the faithful cut for the embedded file datastore); the other agents and the operator keep access.
 *
 * Meanwhile: a ping every 10 ms from node-1's pod to node-2's pod loses nothing; node-2's readiness
 * says not ready, naming the datastore; node-2's kernel state is left exactly as it was and its BGP
 * sessions stay up (nothing torn down for lack of the store). A change made during the cut (the pool's natOutgoing turned off)
 * reaches node-1 at once but not node-2 — proof the cut is real — and reaches node-2 after the
 * restore: state converges, the agent is ready again.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RESOURCE_COMMANDS } from '../../src/cli/resources.js';
import { labPaths } from '../../src/lab/lab-context.js';
import { POOL_V4 } from '../../src/lab/lab-plan.js';
import { sleep, waitFor } from '../../src/lab/wait.js';
import { run } from '../helpers/netns.js';
import { bgpPeersUp, cell, cutDatastore, kernelState, readiness, startPing, withLab } from './lab-harness.js';

const masqPools = async (ns: string): Promise<string[]> =>
  (await run('ip', ['netns', 'exec', ns, 'ipset', 'list', 'mgy4-masq-pools']))
    .split('\n')
    .filter((l) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(l.trim()))
    .map((l) => l.trim());

describe('e2e: datastore access cut for 30 s', () => {
  it('traffic keeps flowing, readiness names the datastore, a change made meanwhile is programmed after', async () => {
    await withLab({ nodes: 2, podsPerNode: 1, tor: 'bird', mode: 'mesh', dualStack: false }, async (lab) => {
      const s = await lab.state();
      const src = s.pods.find((p) => p.node === 'node-1')!;
      const dst = s.pods.find((p) => p.node === 'node-2')!;
      const [ns1, ns2] = [lab.ns('node-1'), lab.ns('node-2')];
      expect(await masqPools(ns2)).toEqual([POOL_V4]);
      expect(cell(await lab.matrix(), dst.name, 'outside').verdict).toBe('nat');

      const ping = startPing(src.netns, dst.ips[0]!);
      await sleep(1000);
      const before = await kernelState(ns2);
      const peers = await bgpPeersUp(lab, 'node-2');
      expect(peers).toEqual(['10.99.0.1', '10.99.0.11']);
      const cutAt = Date.now();
      const cut = await cutDatastore(lab, 'node-2');
      let injected: number;
      try {
        await waitFor(
          "node-2's readiness to report the datastore",
          async () => {
            const r = await readiness(lab, 'node-2');
            return r.status === 503 && /^not ready: .*datastore/.test(r.body) ? r : undefined;
          },
          15_000,
          250,
        );
        // The change, made by the operator during the cut.
        const file = join(lab.ctx.dir, 'no-nat.yaml');
        await writeFile(
          file,
          `apiVersion: margay.dev/v1\nkind: IPPool\nmetadata: { name: lab-ipv4 }\nspec: { cidr: ${POOL_V4}, blockSize: 26, natOutgoing: false, nodeSelector: all() }\n`,
        );
        const io = { out: () => undefined, err: (t: string) => process.stderr.write(`${t}\n`) };
        expect(
          await RESOURCE_COMMANDS.apply!.run(
            ['-f', file, '--datastore', `file:${labPaths(lab.ctx.dir).datastore}`],
            io,
          ),
        ).toBe(0);
        await waitFor('node-1 to drop NAT-outgoing', async () => (await masqPools(ns1)).length === 0, 15_000, 250);
        // Hold the cut for 30 s in all; node-2 still has the old state, and says why it is not ready.
        await sleep(Math.max(0, cutAt + 30_000 - Date.now()));
        const r = await readiness(lab, 'node-2');
        expect(r.status).toBe(503);
        expect(r.body).toMatch(/^not ready: .*datastore/);
        expect(await masqPools(ns2)).toEqual([POOL_V4]);
        expect(await kernelState(ns2), "node-2's kernel state during the cut").toEqual(before);
        expect(await bgpPeersUp(lab, 'node-2'), "node-2's BGP sessions during the cut").toEqual(peers);
      } finally {
        injected = await cut.restore();
      }
      const restoredAt = Date.now();
      expect(injected, 'system calls failed by the cut').toBeGreaterThan(0);

      await waitFor(
        'node-2 to be ready again',
        async () => (await readiness(lab, 'node-2')).status === 200,
        20_000,
        250,
      );
      await waitFor('node-2 to drop NAT-outgoing', async () => (await masqPools(ns2)).length === 0, 20_000, 250);
      await waitFor(
        "node-2's pod to lose the outside",
        async () => cell(await lab.matrix(), dst.name, 'outside').verdict === 'fail',
        20_000,
        500,
      );
      await sleep(1000);
      const p = await ping.stop();
      expect(p.missing, 'pings lost').toEqual([]);
      expect(p.firstAt).toBeLessThan(cutAt);
      expect(p.lastAt).toBeGreaterThan(restoredAt);
      expect(cell(await lab.matrix({ podsOnly: true }), src.name, dst.name).verdict).toBe('ok');
    });
  }, 200_000);
});
