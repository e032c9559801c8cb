import { describe, expect, it } from 'vitest';
import * as fc from 'fast-check';
import { formatIpv6, formatPrefix, parseIpv6, parsePrefix, PrefixSyntaxError } from '../attrs/index.js';
import { IntQueue, PrefixTable, PrefixTableFullError, RESERVE, RESERVE_FROM, growTo } from './prefix-table.js';

describe('PrefixTable', () => {
  it('behaves like a Map from prefix to a dense index, across growth (IPv4 and IPv6)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.array(fc.nat(), { minLength: 4, maxLength: 4 }), fc.nat(128)), {
          maxLength: 3000,
        }),
        (ops) => {
          const t4 = new PrefixTable(1, 16),
            t6 = new PrefixTable(4, 16);
          const model = new Map<string, number>();
          for (const [v6, w, l] of ops) {
            const len = v6 ? l : l % 33;
            const words = Uint32Array.from(w.map((x) => x >>> 0));
            const key = `${v6}|${v6 ? [...words].join(',') : words[0]}|${len}`;
            const t = v6 ? t6 : t4;
            const i = v6 ? t.lookup4(words, 0, len, true) : t.intern1(words[0]!, len);
            const prev = model.get(key);
            if (prev === undefined) {
              expect(i).toBe([...model.keys()].filter((k) => k.startsWith(`${v6}|`)).length);
              model.set(key, i);
            } else expect(i).toBe(prev);
            expect(v6 ? t.lookup4(words, 0, len, false) : t.find1(words[0]!, len)).toBe(i);
          }
          expect(t4.size + t6.size).toBe(model.size);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('removes entries and reuses their indices, staying a Map under random insert/remove (IPv4 and IPv6)', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.array(fc.tuple(fc.boolean(), fc.nat(63), fc.nat(3)), { maxLength: 2000 }),
        (v6, ops) => {
          const t = new PrefixTable(v6 ? 4 : 1, 16);
          const model = new Map<number, number>(); // key number → index
          // Keys sharing the high bits and lengths collide in the locality hash: long probe runs to shift.
          const words = (k: number): Uint32Array => Uint32Array.of(0x0a000000 + (k << 8), 0, k, 0);
          for (const [remove, k, l] of ops) {
            const len = 24 + l,
              w = words(k),
              key = k * 4 + l;
            if (remove) {
              const i = model.get(key);
              if (i === undefined) continue;
              t.remove(i);
              model.delete(key);
            } else {
              const i = v6 ? t.lookup4(w, 0, len, true) : t.intern1(w[0]!, len);
              const prev = model.get(key);
              if (prev !== undefined) expect(i).toBe(prev);
              else {
                expect([...model.values()]).not.toContain(i);
                model.set(key, i);
              }
            }
            expect(t.count).toBe(model.size);
          }
          for (let k = 0; k < 64; k++)
            for (let l = 0; l < 4; l++) {
              const w = words(k);
              const got = v6 ? t.lookup4(w, 0, 24 + l, false) : t.find1(w[0]!, 24 + l);
              expect(got).toBe(model.get(k * 4 + l) ?? -1);
            }
          // Reuse: the high-water mark never exceeds the most entries ever live at once.
          expect(t.size).toBeLessThanOrEqual(Math.max(model.size, ops.length));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('does not grow under churn: insert N, remove all, insert N others', () => {
    const t = new PrefixTable(1, 16);
    const ids: number[] = [];
    for (let i = 0; i < 5000; i++) ids.push(t.intern1((0x0b000000 + i * 256) >>> 0, 24));
    const cap = t.capacity,
      bytes = t.bytes;
    for (const i of ids) t.remove(i);
    expect(t.count).toBe(0);
    for (let i = 0; i < 5000; i++) expect(t.intern1((0x0c000000 + i * 256) >>> 0, 24)).toBeLessThan(5000);
    expect(t.capacity).toBe(cap);
    expect(t.bytes).toBe(bytes);
    for (let i = 0; i < 5000; i++) expect(t.find1((0x0b000000 + i * 256) >>> 0, 24)).toBe(-1);
  });

  it('keeps working through many churn cycles on a full table (tombstones reused and rehashed away)', () => {
    for (const words of [1, 4] as const) {
      const t = new PrefixTable(words, 64);
      const key = (c: number, i: number) => Uint32Array.of((c * 1000 + i * 7) >>> 0, c, i, 0);
      let prev: number[] = [];
      for (let c = 0; c < 60; c++) {
        const ids = Array.from({ length: 64 }, (_, i) => {
          const w = key(c, i);
          return words === 1 ? t.intern1(w[0]!, 32) : t.lookup4(w, 0, 128, true);
        });
        expect(new Set(ids).size).toBe(64);
        for (let i = 0; i < 64; i++) {
          const w = key(c, i);
          expect(words === 1 ? t.find1(w[0]!, 32) : t.lookup4(w, 0, 128, false)).toBe(ids[i]);
        }
        for (const i of prev) t.remove(i);
        prev = ids;
        expect(t.count).toBe(64);
        expect(t.capacity).toBe(c === 0 ? 64 : 128); // grew once (64 + 64 live); never again
      }
    }
  });

  it('refuses a 2^25th prefix in one family (slot words hold 25 index bits) with a typed error', () => {
    const t = new PrefixTable(1, 16);
    t.size = 1 << 25; // as if full: the next new index would not fit
    expect(() => t.intern1(0x0a000000, 8)).toThrow(PrefixTableFullError);
  });

  it('finds nothing for absent keys', () => {
    const t = new PrefixTable(1);
    t.intern1(0x0a000000, 8);
    expect(t.find1(0x0a000000, 9)).toBe(-1);
    expect(new PrefixTable(4).lookup4([1, 2, 3, 4], 0, 64, false)).toBe(-1);
  });
});

describe('growTo', () => {
  it('doubles small arrays, reserves 4M elements once past 2048 (contents kept), never reserves when filling', () => {
    const a = Int32Array.from({ length: 1_000 }, (_, i) => i);
    const b = growTo(a, 1_001);
    expect(b.length).toBe(2_000);
    expect(RESERVE_FROM).toBe(2048);
    const c = growTo(b, 2_001);
    expect(c.length).toBe(RESERVE);
    expect(c.length).toBe(1 << 22);
    expect(c[999]).toBe(999);
    expect(c[2_000]).toBe(0);
    expect(growTo(c, 100)).toBe(c);
    expect(growTo(b, 2_001, -1).length).toBe(4_000);
    expect(growTo(c, (1 << 22) + 1).length).toBe(1 << 23); // past the reserve: doubling again
  });
});

describe('IntQueue', () => {
  it('is FIFO across growth and compaction', () => {
    const q = new IntQueue(),
      out: number[] = [];
    for (let i = 0; i < 1000; i++) {
      q.push(i);
      if (i % 3 === 0) out.push(q.shift());
    }
    while (q.length > 0) out.push(q.shift());
    expect(out).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });
});

describe('prefix text', () => {
  it('parses and formats IPv4 and IPv6 (RFC 5952), clearing host bits', () => {
    expect(formatPrefix('ipv4', parsePrefix('10.1.2.3/16').words, 16)).toBe('10.1.0.0/16');
    expect(formatIpv6(parseIpv6('2001:db8:0:0:1:0:0:1'))).toBe('2001:db8::1:0:0:1');
    expect(formatIpv6(parseIpv6('::'))).toBe('::');
    expect(formatIpv6(parseIpv6('::ffff:10.0.0.1'))).toBe('::ffff:a00:1');
    expect(formatPrefix('ipv6', parsePrefix('2001:db8:ffff::/33').words, 33)).toBe('2001:db8:8000::/33');
    for (const bad of ['10.0.0.0', '10.0.0.256/8', '10.0.0.0/33', '1::2::3/64', 'fe80::/129', 'x/1'])
      expect(() => parsePrefix(bad)).toThrow(PrefixSyntaxError);
  });
});
