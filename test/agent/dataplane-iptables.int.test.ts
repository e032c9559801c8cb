/**
 * The iptables reconciler against the real kernel: chains and jumps applied (v4 and v6), idempotent,
 * a flushed Margay chain or a deleted jump is back within the refresh interval, restore input for a
 * one-endpoint change does not grow with the number of endpoints, and foreign chains and rules —
 * including ones inside the kernel chains we jump from — survive everything.
 */
import { describe, expect, it } from 'vitest';
import { IptablesReconciler } from '../../agent/dataplane/iptables-reconciler.js';
import { pool } from '../../agent/calc/testing/fixtures.js';
import { addPod, eventually, withNode } from './dataplane-helpers.js';

describe('dataplane iptables (real kernel)', () => {
  it('applies, is idempotent, repairs a flushed chain and a deleted jump, and leaves foreign rules alone', {
    timeout: 120_000,
  }, async () => {
    await withNode(
      async (n) => {
        for (const bin of ['iptables', 'ip6tables']) {
          await n.exec(bin, '-N', 'FOREIGN-CHAIN');
          await n.exec(bin, '-A', 'FOREIGN-CHAIN', '-j', 'RETURN');
          await n.exec(bin, '-A', 'FORWARD', '-j', 'FOREIGN-CHAIN');
          await n.exec(bin, '-t', 'nat', '-A', 'POSTROUTING', '-o', 'lo', '-j', 'RETURN');
        }
        n.dp.start();
        n.graph.upserted('IPPool', pool('p', '10.251.0.0/16', true));
        n.graph.inSync();
        const pod = await addPod(n, 'p1', '10.251.0.5', 'fd00:251::5');
        n.graph.registerEndpoint(pod.reg);
        await n.dp.waitForEndpoint('p1', { timeoutMs: 30_000 });

        for (const bin of ['iptables-save', 'ip6tables-save']) {
          const saved = await n.exec(bin);
          expect(saved).toContain(`-g mgy-fw-${pod.iface}`);
          expect(saved).toContain(`-g mgy-tw-${pod.iface}`);
          expect(saved.match(/-A FORWARD .*-j mgy-FORWARD/g)).toHaveLength(1);
          expect(saved.match(/-A POSTROUTING .*-j mgy-POSTROUTING/g)).toHaveLength(1);
          expect(saved).toMatch(/-A FORWARD -j FOREIGN-CHAIN/);
          expect(saved).toContain('-A FOREIGN-CHAIN -j RETURN');
          expect(saved).toContain('-A POSTROUTING -o lo -j RETURN');
        }
        // The jump sits above the foreign rule (inserted at the top).
        const forward = (await n.exec('iptables-save', '-t', 'filter'))
          .split('\n')
          .filter((l) => l.startsWith('-A FORWARD'));
        expect(forward[0]).toMatch(/-j mgy-FORWARD$/);

        // Idempotent: a full re-read finds nothing to write.
        const ipt = n.dp.iptables[4]!;
        n.dp.queueResync();
        await n.dp.whenIdle();
        await n.dp.applyOnce();
        expect(ipt.lastStats).toMatchObject({ upserted: 0, deleted: 0, bytes: { filter: 0, nat: 0 } });

        // Drift: flush one of our chains and delete our FORWARD jump by hand.
        const before = await n.exec('iptables-save', '-t', 'filter');
        await n.exec('iptables', '-F', `mgy-fw-${pod.iface}`);
        const jump = before.split('\n').find((l) => /^-A FORWARD .*mgy-FORWARD/.test(l))!;
        await n.exec('iptables', ...jump.replace('-A FORWARD', '-D FORWARD').replace(/"/g, '').split(' '));
        await eventually(
          async () => normalize(await n.exec('iptables-save', '-t', 'filter')) === normalize(before),
          15_000,
          'chains repaired',
        );

        // Endpoint removed: its chains and dispatch lines go, foreign rules stay.
        n.graph.unregisterEndpoint('p1');
        await eventually(
          async () => !(await n.exec('iptables-save')).includes(pod.iface),
          15_000,
          'endpoint chains removed',
        );
        expect(await n.exec('iptables-save')).toContain('-A FOREIGN-CHAIN -j RETURN');
      },
      { dataplane: { refreshIntervalMs: 2_000 } },
    );
  });

  it('restore input for a one-endpoint change stays the same size at 10 and 250 endpoints', {
    timeout: 120_000,
  }, async () => {
    await withNode(async (n) => {
      const sizes: number[] = [];
      for (const count of [10, 250]) {
        const ipt = new IptablesReconciler(n.kernel.iptables[4]);
        const dispatch = (k: number): string[][] => [
          ...Array.from({ length: k }, (_, i) => ['-i', `mgy${String(i).padStart(11, '0')}`, '-j', 'RETURN']),
          ['-j', 'DROP'],
        ];
        ipt.setChain('filter', `mgy-t${String(count).padStart(3, '0')}`, dispatch(count));
        await ipt.apply();
        const next = dispatch(count);
        next.splice(3, 0, ['-i', 'mgyzzzzzzzzzzz', '-j', 'RETURN']); // a new endpoint, in sorted position
        ipt.setChain('filter', `mgy-t${String(count).padStart(3, '0')}`, next);
        await ipt.apply();
        sizes.push(ipt.lastBytes.filter);
        expect(
          (await n.exec('iptables-save', '-t', 'filter')).match(
            new RegExp(`-A mgy-t${String(count).padStart(3, '0')} `, 'g'),
          ),
        ).toHaveLength(count + 2);
      }
      expect(sizes[0]).toBe(sizes[1]);
    });
  });
});

/** iptables-save output without comments and counters, for comparing rule sets. */
function normalize(text: string): string {
  return text
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.replace(/\[\d+:\d+\]/, ''))
    .join('\n');
}
