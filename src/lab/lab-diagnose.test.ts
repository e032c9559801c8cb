import { describe, expect, it } from 'vitest';
import { failingPods, iptablesLinesFor, warnLines } from './lab-diagnose.js';
import type { Matrix, MatrixCell, ProbeEndpoint } from './probe.js';

const pod = (label: string): ProbeEndpoint => ({
  label,
  kind: 'pod',
  node: 'node-1',
  ips: [],
  agent: { socket: '/x', label },
});

describe('lab diagnosis', () => {
  it('ranks the pods of failing cells, the one failing in every direction first', () => {
    const eps = ['a', 'b', 'c'].map(pod);
    const cell = (from: string, to: string, ok: boolean): MatrixCell => ({
      from,
      to,
      verdict: from === to ? 'self' : ok ? 'ok' : 'fail',
      results: [],
    });
    const cells = eps.flatMap((s) => eps.map((d) => cell(s.label, d.label, s.label !== 'b' && d.label !== 'b')));
    const m: Matrix = { sources: eps, destinations: eps, cells };
    const bad = new Set(cells.filter((c) => c.verdict === 'fail').map((c) => `${c.from}>${c.to}`));
    expect(failingPods(m, (f, t) => bad.has(`${f}>${t}`))).toEqual([
      { pod: 'b', cells: 4 },
      { pod: 'a', cells: 2 },
      { pod: 'c', cells: 2 },
    ]);
  });

  it('keeps the warn and error records of a pino log, and skips a cut line', () => {
    const log = [
      '{"level":30,"msg":"info"}',
      '{"level":40,"msg":"warn 1"}',
      'l":50,"msg":"cut by the tail"}',
      '{"level":50,"msg":"error"',
      '{"level":50,"msg":"error 2"}',
      'plain text',
    ].join('\n');
    expect(warnLines(log, 10)).toEqual(['{"level":40,"msg":"warn 1"}', '{"level":50,"msg":"error 2"}']);
    expect(warnLines(log, 1)).toEqual(['{"level":50,"msg":"error 2"}']);
  });

  it('picks the iptables lines of one interface, the dispatch chains and the hooks', () => {
    const save = [
      '*filter',
      ':FORWARD ACCEPT [0:0]',
      ':mgy-fw-mgyaaaaaaaaaaa - [0:0]',
      '[5:300] -A FORWARD -m comment --comment "mgy:x" -j mgy-FORWARD',
      '[1:60] -A mgy-from-wl-dispatch -i mgybbbbbbbbbbb -g mgy-fw-mgybbbbbbbbbbb',
      '[9:540] -A mgy-from-wl-dispatch -j DROP',
      '[2:120] -A mgy-fw-mgyaaaaaaaaaaa -j ACCEPT',
      '[0:0] -A mgy-fw-mgybbbbbbbbbbb -j ACCEPT',
      'COMMIT',
    ].join('\n');
    expect(iptablesLinesFor(save, 'mgyaaaaaaaaaaa')).toEqual([
      '*filter',
      ':FORWARD ACCEPT [0:0]',
      ':mgy-fw-mgyaaaaaaaaaaa - [0:0]',
      '[5:300] -A FORWARD -m comment --comment "mgy:x" -j mgy-FORWARD',
      '[1:60] -A mgy-from-wl-dispatch -i mgybbbbbbbbbbb -g mgy-fw-mgybbbbbbbbbbb',
      '[9:540] -A mgy-from-wl-dispatch -j DROP',
      '[2:120] -A mgy-fw-mgyaaaaaaaaaaa -j ACCEPT',
    ]);
  });
});
