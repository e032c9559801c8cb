import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PrefixSyntaxError } from './errors.js';
import {
  encodePrefixes,
  forEachNlri,
  ipv6ToString,
  nlriListToStrings,
  parseAddress,
  parsePrefix,
  scanNlri,
} from './prefix.js';
import { hexOf } from './test-helpers.js';

describe('prefix text', () => {
  it.each([
    ['10.0.0.0/24', '180a0000'],
    ['0.0.0.0/0', '00'],
    ['192.168.1.1/32', '20c0a80101'],
    ['10.1.0.0/17', '110a0100'],
  ])('encodes %s as %s', (t, h) => {
    expect(hexOf(encodePrefixes([t]))).toBe(h);
    expect(nlriListToStrings(scanNlri(encodePrefixes([t]), 0, h.length / 2, 1, 1, false)!)).toEqual([t]);
  });
  it('clears host bits on parse', () => {
    expect(hexOf(parsePrefix('10.1.2.3/8')!.address)).toBe('0a000000');
    expect(hexOf(parsePrefix('2001:db8::ffff/32')!.address)).toBe('20010db8' + '0'.repeat(24));
  });
  it.each(['2001:db8::/32', '::/0', '::1/128', 'fe80::1:2/64', '2001:db8:0:1:1:1:1:1/128', '::ffff:10.0.0.0/104'])(
    'parses and prints %s',
    (t) => {
      const p = parsePrefix(t)!;
      expect(p.afi).toBe(2);
      const wire = encodePrefixes([t]);
      const back = nlriListToStrings(scanNlri(wire, 0, wire.length, 2, 1, false)!)[0]!;
      expect(parsePrefix(back)).toEqual(p);
    },
  );
  it.each([
    '10.0.0.0',
    '10.0.0.0/33',
    '1.2.3/8',
    '256.0.0.0/8',
    '2001:db8::/129',
    '1::2::3/64',
    'x/1',
    '10.0.0.0/-1',
    '1:2:3:4:5:6:7:8:9/128',
  ])('rejects %s', (t) => {
    expect(parsePrefix(t)).toBeUndefined();
  });
  it('encodePrefixes throws a typed error on bad text', () => {
    expect(() => encodePrefixes(['nope'])).toThrow(PrefixSyntaxError);
  });
  it('prints IPv6 with the longest zero run compressed', () => {
    expect(ipv6ToString(parseAddress('2001:0:0:1:0:0:0:1')!)).toBe('2001:0:0:1::1');
    expect(ipv6ToString(parseAddress('1:0:2:3:4:5:6:7')!)).toBe('1:0:2:3:4:5:6:7');
  });
});

describe('prefix round trips (fast-check)', () => {
  const v4 = fc.tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 32 }));
  it('IPv4 prefixes survive text → wire → forEachNlri → text', () => {
    fc.assert(
      fc.property(fc.array(v4, { maxLength: 50 }), fc.boolean(), (ps, addPath) => {
        const texts = ps
          .map(([a, l]) => parsePrefix(`${a.join('.')}/${l}`)!)
          .map((p) => `${[...p.address].join('.')}/${p.length}`);
        const ids = addPath ? texts.map((_, i) => i * 7919) : undefined;
        const wire = encodePrefixes(texts, ids);
        const list = scanNlri(wire, 0, wire.length, 1, 1, addPath)!;
        expect(list.count).toBe(texts.length);
        const seen: string[] = [];
        const seenIds: number[] = [];
        forEachNlri(list, (id, len, buf, off) => {
          seenIds.push(id);
          seen.push(`${[0, 1, 2, 3].map((i) => (i < (len + 7) >> 3 ? buf[off + i] : 0)).join('.')}/${len}`);
        });
        expect(seen).toEqual(texts);
        if (ids) expect(seenIds).toEqual(ids);
      }),
    );
  });
  it('IPv6 addresses survive bytes → text → bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (a) => {
        expect(parseAddress(ipv6ToString(a))).toEqual(Buffer.from(a));
      }),
    );
  });
  it('scanNlri never accepts a block that does not end on a prefix boundary', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.boolean(), fc.boolean(), (bytes, v6, addPath) => {
        const b = Buffer.from(bytes);
        const list = scanNlri(b, 0, b.length, v6 ? 2 : 1, 1, addPath);
        if (list === undefined) return;
        let n = 0;
        let last = 0;
        forEachNlri(list, (_id, len, _buf, off) => {
          n++;
          expect(len).toBeLessThanOrEqual(v6 ? 128 : 32);
          last = off + ((len + 7) >> 3);
        });
        expect(n).toBe(list.count);
        if (n > 0) expect(last).toBe(b.length);
      }),
    );
  });
});
