/**
 * Routes come from BGP only, with a route reflector instead of the full mesh: node-1 reflects, the
 * clients peer only with it (and the ToR), and still every node learns every other node's blocks
 * with the owner as next hop; the ToR learns every block; pods reach pods.
 */
import { describe, expect, it } from 'vitest';
import { run } from '../helpers/netns.js';
import { badPodCells, missingBlockRoutes, podRouting, withLab } from './lab-harness.js';

describe('e2e: route reflectors', () => {
  it('clients peer only with the reflector and the ToR, yet every node learns every block', async () => {
    await withLab({ nodes: 3, podsPerNode: 1, tor: 'bird', mode: 'rr', dualStack: false }, async (lab) => {
      const peersOf = async (node: string): Promise<string[]> =>
        (
          await run('ip', [
            'netns',
            'exec',
            lab.ns(node),
            'ss',
            '-Htn',
            'state',
            'established',
            '( sport = :179 or dport = :179 )',
          ])
        )
          .split('\n')
          .filter(Boolean)
          .map(
            (l) =>
              l
                .trim()
                .split(/\s+/)
                .slice(-2)
                .map((a) => a.replace(/:\d+$/, ''))
                .find((a) => a !== lab.plan.nodes.find((n) => n.name === node)!.ip)!,
          )
          .sort();
      expect(await peersOf('node-2')).toEqual(['10.99.0.1', '10.99.0.11']);
      expect(await peersOf('node-3')).toEqual(['10.99.0.1', '10.99.0.11']);
      const r = await podRouting(lab);
      expect(missingBlockRoutes(lab, r, false)).toEqual([]);
      const blocks = [...r.ownBlocks.values()].flat();
      expect(blocks).toHaveLength(3);
      for (const b of blocks) expect(r.routesByNs.get('tor')!.find((x) => x.dst === b)?.protocol).toBe('bird');
      for (const [, routes] of r.routesByNs)
        for (const x of routes) expect(['static', 'boot', 'kernel']).not.toContain(x.protocol);
      expect(badPodCells(await lab.matrix({ podsOnly: true }))).toEqual([]);
    });
  }, 150_000);
});
