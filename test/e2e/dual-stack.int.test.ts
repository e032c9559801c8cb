/**
 * Dual stack: every pod gets an IPv4 and an IPv6 address; IPv6 pod-to-pod works across nodes (TCP
 * and UDP, the receiver sees the sender's IPv6 pod address); the ToR learns the IPv6 blocks over its
 * IPv6 sessions.
 */
import { describe, expect, it } from 'vitest';
import { badPodCells, cell, routes, withLab } from './lab-harness.js';

describe('e2e: dual stack', () => {
  it('IPv6 pod-to-pod across nodes without NAT, blocks learned by the ToR', async () => {
    await withLab({ nodes: 2, podsPerNode: 1, tor: 'bird', mode: 'ebgp', dualStack: true }, async (lab) => {
      const s = await lab.state();
      for (const p of s.pods) {
        expect(
          p.ips.filter((ip) => !ip.includes(':')),
          p.name,
        ).toHaveLength(1);
        expect(
          p.ips.filter((ip) => ip.includes(':')),
          p.name,
        ).toHaveLength(1);
      }
      const m = await lab.matrix({ podsOnly: true });
      expect(badPodCells(m)).toEqual([]);
      const [a, b] = s.pods;
      const v6 = cell(m, a!.name, b!.name).results.filter((r) => r.ip.includes(':'));
      expect(v6.map((r) => r.proto).sort()).toEqual(['tcp', 'udp']);
      for (const r of v6) expect(r.seen).toBe(a!.ips.find((ip) => ip.includes(':')));
      const tor6 = (await routes(lab.ns('tor'), 6)).filter((r) => r.dst.startsWith('fd00:244:'));
      expect(tor6).toHaveLength(2);
      for (const r of tor6) expect(r.protocol).toBe('bird');
    });
  }, 150_000);
});
