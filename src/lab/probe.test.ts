import { describe, expect, it } from 'vitest';
import { matrixAsExpected } from './lab-report.js';
import type { ProbeTarget } from './labnet.js';
import { askWithRetries, formatMatrix, verdict, type Matrix, type ProbeEndpoint } from './probe.js';

const pod = (label: string, node: string, ip: string): ProbeEndpoint => ({
  label,
  kind: 'pod',
  node,
  ips: [ip],
  agent: { socket: '/x/node.sock', label },
});
const P1 = pod('pod-1-1', 'node-1', '10.244.1.1');
const P2 = pod('pod-2-1', 'node-2', '10.244.2.1');
const N1: ProbeEndpoint = {
  label: 'node-1',
  kind: 'node',
  node: 'node-1',
  ips: ['10.99.0.11'],
  agent: { socket: '/x/node-1.sock', label: 'node-1' },
};
const OUT: ProbeEndpoint = {
  label: 'outside',
  kind: 'outside',
  ips: ['198.18.0.2'],
  agent: { socket: '/x/outside.sock', label: 'outside' },
};
const r = (ip: string, proto: 'tcp' | 'udp', seen?: string) => ({
  ip,
  proto,
  ok: seen !== undefined,
  ms: 1,
  ...(seen ? { seen } : { error: 'timeout' }),
});

describe('reachability verdicts', () => {
  it("ok only when both protocols reached and the receiver saw the sender's own address", () => {
    expect(verdict(P1, [r('10.244.2.1', 'tcp', '10.244.1.1'), r('10.244.2.1', 'udp', '10.244.1.1')])).toBe('ok');
    expect(verdict(P1, [r('198.18.0.2', 'tcp', '10.99.0.11'), r('198.18.0.2', 'udp', '10.99.0.11')])).toBe('nat');
    expect(verdict(P1, [r('10.244.2.1', 'tcp', '10.244.1.1'), r('10.244.2.1', 'udp')])).toBe('partial');
    expect(verdict(P1, [r('10.244.2.1', 'tcp'), r('10.244.2.1', 'udp')])).toBe('fail');
    expect(verdict(P1, [])).toBe('fail');
  });

  it('the Kubernetes model: pods reach pods without NAT, the outside only through NAT', () => {
    const cells = (p2out: 'nat' | 'ok', p1p2: 'ok' | 'nat'): Matrix => ({
      sources: [P1, P2, N1],
      destinations: [P1, P2, OUT],
      cells: [
        { from: 'pod-1-1', to: 'pod-1-1', verdict: 'self', results: [] },
        { from: 'pod-1-1', to: 'pod-2-1', verdict: p1p2, results: [] },
        { from: 'pod-1-1', to: 'outside', verdict: 'nat', results: [] },
        { from: 'pod-2-1', to: 'pod-1-1', verdict: 'ok', results: [] },
        { from: 'pod-2-1', to: 'pod-2-1', verdict: 'self', results: [] },
        { from: 'pod-2-1', to: 'outside', verdict: p2out, results: [] },
        { from: 'node-1', to: 'pod-1-1', verdict: 'ok', results: [] },
        { from: 'node-1', to: 'pod-2-1', verdict: 'nat', results: [] },
        { from: 'node-1', to: 'outside', verdict: 'ok', results: [] },
      ],
    });
    expect(matrixAsExpected(cells('nat', 'ok'))).toBe(true);
    expect(matrixAsExpected(cells('ok', 'ok'))).toBe(false); // a pod reached the outside untranslated
    expect(matrixAsExpected(cells('nat', 'nat'))).toBe(false); // pod-to-pod was translated
    const text = formatMatrix(cells('nat', 'ok'));
    expect(text.split('\n')[0]).toMatch(/^from \\ to\s+pod-1-1\s+pod-2-1\s+outside$/);
    expect(text).toMatch(/^pod-1-1\s+-\s+ok\s+NAT$/m);
  });
});

describe('probes that fail are asked again', () => {
  const T: ProbeTarget[] = [
    { ip: '10.244.2.1', proto: 'tcp' },
    { ip: '10.244.2.1', proto: 'udp' },
    { ip: '10.244.3.1', proto: 'tcp' },
  ];
  it('only the failed ones, with twice the timeout; a later success replaces the failure', async () => {
    const calls: { targets: string[]; timeoutMs: number }[] = [];
    const reachable = new Set(['10.244.2.1 tcp']);
    const ask = async (_a: unknown, targets: readonly ProbeTarget[], timeoutMs: number) => {
      calls.push({ targets: targets.map((t) => `${t.ip} ${t.proto}`), timeoutMs });
      const res = targets.map((t) => r(t.ip, t.proto, reachable.has(`${t.ip} ${t.proto}`) ? '10.244.1.1' : undefined));
      reachable.add('10.244.2.1 udp'); // answers from the second attempt on (a stalled moment)
      return res;
    };
    const out = await askWithRetries(P1.agent, T, 1500, 2, ask);
    expect(calls).toEqual([
      { targets: ['10.244.2.1 tcp', '10.244.2.1 udp', '10.244.3.1 tcp'], timeoutMs: 1500 },
      { targets: ['10.244.2.1 udp', '10.244.3.1 tcp'], timeoutMs: 3000 },
      { targets: ['10.244.3.1 tcp'], timeoutMs: 3000 },
    ]);
    expect(out.map((x) => [x.ip, x.proto, x.ok])).toEqual([
      ['10.244.2.1', 'tcp', true],
      ['10.244.2.1', 'udp', true],
      ['10.244.3.1', 'tcp', false],
    ]);
  });
  it('no retry when everything answered, none when retries is 0', async () => {
    let n = 0;
    const ask = async (_a: unknown, targets: readonly ProbeTarget[]) => {
      n++;
      return targets.map((t) => r(t.ip, t.proto));
    };
    await askWithRetries(P1.agent, T, 1500, 0, ask);
    expect(n).toBe(1);
  });
});
