import { describe, expect, it } from 'vitest';
import { KernelOpError } from '../../src/errors.js';
import { FakeIptablesBackend } from '../../src/kernel/testing/fake-iptables-backend.js';
import { renderStaticChains } from '../calc/static-chains.js';
import { ApplyError } from './errors.js';
import { IptablesReconciler } from './iptables-reconciler.js';

function withStatic(ipt: IptablesReconciler): void {
  for (const c of renderStaticChains(4)) ipt.setChain(c.table, c.name, c.rules);
  ipt.setChain('filter', 'mgy-from-wl-dispatch', [['-j', 'DROP']]);
  ipt.setChain('filter', 'mgy-to-wl-dispatch', [['-j', 'DROP']]);
}

function dispatch(n: number): string[][] {
  return [
    ...Array.from({ length: n }, (_, i) => ['-i', `mgy${String(i).padStart(11, '0')}`, '-j', 'ACCEPT']),
    ['-j', 'DROP'],
  ];
}

describe('IptablesReconciler (fake iptables)', () => {
  it('writes our chains and the kernel-chain jumps once, and leaves foreign chains and rules alone', async () => {
    const be = new FakeIptablesBackend(4);
    be.seedForeign('filter', 'FORWARD', ['-s', '10.9.0.0/16', '-j', 'DROP']);
    be.seedForeign('filter', 'KUBE-SERVICES', ['-d', '10.96.0.1/32', '-j', 'ACCEPT']);
    const ipt = new IptablesReconciler(be);
    withStatic(ipt);
    await ipt.apply();
    const text = be.saveText('filter');
    expect(text.match(/-A FORWARD /g)).toHaveLength(2);
    expect(text.split('\n').find((l) => l.startsWith('-A FORWARD'))).toMatch(/-j mgy-FORWARD$/); // inserted at the top
    expect(text).toContain('-A FORWARD -s 10.9.0.0/16 -j DROP');
    expect(text).toContain('-A KUBE-SERVICES -d 10.96.0.1/32 -j ACCEPT');
    expect(be.saveText('nat')).toMatch(/-A POSTROUTING -m comment --comment mgy:\S+ -j mgy-POSTROUTING/);
    // Idempotent: nothing to write, and a resync finds nothing to change either.
    be.faults.ops.length = 0;
    await ipt.apply();
    ipt.queueResync();
    await ipt.apply();
    expect(be.ops.filter((o) => o.startsWith('restore'))).toEqual([]);
    expect(be.saveText('filter').match(/-j mgy-FORWARD/g)).toHaveLength(1);
  });

  it('restore input for a one-endpoint change does not grow with the chain', async () => {
    const bytes: number[] = [];
    for (const n of [10, 250]) {
      const ipt = new IptablesReconciler(new FakeIptablesBackend(4));
      ipt.setChain('filter', 'mgy-from-wl-dispatch', dispatch(n));
      await ipt.apply();
      const next = dispatch(n);
      next.splice(3, 0, ['-i', 'mgyzzzzzzzzzzz', '-j', 'ACCEPT']);
      ipt.setChain('filter', 'mgy-from-wl-dispatch', next);
      await ipt.apply();
      bytes.push(ipt.lastBytes.filter);
    }
    expect(bytes[0]).toBe(bytes[1]);
    expect(bytes[0]).toBeLessThan(120);
  });

  it('repairs drift on resync: a flushed chain, a deleted jump, a rule added by hand in our chain', async () => {
    const be = new FakeIptablesBackend(4);
    const ipt = new IptablesReconciler(be);
    withStatic(ipt);
    await ipt.apply();
    const before = be.saveText('filter');
    const jump = before
      .split('\n')
      .find((l) => l.startsWith('-A FORWARD'))!
      .replace('-A FORWARD', '-D FORWARD');
    await be.restore('filter', [':mgy-FORWARD - [0:0]', jump, '-A mgy-INPUT -j ACCEPT']);
    ipt.queueResync();
    await ipt.apply();
    expect(be.saveText('filter')).toBe(before);
  });

  it('removes a chain and its jump after rules stop using it; a failed restore queues a resync', async () => {
    const be = new FakeIptablesBackend(4);
    const ipt = new IptablesReconciler(be);
    withStatic(ipt);
    await ipt.apply();
    ipt.removeChain('filter', 'mgy-OUTPUT');
    be.failNext(new KernelOpError(['iptables-restore'], 1, 'boom'), /restore filter/);
    await expect(ipt.apply()).rejects.toBeInstanceOf(ApplyError);
    expect(ipt.hasPending).toBe(true);
    await ipt.apply();
    const text = be.saveText('filter');
    expect(text).not.toContain('mgy-OUTPUT');
    expect(text).toContain(':OUTPUT ACCEPT');
  });
});
