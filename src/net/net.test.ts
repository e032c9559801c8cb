import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addressesIn,
  addressFromBytes,
  addressFromWords,
  addressToBytes,
  addressToWords,
  firstAddress,
  formatAddress,
  formatIpv6Bytes,
  formatIpv6Words,
  formatPrefix,
  lastAddress,
  parseAddress,
  parsePrefix,
  prefixContains,
  prefixContainsAddress,
  prefixesOverlap,
  prefixSize,
  PrefixSyntaxError,
  subPrefixes,
  tryParseAddress,
  tryParsePrefix,
  unmapIpv4,
  type IpAddress,
  type Prefix,
} from './index.js';

const v4 = fc.bigInt({ min: 0n, max: 2n ** 32n - 1n }).map((value): IpAddress => ({ family: 'ipv4', value }));
const v6 = fc.bigInt({ min: 0n, max: 2n ** 128n - 1n }).map((value): IpAddress => ({ family: 'ipv6', value }));
/** IPv6 values with long zero runs, where '::' placement matters. */
const v6sparse = fc
  .array(fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 })
  .map((g): IpAddress => ({ family: 'ipv6', value: g.reduce((v, w) => (v << 16n) | BigInt(w), 0n) }));
const addr = fc.oneof(v4, v6, v6sparse);
const prefix = addr.chain((a) =>
  fc.integer({ min: 0, max: a.family === 'ipv4' ? 32 : 128 }).map((len) => parsePrefix(`${formatAddress(a)}/${len}`)),
);

/** WHATWG URL's IPv6 serializer is RFC 5952 too: an independent oracle for formatting. */
const oracle6 = (text: string): string => new URL(`http://[${text}]/`).hostname.slice(1, -1);

describe('src/net addresses', () => {
  it('round-trips text ⇄ value for every address, matching Node and WHATWG canonical text', () => {
    fc.assert(
      fc.property(addr, (a) => {
        const text = formatAddress(a);
        expect(parseAddress(text)).toEqual(a);
        expect(isIP(text)).toBe(a.family === 'ipv4' ? 4 : 6);
        if (a.family === 'ipv6') expect(text).toBe(oracle6(text));
      }),
    );
  });

  it('round-trips bytes and words', () => {
    fc.assert(
      fc.property(addr, (a) => {
        expect(addressFromBytes(addressToBytes(a), a.family)).toEqual(a);
        expect(addressFromWords(addressToWords(a), a.family)).toEqual(a);
        if (a.family === 'ipv6') {
          expect(formatIpv6Words(addressToWords(a))).toBe(formatAddress(a));
          expect(formatIpv6Bytes(addressToBytes(a))).toBe(formatAddress(a));
        }
      }),
    );
  });

  it('accepts the usual spellings and canonicalises them', () => {
    expect(formatAddress(parseAddress('FD00:0:0::1'))).toBe('fd00::1');
    expect(formatAddress(parseAddress('::ffff:10.0.0.2'))).toBe('::ffff:a00:2');
    expect(formatAddress(unmapIpv4(parseAddress('::ffff:10.0.0.2')))).toBe('10.0.0.2');
    expect(formatAddress(parseAddress('1:0:0:1:0:0:0:1'))).toBe('1:0:0:1::1');
    expect(formatAddress(parseAddress('1:0:0:2:0:0:3:4'))).toBe('1::2:0:0:3:4');
    expect(formatAddress(parseAddress('::'))).toBe('::');
  });

  it('rejects malformed text with a typed error naming the problem', () => {
    for (const bad of [
      '',
      'x',
      '1.2.3',
      '01.2.3.4',
      '1.2.3.256',
      '10.0.0.1/8',
      'fe80::1%eth0',
      '1::2::3',
      '1:2:3:4:5:6:7:8:9',
      ':::',
      ' 10.0.0.1',
      '[::1]',
      '1:2:3:4:5:6:7::8:9',
      '12345::',
      '::1.2.3',
    ]) {
      expect(tryParseAddress(bad), bad).toBeUndefined();
      expect(() => parseAddress(bad)).toThrow(PrefixSyntaxError);
    }
    try {
      parseAddress('1.2.3.999');
    } catch (err) {
      expect(err).toMatchObject({ code: 'MGY_PREFIX_SYNTAX', text: '1.2.3.999', reason: 'octet 999 out of range' });
    }
  });

  it('agrees with Node on what is an address (random text)', () => {
    const chars = fc.constantFrom(...'0123456789abcdef:.'.split(''));
    fc.assert(
      fc.property(
        fc.array(chars, { maxLength: 40 }).map((a) => a.join('')),
        (s) => {
          expect(tryParseAddress(s) !== undefined, s).toBe(isIP(s) !== 0);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('src/net prefixes', () => {
  it('clears host bits and reports them', () => {
    const p = parsePrefix('10.0.0.5/24');
    expect(formatPrefix(p)).toBe('10.0.0.0/24');
    expect(p.hostBits).toBe(true);
    expect(formatAddress(p.address)).toBe('10.0.0.5');
    expect(parsePrefix('FD00::/64').hostBits).toBe(false);
    expect(formatPrefix(parsePrefix('fd00::1', { allowBareAddress: true }))).toBe('fd00::1/128');
    for (const bad of [
      '10.0.0.0',
      '10.0.0.0/33',
      '10.0.0.0/08',
      '10.0.0.0/',
      'fd00::/129',
      '10.0.0.0/8 ',
      'a/8',
      '/8',
    ]) {
      expect(tryParsePrefix(bad), bad).toBeUndefined();
      expect(() => parsePrefix(bad)).toThrow(PrefixSyntaxError);
    }
  });

  it('first/last/size/contains agree for every prefix', () => {
    fc.assert(
      fc.property(prefix, addr, (p, a) => {
        const first = firstAddress(p);
        const last = lastAddress(p);
        expect(last.value - first.value + 1n).toBe(prefixSize(p));
        expect(prefixContainsAddress(p, first) && prefixContainsAddress(p, last)).toBe(true);
        const inside = a.family === p.family && a.value >= first.value && a.value <= last.value;
        expect(prefixContainsAddress(p, a)).toBe(inside);
        expect(parsePrefix(formatPrefix(p))).toMatchObject({ family: p.family, network: p.network, length: p.length });
      }),
    );
  });

  it('containment and overlap follow the address ranges', () => {
    const range = (p: Prefix): [bigint, bigint] => [firstAddress(p).value, lastAddress(p).value];
    fc.assert(
      fc.property(prefix, prefix, (a, b) => {
        const [a0, a1] = range(a);
        const [b0, b1] = range(b);
        const same = a.family === b.family;
        expect(prefixContains(a, b)).toBe(same && b0 >= a0 && b1 <= a1);
        expect(prefixesOverlap(a, b)).toBe(same && a0 <= b1 && b0 <= a1);
      }),
    );
  });

  it('iterates a block and its sub-blocks', () => {
    const p = parsePrefix('192.168.5.0/30');
    expect([...addressesIn(p)].map(formatAddress)).toEqual([
      '192.168.5.0',
      '192.168.5.1',
      '192.168.5.2',
      '192.168.5.3',
    ]);
    expect([...subPrefixes(parsePrefix('10.0.0.0/24'), 26)].map(formatPrefix)).toEqual([
      '10.0.0.0/26',
      '10.0.0.64/26',
      '10.0.0.128/26',
      '10.0.0.192/26',
    ]);
    const it6 = addressesIn(parsePrefix('fd00::/64'));
    expect([it6.next().value, it6.next().value].map((a) => formatAddress(a!))).toEqual(['fd00::', 'fd00::1']);
    expect(() => [...subPrefixes(p, 29)]).toThrow(PrefixSyntaxError);
  });
});
