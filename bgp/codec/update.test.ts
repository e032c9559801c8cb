import { describe, expect, it } from 'vitest';
import { encodePathAttributes } from './attributes-encode.js';
import { FAMILY } from './constants.js';
import { decodeMessage, decodeOptions } from './message.js';
import { forEachNlri, nlriListToStrings, parsePrefix } from './prefix.js';
import { fromHex, hexOf, MARKER } from './test-helpers.js';
import type { PathAttributes, PrefixBatch, UpdateMessage } from './types.js';
import { encodeEndOfRib, packUpdates, packWithdrawals } from './update-packer.js';

const OPTS = decodeOptions({ localAs: 65000, peerAs: 65001 });
const ENC = { fourOctetAs: true, extendedMessages: false } as const;
const decode = (b: Buffer, o = OPTS): UpdateMessage => decodeMessage(b, o) as UpdateMessage;

export function batch(texts: readonly string[], pathIds?: readonly number[]): PrefixBatch {
  const ps = texts.map((t) => parsePrefix(t)!);
  const afi = ps[0]?.afi ?? 1;
  const stride = afi === 2 ? 16 : 4;
  const addresses = new Uint8Array(ps.length * stride);
  ps.forEach((p, i) => addresses.set(p.address, i * stride));
  return {
    afi,
    count: ps.length,
    lengths: Uint8Array.from(ps.map((p) => p.length)),
    addresses,
    pathIds: pathIds ? Uint32Array.from(pathIds) : undefined,
  };
}

/** ORIGIN IGP, AS_PATH 65001 (4-octet), NEXT_HOP 192.0.2.1, NLRI 10.0.0.0/24 and 10.1.2.3/32. */
const GOLDEN_UPDATE = fromHex(`${MARKER} 0034 02 0000 0014
  40 01 01 00
  40 02 06 02 01 0000fde9
  40 03 04 c0000201
  18 0a0000  20 0a010203`);
const BASE: PathAttributes = { origin: 0, asPath: [{ type: 2, asns: [65001] }], nextHop: '192.0.2.1' };

describe('UPDATE golden bytes', () => {
  it('packUpdates produces the golden message', () => {
    const msgs = packUpdates({
      attributes: encodePathAttributes(BASE, ENC),
      prefixes: batch(['10.0.0.0/24', '10.1.2.3/32']),
      addPath: false,
      maxMessageLength: 4096,
    });
    expect(msgs.map(hexOf)).toEqual([hexOf(GOLDEN_UPDATE)]);
  });
  it('decodes the golden message', () => {
    const u = decode(GOLDEN_UPDATE);
    expect(u.attributes).toEqual(BASE);
    expect(nlriListToStrings(u.nlri)).toEqual(['10.0.0.0/24', '10.1.2.3/32']);
    expect([u.withdrawn.count, u.action, u.problems, u.endOfRib]).toEqual([0, 'none', [], undefined]);
    expect(u.attributeKey).toEqual(GOLDEN_UPDATE.subarray(23, 43));
    expect(u.nlri.buf.buffer).toBe(GOLDEN_UPDATE.buffer); // zero-copy
  });
  it('clears host bits when packing', () => {
    const b = batch(['10.0.0.0/24']);
    b.addresses[3] = 77;
    const [m] = packUpdates({
      attributes: encodePathAttributes(BASE, ENC),
      prefixes: b,
      addPath: false,
      maxMessageLength: 4096,
    });
    expect(nlriListToStrings(decode(m!).nlri)).toEqual(['10.0.0.0/24']);
  });
});

describe('UPDATE packing', () => {
  const many = Array.from({ length: 3000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
  it.each([4096, 65535])('fills messages up to %i bytes and loses nothing', (max) => {
    const attrs = encodePathAttributes(BASE, ENC);
    const msgs = packUpdates({ attributes: attrs, prefixes: batch(many), addPath: false, maxMessageLength: max });
    const got: string[] = [];
    for (const m of msgs) {
      expect(m.length).toBeLessThanOrEqual(max);
      got.push(...nlriListToStrings(decode(m, decodeOptions({ extendedMessages: max > 4096 })).nlri));
    }
    expect(got).toEqual(many);
    for (const m of msgs.slice(0, -1)) expect(m.length).toBeGreaterThan(max - 4); // a /24 is 4 bytes
    expect(msgs.length).toBe(Math.ceil((many.length * 4) / Math.floor((max - 23 - attrs.length) / 4) / 4));
  });
  it('packs IPv6 into MP_REACH_NLRI with a 32-byte next hop', () => {
    const nh = Buffer.concat([parsePrefix('2001:db8::1/128')!.address, parsePrefix('fe80::1/128')!.address]);
    const v6 = ['2001:db8:1::/48', '2001:db8:2::/64', '::/0', '2001:db8::1/128'];
    const [m] = packUpdates({
      attributes: encodePathAttributes({ origin: 2, asPath: [] }, ENC),
      prefixes: batch(v6),
      nextHop: nh,
      addPath: false,
      maxMessageLength: 4096,
    });
    const u = decode(m!);
    expect(u.attributes.mpReach!.nextHop).toEqual(nh);
    expect(nlriListToStrings(u.attributes.mpReach!.nlri)).toEqual(v6);
    expect(u.attributes.origin).toBe(2);
    expect(u.action).toBe('none');
    expect(u.attributeKey.subarray(-36)).toEqual(Buffer.concat([fromHex('00020120'), nh]));
  });
  it('packs IPv4 with an IPv6 next hop (RFC 8950)', () => {
    const nh = parsePrefix('2001:db8::1/128')!.address;
    const [m] = packUpdates({
      attributes: encodePathAttributes({ origin: 0, asPath: [] }, ENC),
      prefixes: batch(['192.168.0.0/16']),
      nextHop: nh,
      addPath: false,
      maxMessageLength: 4096,
    });
    const u = decode(m!);
    expect([u.attributes.mpReach!.afi, u.attributes.mpReach!.nextHop.length, u.nlri.count]).toEqual([1, 16, 0]);
    expect(nlriListToStrings(u.attributes.mpReach!.nlri)).toEqual(['192.168.0.0/16']);
  });
  it('writes and reads ADD-PATH path ids', () => {
    const [m] = packUpdates({
      attributes: encodePathAttributes(BASE, ENC),
      prefixes: batch(['10.0.0.0/8', '10.0.0.0/8'], [1, 4000000000]),
      addPath: true,
      maxMessageLength: 4096,
    });
    const u = decode(m!, decodeOptions({ addPathReceive: new Set([FAMILY.IPV4_UNICAST]) }));
    const seen: [number, number][] = [];
    forEachNlri(u.nlri, (id, len) => seen.push([id, len]));
    expect(seen).toEqual([
      [1, 8],
      [4000000000, 8],
    ]);
  });
  it('packs withdrawals in the classic field and in MP_UNREACH_NLRI', () => {
    const [w4] = packWithdrawals({
      prefixes: batch(['10.0.0.0/24', '0.0.0.0/0']),
      addPath: false,
      maxMessageLength: 4096,
    });
    const u4 = decode(w4!);
    expect(nlriListToStrings(u4.withdrawn)).toEqual(['10.0.0.0/24', '0.0.0.0/0']);
    expect(hexOf(w4!)).toBe(`${MARKER}001c02000518 0a000000 0000`.replace(/ /g, ''));
    const [w6] = packWithdrawals({ prefixes: batch(['2001:db8::/32']), addPath: false, maxMessageLength: 4096 });
    const u6 = decode(w6!);
    expect(nlriListToStrings(u6.attributes.mpUnreach!.withdrawn)).toEqual(['2001:db8::/32']);
    expect(u6.endOfRib).toBeUndefined();
    const many = Array.from({ length: 2000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
    const ws = packWithdrawals({ prefixes: batch(many), addPath: false, maxMessageLength: 4096 });
    expect(ws.flatMap((m) => nlriListToStrings(decode(m).withdrawn))).toEqual(many);
  });
  it('packs a range of a batch', () => {
    const ms = packUpdates({
      attributes: encodePathAttributes(BASE, ENC),
      prefixes: batch(['1.0.0.0/8', '2.0.0.0/8', '3.0.0.0/8']),
      from: 1,
      to: 2,
      addPath: false,
      maxMessageLength: 4096,
    });
    expect(ms.flatMap((m) => nlriListToStrings(decode(m).nlri))).toEqual(['2.0.0.0/8']);
  });
});

describe('End-of-RIB', () => {
  it('IPv4 unicast: the empty UPDATE', () => {
    const b = encodeEndOfRib(FAMILY.IPV4_UNICAST);
    expect(hexOf(b)).toBe(`${MARKER}00170200000000`.replace(/ /g, ''));
    expect(decode(b).endOfRib).toBe(FAMILY.IPV4_UNICAST);
  });
  it('IPv6 unicast: an empty MP_UNREACH_NLRI', () => {
    const b = encodeEndOfRib(FAMILY.IPV6_UNICAST);
    expect(hexOf(b)).toBe(`${MARKER}001d0200000006800f03000201`);
    expect(decode(b).endOfRib).toBe(FAMILY.IPV6_UNICAST);
  });
  it('an UPDATE with other attributes is not End-of-RIB', () => {
    expect(decode(GOLDEN_UPDATE).endOfRib).toBeUndefined();
  });
});

describe('RFC 6793 toward and from 2-octet speakers', () => {
  const OLD = decodeOptions({ fourOctetAs: false });
  const attrs: PathAttributes = {
    origin: 0,
    asPath: [
      { type: 2, asns: [65001, 4200000001, 64512] },
      { type: 1, asns: [4200000002, 1] },
    ],
    nextHop: '192.0.2.1',
    aggregator: { asn: 4200000009, address: '192.0.2.9' },
  };
  it('encodes AS_TRANS plus AS4_PATH/AS4_AGGREGATOR and the receiver merges them back', () => {
    const enc = encodePathAttributes(attrs, { fourOctetAs: false, extendedMessages: false });
    const [m] = packUpdates({
      attributes: enc,
      prefixes: batch(['10.0.0.0/8']),
      addPath: false,
      maxMessageLength: 4096,
    });
    const u = decode(m!, OLD);
    expect(u.attributes.asPath).toEqual(attrs.asPath);
    expect(u.attributes.aggregator).toEqual(attrs.aggregator);
    expect(u.attributes.unknown).toBeUndefined();
  });
  it('keeps the leading ASes a 2-octet speaker prepended after AS4_PATH was built', () => {
    // AS_PATH: 100 200 23456 ; AS4_PATH: 4200000001 → 100 200 4200000001... n=3, m=1 → keep 2
    const body = fromHex(
      `0000 001f 40 01 01 00  40 02 08 02 03 0064 00c8 5ba0  40 03 04 c0000201  c0 11 06 02 01 fa56ea01 08 0a`,
    );
    const msg = Buffer.concat([fromHex(MARKER), Buffer.from([0, 19 + body.length, 2]), body]);
    expect(decode(msg, OLD).attributes.asPath).toEqual([{ type: 2, asns: [100, 200, 4200000001] }]);
  });
  it('ignores AS4_PATH when AS_PATH is shorter', () => {
    const body = fromHex(
      `0000 001f 40 01 01 00  40 02 04 02 01 5ba0  40 03 04 c0000201  c0 11 0a 02 02 fa56ea01 fa56ea02 08 0a`,
    );
    const msg = Buffer.concat([fromHex(MARKER), Buffer.from([0, 19 + body.length, 2]), body]);
    expect(decode(msg, OLD).attributes.asPath).toEqual([{ type: 2, asns: [23456] }]);
  });
  it('a 4-octet session ignores a received AS4_PATH', () => {
    const body = fromHex(
      `0000 001d 40 01 01 00  40 02 06 02 01 00000064  40 03 04 c0000201  c0 11 06 02 01 fa56ea01 08 0a`,
    );
    const msg = Buffer.concat([fromHex(MARKER), Buffer.from([0, 19 + body.length, 2]), body]);
    const u = decode(msg);
    expect([u.attributes.asPath, u.action]).toEqual([[{ type: 2, asns: [100] }], 'none']);
  });
});
