/**
 * Routes come from BGP only, eBGP to the ToR with an AS per node: every node and the ToR learn every
 * block over BGP (the ToR's kernel routes are BIRD's, the nodes' are Margay's BGP protocol), there
 * is no static route to a pod address anywhere, and pods reach each other across nodes.
 */
import { describe, expect, it } from 'vitest';
import { badPodCells, missingBlockRoutes, podRouting, withLab } from './lab-harness.js';

describe('e2e: eBGP to the ToR', () => {
  it('every node and the ToR learn every block over BGP; no static pod routes; pods reach pods', async () => {
    await withLab({ nodes: 3, podsPerNode: 1, tor: 'bird', mode: 'ebgp', dualStack: false }, async (lab) => {
      expect(lab.output).toMatch(/node_1\s+BGP\s+---\s+up\s+\S+\s+Established/);
      const r = await podRouting(lab);
      for (const [node, blocks] of r.ownBlocks) expect(blocks.length, node).toBeGreaterThan(0);
      expect(missingBlockRoutes(lab, r, true)).toEqual([]);
      // The ToR's pod routes are all BIRD's (learned over BGP); nodes' remote blocks are not static.
      for (const x of r.routesByNs.get('tor')!) expect(x.protocol).toBe('bird');
      for (const [, routes] of r.routesByNs)
        for (const x of routes) expect(['static', 'boot', 'kernel']).not.toContain(x.protocol);
      expect(badPodCells(await lab.matrix({ podsOnly: true }))).toEqual([]);
    });
  }, 150_000);
});
