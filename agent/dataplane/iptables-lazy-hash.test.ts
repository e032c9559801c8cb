import { describe, expect, it, vi } from 'vitest';
import { FakeIptablesBackend } from '../../src/kernel/testing/fake-iptables-backend.js';

// The desired chains arrive at in-sync, before the routes-first dataplane applies any rule; their
// hashes (node:crypto's first use: ≈ 7 ms of CPU) wait for the apply.
const hashed = vi.hoisted(() => ({ calls: 0 }));
vi.mock('./iptables-render.js', async (importOriginal) => {
  const orig = await importOriginal<typeof import('./iptables-render.js')>();
  return {
    ...orig,
    hashRules: (...args: Parameters<typeof orig.hashRules>) => {
      hashed.calls++;
      return orig.hashRules(...args);
    },
  };
});

const { IptablesReconciler } = await import('./iptables-reconciler.js');

describe('IptablesReconciler hashes on apply', () => {
  it('setChain hashes nothing; the apply hashes and writes', async () => {
    const backend = new FakeIptablesBackend(4);
    const r = new IptablesReconciler(backend);
    r.setChain('filter', 'mgy-FORWARD', [['-j', 'ACCEPT']]);
    r.setChain('filter', 'mgy-FORWARD', [['-j', 'DROP']]);
    expect(hashed.calls).toBe(0);
    await r.apply();
    expect(hashed.calls).toBeGreaterThan(0);
    expect(backend.saveText('filter')).toMatch(/-A mgy-FORWARD -m comment --comment mgy:\S+ -j DROP/);
  });
});
