import { describe, expect, it } from 'vitest';
import * as fc from 'fast-check';
import { formatIpv6, formatPrefix, parseIpv6, parsePrefix, PrefixSyntaxError } from './prefix.js';
import { IntQueue, PrefixTable } from './prefix-table.js';

describe('PrefixTable', () => {
  it('behaves like a Map from prefix to a dense index, across growth (IPv4 and IPv6)', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.boolean(), fc.array(fc.nat(), { minLength: 4, maxLength: 4 }), fc.nat(128)), { maxLength: 3000 }), (ops) => {
      const t4 = new PrefixTable(1, 16), t6 = new PrefixTable(4, 16);
      const model = new Map<string, number>();
      for (const [v6, w, l] of ops) {
        const len = v6 ? l : l % 33;
        const words = Uint32Array.from(w.map((x) => x >>> 0));
        const key = `${v6}|${v6 ? [...words].join(',') : words[0]}|${len}`;
        const t = v6 ? t6 : t4;
        const i = v6 ? t.lookup4(words, 0, len, true) : t.intern1(words[0]!, len);
        const prev = model.get(key);
        if (prev === undefined) { expect(i).toBe([...model.keys()].filter((k) => k.startsWith(`${v6}|`)).length); model.set(key, i); }
        else expect(i).toBe(prev);
        expect(v6 ? t.lookup4(words, 0, len, false) : t.find1(words[0]!, len)).toBe(i);
      }
      expect(t4.size + t6.size).toBe(model.size);
    }), { numRuns: 50 });
  });

  it('finds nothing for absent keys', () => {
    const t = new PrefixTable(1);
    t.intern1(0x0a000000, 8);
    expect(t.find1(0x0a000000, 9)).toBe(-1);
    expect(new PrefixTable(4).lookup4([1, 2, 3, 4], 0, 64, false)).toBe(-1);
  });
});

describe('IntQueue', () => {
  it('is FIFO across growth and compaction', () => {
    const q = new IntQueue(), out: number[] = [];
    for (let i = 0; i < 1000; i++) { q.push(i); if (i % 3 === 0) out.push(q.shift()); }
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
    for (const bad of ['10.0.0.0', '10.0.0.256/8', '10.0.0.0/33', '1::2::3/64', 'fe80::/129', 'x/1']) expect(() => parsePrefix(bad)).toThrow(PrefixSyntaxError);
  });
});
