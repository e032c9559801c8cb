/**
 * The ipset reconciler against the real kernel: NAT-outgoing sets made and kept exact, a member
 * deleted by hand is back within the refresh interval, a set whose type changed is swapped through a
 * temporary while a rule uses it, unwanted sets of ours go, foreign sets stay.
 */
import { describe, expect, it } from 'vitest';
import { IpsetReconciler } from '../../agent/dataplane/ipset-reconciler.js';
import { pool } from '../../agent/calc/testing/fixtures.js';
import { eventually, withNode } from './dataplane-helpers.js';

describe('dataplane ipsets (real kernel)', () => {
  it('keeps the NAT sets exact, repairs a deleted member, leaves foreign sets alone', {
    timeout: 120_000,
  }, async () => {
    await withNode(
      async (n) => {
        await n.exec('ipset', 'create', 'foreign-set', 'hash:ip');
        await n.exec('ipset', 'add', 'foreign-set', '10.9.9.9');
        await n.exec('ipset', 'create', 'mgy4-stale', 'hash:net');
        n.dp.start();
        n.graph.upserted('IPPool', pool('a', '10.252.0.0/16', true));
        n.graph.upserted('IPPool', pool('b', '10.253.0.0/16', false));
        n.graph.upserted('IPPool', pool('c', 'fd00:252::/48', true));
        n.graph.inSync();
        await eventually(
          async () => (await n.exec('ipset', 'list', 'mgy4-masq-pools')).includes('10.252.0.0/16'),
          15_000,
          'sets made',
        );
        await n.dp.whenIdle();
        expect(await n.exec('ipset', 'list', 'mgy4-all-pools')).toMatch(
          /10\.252\.0\.0\/16[\s\S]*10\.253\.0\.0\/16|10\.253\.0\.0\/16[\s\S]*10\.252\.0\.0\/16/,
        );
        expect(await n.exec('ipset', 'list', 'mgy6-masq-pools')).toContain('fd00:252::/48');
        expect((await n.exec('ipset', 'list', '-n')).split('\n')).not.toContain('mgy4-stale');
        // Drift: a member deleted by hand.
        await n.exec('ipset', 'del', 'mgy4-masq-pools', '10.252.0.0/16');
        await eventually(
          async () => (await n.exec('ipset', 'list', 'mgy4-masq-pools')).includes('10.252.0.0/16'),
          15_000,
          'member restored',
        );
        // A pool change touches only its members.
        n.graph.upserted('IPPool', pool('b', '10.253.0.0/16', true));
        await eventually(
          async () => (await n.exec('ipset', 'list', 'mgy4-masq-pools')).includes('10.253.0.0/16'),
          15_000,
          'member added',
        );
        expect(await n.exec('ipset', 'list', 'foreign-set')).toContain('10.9.9.9');
      },
      { dataplane: { refreshIntervalMs: 2_000 } },
    );
  });

  it('swaps a set whose create options changed through a temporary while a rule uses it; recreates an unused set of another type', {
    timeout: 60_000,
  }, async () => {
    await withNode(async (n) => {
      await n.exec('ipset', 'create', 'mgy4-small', 'hash:net', 'maxelem', '1024');
      await n.exec('ipset', 'add', 'mgy4-small', '10.1.0.0/16');
      await n.exec('iptables', '-A', 'INPUT', '-m', 'set', '--match-set', 'mgy4-small', 'src', '-j', 'ACCEPT');
      await n.exec('ipset', 'create', 'mgy4-typed', 'hash:ip');
      const r = new IpsetReconciler(n.kernel.ipsets);
      r.setIpset({ family: 4, name: 'mgy4-small', type: 'hash:net', members: ['10.2.0.0/16'], maxElem: 4096 });
      r.setIpset({ family: 4, name: 'mgy4-typed', type: 'hash:net', members: ['10.3.0.0/16'] });
      await r.apply();
      const small = await n.exec('ipset', 'save', 'mgy4-small');
      expect(small).toMatch(/create mgy4-small hash:net family inet .*maxelem 4096/);
      expect(small).toContain('add mgy4-small 10.2.0.0/16');
      expect(small).not.toContain('10.1.0.0/16');
      expect(await n.exec('ipset', 'save', 'mgy4-typed')).toMatch(
        /create mgy4-typed hash:net[\s\S]*add mgy4-typed 10.3.0.0\/16/,
      );
      expect(await n.exec('ipset', 'list', '-n')).not.toMatch(/mgyt-/);
      expect(await n.exec('iptables-save', '-t', 'filter')).toContain('--match-set mgy4-small src');
      // Idempotent.
      r.queueResync();
      expect(await r.apply()).toEqual({ upserted: 0, deleted: 0 });
      expect(await n.exec('ipset', 'save', 'mgy4-small')).toBe(small);
    });
  });
});
