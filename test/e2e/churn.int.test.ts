/**
 * Churn on a running lab (3 nodes × 1 pod, full mesh, BIRD ToR): a pod comes and goes; node-1's
 * block is exhausted so a second block is claimed, then emptied again; node-3 leaves the cluster
 * (drained, agent stopped, Node deleted, its IPAM released, the ToR's neighbour removed, the machine
 * gone); node-4 joins (a new machine on the segment, Node object, ToR neighbour, agent, a pod).
 *
 * After every step, routes and addresses follow on every node and the ToR, exactly: each kernel's
 * pool routes are the IPAM blocks (blackhole for its own, via the owner for the others, a /32 per own
 * pod), each node's veths and per-workload chains are exactly its pods', a deleted pod leaves every
 * node's kernel (routes, veths, iptables, ipsets) exactly as before it came, no kernel names a
 * removed node's address or blocks, and `margayctl ipam check` finds no problem.
 *
 * Filling the block: 63 CNI ADDs take minutes on this machine, so the block's free addresses are
 * allocated through the same IPAM service the agent's CNI server calls (handles of containers
 * without a Kubernetes identity, released afterwards); the pod that then needs a second block is
 * a real one, added through the CNI plugin.
 */
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { Ipam } from '../../ipam/index.js';
import { applyManifests } from '../../src/datastore/index.js';
import { labPaths } from '../../src/lab/lab-context.js';
import { planLab } from '../../src/lab/lab-plan.js';
import { binPath } from '../../src/lab/margay-processes.js';
import { waitFor } from '../../src/lab/wait.js';
import {
  addNodeNamespace,
  addPod,
  badPodCells,
  cell,
  ipamBlocks,
  ipamCheck,
  kernelState,
  labPod,
  linkCni,
  openLabStore,
  reconfigureBirdTor,
  removeNodeNamespace,
  removePod,
  staleOrMissing,
  startAgent,
  stopAgent,
  withLab,
  type Lab,
} from './lab-harness.js';

const inBlock = (ip: string, cidr: string): boolean => {
  const [net, len] = cidr.split('/');
  const n = (a: string): number => a.split('.').reduce((x, o) => x * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(len));
  return Math.floor(n(ip) / size) === Math.floor(n(net!) / size);
};

async function expectClean(lab: Lab, pods: number, blocks: number, inProcess = true): Promise<void> {
  const c = await ipamCheck(lab, { inProcess });
  expect(c.out).toMatch(
    new RegExp(
      `^Checked ${blocks} block\\(s\\), ${pods} allocation\\(s\\), ${pods} handle\\(s\\) at \\S+\\.\\nNo problems found\\.$`,
    ),
  );
  expect(c.code).toBe(0);
}

describe('e2e: churn', () => {
  it('pods, a second block, a node leaving and a node joining: routes and addresses follow, nothing stale', async () => {
    await withLab({ nodes: 3, podsPerNode: 1, tor: 'bird', mode: 'mesh', dualStack: false }, async (lab) => {
      const store = await openLabStore(lab);
      try {
        const [n1, n2, n3] = lab.plan.nodes as [
          (typeof lab.plan.nodes)[0],
          (typeof lab.plan.nodes)[0],
          (typeof lab.plan.nodes)[0],
        ];
        let nodes = [n1, n2, n3];
        const follows = (what: string) =>
          waitFor(
            what,
            async () => {
              const d = await staleOrMissing(lab, store, nodes);
              return d.length === 0 ? true : undefined;
            },
            30_000,
            250,
          ).catch(async (err: unknown) => {
            throw new Error(`${(err as Error).message}: ${(await staleOrMissing(lab, store, nodes)).join('; ')}`);
          });
        await follows('the lab as built');
        await expectClean(lab, 3, 3);

        // 1. A pod comes and goes: every node's kernel ends exactly as it was.
        const snapshot = async () => Promise.all(nodes.map((n) => kernelState(lab.ns(n.name))));
        const k0 = await snapshot();
        const extra = await addPod(lab, store, labPod(lab, n1, 'x'));
        await follows('the extra pod');
        expect(cell(await lab.matrix({ podsOnly: true }), 'pod-3-1', extra.name).verdict).toBe('ok');
        await expectClean(lab, 4, 3);
        await removePod(lab, store, extra.name);
        await follows('the extra pod gone');
        expect(await snapshot(), 'the kernels after the pod left').toEqual(k0);
        await expectClean(lab, 3, 3);

        // 2. Node-1's block runs full: the next pod claims a second block, which every kernel learns.
        // (The removed pod's address is not handed out for minReuseAgeSeconds: let it cool first.)
        const [b1, ...more] = await waitFor(
          "node-1's released address to cool down",
          async () => {
            const own = (await ipamBlocks(store)).filter((b) => b.node === 'node-1');
            return own.every((b) => b.cooling === 0) ? own : undefined;
          },
          15_000,
          250,
        );
        expect(more).toEqual([]);
        const ipam = new Ipam({ store, log: lab.ctx.log });
        const fillers: string[] = [];
        for (let i = 0; i < b1!.free; i++) {
          const r = await ipam.assign({ network: 'k8s-pod-network', containerId: `fill${i}`, node: 'node-1' });
          fillers.push(r.handleId);
          expect(inBlock(r.addresses[0]!.address, b1!.cidr), `filler ${i}: ${r.addresses[0]!.address}`).toBe(true);
        }
        expect((await ipamBlocks(store)).find((b) => b.cidr === b1!.cidr)?.free).toBe(0);
        const big = await addPod(lab, store, labPod(lab, n1, 'y'));
        const own = (await ipamBlocks(store)).filter((b) => b.node === 'node-1');
        expect(own).toHaveLength(2);
        const b2 = own.find((b) => b.cidr !== b1!.cidr)!;
        expect(inBlock(big.ips[0]!, b2.cidr), `${big.ips[0]} in ${b2.cidr}`).toBe(true);
        await follows('the second block');
        expect(cell(await lab.matrix({ podsOnly: true }), 'pod-3-1', big.name).verdict).toBe('ok');
        await expectClean(lab, 4 + fillers.length, 4);
        await removePod(lab, store, big.name);
        for (const h of fillers) await ipam.releaseByHandle(h);
        await follows('the block emptied again');
        await expectClean(lab, 3, (await ipamBlocks(store)).length);

        // 3. Node-3 leaves: drained, agent stopped, Node deleted, IPAM released, ToR neighbour gone.
        // Afterwards no kernel names its address or its blocks anywhere (routes, iptables, ipsets).
        const gone = [n3.ip, ...(await ipamBlocks(store)).filter((b) => b.node === 'node-3').map((b) => b.cidr)];
        expect(gone).toHaveLength(2);
        await removePod(lab, store, 'pod-3-1');
        expect(await stopAgent(lab, 'node-3', 'SIGTERM')).toBe('stopped');
        await store.delete('Node', 'node-3');
        const rel = await execa(
          process.execPath,
          [
            binPath('margayctl'),
            'ipam',
            'release',
            '--node',
            'node-3',
            '--datastore',
            `file:${labPaths(lab.ctx.dir).datastore}`,
          ],
          { reject: false, all: true },
        );
        expect(rel.exitCode, String(rel.all)).toBe(0);
        await reconfigureBirdTor(lab, [n1, n2]);
        await removeNodeNamespace(lab, 'node-3');
        nodes = [n1, n2];
        expect((await ipamBlocks(store)).filter((b) => b.node === 'node-3')).toEqual([]);
        await follows('node-3 gone');
        for (const where of ['tor', 'node-1', 'node-2']) {
          const k = await kernelState(lab.ns(where));
          const lines = [...k.routes, ...k.iptables, ...k.ipsets];
          expect(
            lines.filter((l) => gone.some((g) => l.includes(g))),
            `${where} still names node-3`,
          ).toEqual([]);
        }
        await expectClean(lab, 2, (await ipamBlocks(store)).length);

        // 4. Node-4 joins: a new machine, its Node, the ToR's neighbour, the agent, a pod.
        const plan4 = planLab({ ...lab.plan.options, nodes: 4 }, lab.plan.spec.prefix);
        const n4 = plan4.nodes[3]!;
        await addNodeNamespace(lab, n4);
        await applyManifests(
          store,
          plan4.manifests.filter((m) => m.kind === 'Node' && (m.metadata as { name: string }).name === 'node-4'),
        );
        await reconfigureBirdTor(lab, [n1, n2, n4]);
        const a4 = await startAgent(lab, 'node-4', { plan: plan4 });
        await linkCni(lab, a4);
        const p4 = await addPod(lab, store, labPod(lab, n4, '1'));
        nodes = [n1, n2, n4];
        expect((await ipamBlocks(store)).filter((b) => b.node === 'node-4').map((b) => b.allocated)).toEqual([1]);
        await follows('node-4 joined');
        const m = await lab.matrix({ podsOnly: true });
        expect(badPodCells(m)).toEqual([]);
        expect(cell(m, 'pod-1-1', p4.name).verdict).toBe('ok');
        await expectClean(lab, 3, (await ipamBlocks(store)).length, false); // the built margayctl, once
      } finally {
        await store.close();
      }
    });
  }, 240_000);
});
