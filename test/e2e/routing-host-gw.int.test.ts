/**
 * BGP off (host-gw): no BGP session anywhere, yet every node routes every other node's blocks
 * straight to that node over the shared segment, and pods reach each other; the ToR learns nothing.
 */
import { describe, expect, it } from 'vitest';
import { badPodCells, missingBlockRoutes, podRouting, withLab } from './lab-harness.js';

describe('e2e: host-gw (BGP off)', () => {
  it('routes from block affinities only; pods reach pods; the ToR has no pod routes', async () => {
    await withLab({ nodes: 3, podsPerNode: 1, tor: 'bird', mode: 'host-gw', dualStack: false }, async (lab) => {
      expect(lab.output).toMatch(/node-1 \(AS 64512\): 0 BGP connection\(s\) established/);
      const r = await podRouting(lab);
      expect(missingBlockRoutes(lab, r, false)).toEqual([]);
      expect(r.routesByNs.get('tor')).toEqual([]);
      expect(badPodCells(await lab.matrix({ podsOnly: true }))).toEqual([]);
    });
  }, 150_000);
});
