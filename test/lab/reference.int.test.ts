/**
 * The Calico-style reference (src/lab/reference.ts) really builds and converges, so the lab
 * benchmark (test/bench/lab.ts) cannot silently measure nothing: every node's kernel gets every
 * other node's block from BIRD, a pod wired the Calico way answers pings from another node, a block
 * added the confd way reaches the other kernels, and the node BIRDs' sessions are the full mesh
 * plus the ToR.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasGatewayRoute } from '../../src/lab/kernel-routes.js';
import { upReference, type ReferenceLab } from '../../src/lab/reference.js';
import { waitFor } from '../../src/lab/wait.js';
import { labDeps, uniquePrefix } from '../helpers/netns.js';

const block = (i: number): string => `10.244.${i}.0/26`;

describe('Calico-style reference (BIRD 2 per node, confd-style config)', () => {
  let workdir: string;
  let ref: ReferenceLab;
  beforeAll(async () => {
    workdir = await mkdtemp(join(tmpdir(), 'mgy-ref-'));
    ref = await upReference({
      prefix: uniquePrefix('ref'),
      nodes: 3,
      workdir,
      ...labDeps(),
      blocks: { 'node-1': [block(1)], 'node-2': [block(2)], 'node-3': [block(3)] },
    });
  }, 60_000);
  afterAll(async () => {
    await ref?.down();
    await rm(workdir, { recursive: true, force: true });
  });

  it('every node learns every other node’s block over the mesh; sessions are the mesh plus the ToR', async () => {
    await waitFor(
      'every block in every node kernel',
      async () => {
        for (const n of ref.plan.nodes)
          for (const o of ref.plan.nodes)
            if (o !== n && !(await hasGatewayRoute(ref.birdPid(n.name)!, block(o.index)))) return false;
        return true;
      },
      30_000,
      50,
    );
    const route = await execa('ip', ['-n', ref.ns('node-3'), 'route', 'show', block(1)]);
    expect(route.stdout).toMatch(/via 10\.99\.0\.11 .*proto bird/);
    // Own block: the blackhole from the static protocol, as on a Calico node.
    const own = await execa('ip', ['-n', ref.ns('node-1'), 'route', 'show', block(1)]);
    expect(own.stdout).toMatch(/^blackhole 10\.244\.1\.0\/26 proto bird/);
    const protos = await ref.bird('node-1')!.protocols();
    const bgp = [...protos].filter(([, p]) => p.proto === 'BGP');
    expect(bgp.map(([name]) => name).sort()).toEqual(['Global_10_99_0_1', 'Mesh_10_99_0_12', 'Mesh_10_99_0_13']);
    await waitFor(
      'all node-1 sessions Established',
      async () =>
        [...(await ref.bird('node-1')!.protocols())]
          .filter(([, p]) => p.proto === 'BGP')
          .every(([, p]) => p.info.startsWith('Established')),
      30_000,
      100,
    );
  }, 60_000);

  it('a pod wired the Calico way on node-1 answers from node-3 and from a pod on node-3; its /32 is not exported', async () => {
    const a = await ref.addPod('node-1', 'a', '10.244.1.5');
    const b = await ref.addPod('node-3', 'b', '10.244.3.7');
    try {
      // Up to 3 echoes 200 ms apart; ping exits 0 once any is answered (one lost on a loaded machine is not unreachability).
      await execa('ip', ['netns', 'exec', ref.ns('node-3'), 'ping', '-c', '3', '-i', '0.2', '-W', '2', a.ip]);
      await execa('ip', ['netns', 'exec', b.netns, 'ping', '-c', '3', '-i', '0.2', '-W', '2', a.ip]);
      // calico_aggr(): the /32 inside node-1's own block stays on node-1.
      const r = await execa('ip', ['-n', ref.ns('node-3'), 'route', 'show', '10.244.1.5/32']);
      expect(r.stdout).toBe('');
    } finally {
      await ref.removePod(a);
      await ref.removePod(b);
    }
  }, 30_000);

  it('a block added the confd way (static route + birdc configure) reaches node-3’s kernel', async () => {
    await ref.addBlock('node-1', block(9));
    await waitFor('the new block on node-3', () => hasGatewayRoute(ref.birdPid('node-3')!, block(9)), 10_000, 20);
  }, 20_000);

  it('a cold restart of every node BIRD converges again', async () => {
    await ref.stopNodes();
    expect(await execa('ip', ['-n', ref.ns('node-3'), 'route', 'show', block(1)]).then((r) => r.stdout)).toBe('');
    await ref.startNodes();
    await waitFor(
      'node-3 learns node-1’s block again',
      () => hasGatewayRoute(ref.birdPid('node-3')!, block(1)),
      20_000,
      50,
    );
  }, 40_000);
});
