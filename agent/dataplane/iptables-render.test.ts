import { describe, expect, it } from 'vitest';
import { hashRules, renderChainEdit } from './iptables-render.js';

const rules = (chain: string, n: number, start = 0) =>
  hashRules(
    chain,
    Array.from({ length: n }, (_, i) => ['-i', `mgy${start + i}`, '-j', 'ACCEPT']),
  );

describe('iptables rule hashes and chain edits', () => {
  it('hashes do not depend on position; identical rules differ by occurrence', () => {
    const a = hashRules('mgy-x', [
      ['-j', 'A'],
      ['-j', 'B'],
    ]);
    const b = hashRules('mgy-x', [['-j', 'B']]);
    expect(a[1]!.hash).toBe(b[0]!.hash);
    const dup = hashRules('mgy-x', [
      ['-j', 'A'],
      ['-j', 'A'],
    ]);
    expect(dup[0]!.hash).not.toBe(dup[1]!.hash);
    expect(hashRules('mgy-y', [['-j', 'A']])[0]!.hash).not.toBe(a[0]!.hash);
  });

  it('a new chain is declared and written whole', () => {
    const e = renderChainEdit('mgy-x', undefined, rules('mgy-x', 2));
    expect(e.decls).toEqual([':mgy-x - [0:0]']);
    expect(e.body).toHaveLength(2);
    expect(e.body[0]).toMatch(/^-A mgy-x -m comment --comment mgy:\S{16} -i mgy0 -j ACCEPT$/);
  });

  it('one rule inserted into a long chain is one line, whatever the chain length', () => {
    for (const n of [10, 250]) {
      const have = rules('mgy-d', n).map((r) => r.hash);
      const want = [
        ...rules('mgy-d', 5),
        ...hashRules('mgy-d', [['-i', 'new', '-j', 'ACCEPT']]),
        ...rules('mgy-d', n - 5, 5),
      ];
      const e = renderChainEdit('mgy-d', have, want);
      expect(e).toEqual({
        decls: [],
        body: [expect.stringMatching(/^-I mgy-d 6 -m comment --comment mgy:\S+ -i new -j ACCEPT$/)],
      });
    }
  });

  it('deletes by position from the end, and drops rules without our comment', () => {
    const r = rules('mgy-d', 4);
    const e = renderChainEdit('mgy-d', [r[0]!.hash, '', r[1]!.hash, r[2]!.hash, r[3]!.hash], [r[0]!, r[3]!]);
    expect(e.body).toEqual(['-D mgy-d 4', '-D mgy-d 3', '-D mgy-d 2']);
  });

  it('rewrites the chain when kept rules are out of order', () => {
    const r = rules('mgy-d', 3);
    const e = renderChainEdit('mgy-d', [r[2]!.hash, r[0]!.hash, r[1]!.hash], r);
    expect(e.decls).toEqual([':mgy-d - [0:0]']);
    expect(e.body).toHaveLength(3);
  });
});
