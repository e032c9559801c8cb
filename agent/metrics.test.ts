import { describe, expect, it } from 'vitest';
import { AgentMetrics } from './metrics.js';

describe('AgentMetrics', () => {
  it("registers Node's default metrics only when started (the agent: once its first routes are in), once", async () => {
    const m = new AgentMetrics();
    const names = () => m.registry.getMetricsAsArray().map((x) => x.name);
    expect(names()).toContain('margay_int_dataplane_apply_time_seconds');
    expect(names()).not.toContain('margay_process_cpu_user_seconds_total');
    m.startDefaultMetrics();
    m.startDefaultMetrics(); // idempotent: prom-client would throw on a second registration
    expect(names()).toContain('margay_process_cpu_user_seconds_total');
    expect(await m.registry.metrics()).toContain('margay_nodejs_heap_size_total_bytes');
    const off = new AgentMetrics({ defaultMetrics: false });
    off.startDefaultMetrics();
    expect(off.registry.getMetricsAsArray().map((x) => x.name)).not.toContain('margay_process_cpu_user_seconds_total');
  });
});
