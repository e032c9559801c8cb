import { describe, expect, it, vi } from 'vitest';
import { FakeIptablesBackend } from '../src/kernel/testing/fake-iptables-backend.js';

// prom-client (metrics.ts) must not load with the agent: only at load() (routes in, or a scrape).
const loads = vi.hoisted(() => ({ n: 0 }));
vi.mock('./metrics.js', async (importOriginal) => {
  loads.n++;
  return importOriginal();
});

const { countingIptables, LazyAgentMetrics } = await import('./metrics-lazy.js');

describe('LazyAgentMetrics', () => {
  it('queues observations until the load, then replays them in order; later ones apply at once', async () => {
    const lazy = new LazyAgentMetrics();
    lazy.record((m) => m.applyFailures.inc());
    lazy.record((m) => m.firstProgramming.set(0.25));
    const ipt = countingIptables(new FakeIptablesBackend(4), lazy);
    await ipt.restore('filter', [':mgy-x - [0:0]']);
    expect(loads.n).toBe(0);
    const m = await lazy.load();
    expect(loads.n).toBe(1);
    lazy.record((x) => x.applyFailures.inc());
    expect(await lazy.load()).toBe(m);
    const text = await m.registry.metrics();
    expect(text).toContain('margay_int_dataplane_failures_total 2');
    expect(text).toContain('margay_first_programming_seconds 0.25');
    expect(text).toContain('margay_iptables_restore_calls_total 1');
    expect(loads.n).toBe(1);
  });
});
