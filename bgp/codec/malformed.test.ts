/**
 * The malformed-message matrix: each case asserts the exact reaction — (code, subcode, data, action) —
 * per RFC 4271 §6, RFC 7606 and RFC 7607.
 */
import { describe, expect, it } from 'vitest';
import { FAMILY } from './constants.js';
import { decodeMessage, decodeOptions } from './message.js';
import { fromHex, hexOf, MARKER, protocolErrorOf, reaction } from './test-helpers.js';
import type { DecodeOptions, UpdateMessage } from './types.js';

const EBGP = decodeOptions({ localAs: 65000, peerAs: 65001 });
const IBGP = decodeOptions({ localAs: 65000, peerAs: 65000, isIbgp: true });
const OLD = decodeOptions({ fourOctetAs: false });
const ORIGIN = '40010100';
const AS_PATH = '4002060201 0000fde9';
const NEXT_HOP = '400304c0000201';
const NLRI = '180a0000';
const GOOD = ORIGIN + AS_PATH + NEXT_HOP;

function message(type: number, body: Buffer): Buffer {
  return Buffer.concat([fromHex(MARKER), Buffer.from([(19 + body.length) >> 8, (19 + body.length) & 255, type]), body]);
}
/** An UPDATE from hex pieces: withdrawn, attributes, NLRI (lengths computed). */
function update(attrs: string, nlri = NLRI, withdrawn = ''): Buffer {
  const w = fromHex(withdrawn);
  const a = fromHex(attrs);
  const len = (n: number): Buffer => Buffer.from([n >> 8, n & 255]);
  return message(2, Buffer.concat([len(w.length), w, len(a.length), a, fromHex(nlri)]));
}
const decodeU = (b: Buffer, o: DecodeOptions = EBGP): UpdateMessage => decodeMessage(b, o) as UpdateMessage;
const resetOf = (b: Buffer, o: DecodeOptions = EBGP): [number, number, string, string] =>
  reaction(protocolErrorOf(() => decodeMessage(b, o)));
/** The single non-fatal problem of an UPDATE plus the overall action. */
function problemOf(b: Buffer, o: DecodeOptions = EBGP): [number, number, string, string, string] {
  const u = decodeU(b, o);
  expect(u.problems).toHaveLength(1);
  return [...reaction(u.problems[0]!), u.action];
}

describe('header errors', () => {
  it('1/1 marker not all ones', () => {
    const b = message(4, Buffer.alloc(0));
    b[0] = 0;
    expect(resetOf(b)).toEqual([1, 1, '', 'session-reset']);
  });
  it.each([0, 6, 255])('1/3 bad type %i, data = the type', (t) => {
    expect(resetOf(message(t, Buffer.alloc(4)))).toEqual([1, 3, t.toString(16).padStart(2, '0'), 'session-reset']);
  });
  it.each([
    ['KEEPALIVE of 20', 4, 1, '0014'],
    ['NOTIFICATION of 20', 3, 1, '0014'],
    ['UPDATE of 22', 2, 3, '0016'],
    ['ROUTE-REFRESH of 24', 5, 5, '0018'],
    ['ROUTE-REFRESH of 22', 5, 3, '0016'],
    ['OPEN of 28', 1, 9, '001c'],
  ])('1/2 for %s, data = length field', (_n, type, bodyLen, data) => {
    expect(resetOf(message(type, Buffer.alloc(bodyLen)))).toEqual([1, 2, data, 'session-reset']);
  });
  it('1/2 for an UPDATE above 4096 unless extended messages were negotiated', () => {
    const big = update(GOOD, '18'.concat('0a0000'.repeat(1)).repeat(1100));
    expect(resetOf(big)).toEqual([1, 2, big.subarray(16, 18).toString('hex'), 'session-reset']);
    expect(decodeU(big, decodeOptions({ extendedMessages: true })).nlri.count).toBe(1100);
  });
  it('1/2 for an OPEN above 4096 even with extended messages', () => {
    expect(resetOf(message(1, Buffer.alloc(5000)), decodeOptions({ extendedMessages: true }))).toEqual([
      1,
      2,
      '139b',
      'session-reset',
    ]);
  });
  it('7/1 for a bad ROUTE-REFRESH length once enhanced route refresh is negotiated, data = the message', () => {
    const b = message(5, fromHex('0001010100'));
    expect(resetOf(b, decodeOptions({ enhancedRouteRefresh: true }))).toEqual([7, 1, hexOf(b), 'session-reset']);
  });
});

describe('UPDATE structure: session reset', () => {
  it('3/1 withdrawn routes length overruns the message', () => {
    const b = update(GOOD);
    b.writeUInt16BE(200, 19);
    expect(resetOf(b)).toEqual([3, 1, '', 'session-reset']);
  });
  it('3/1 total attribute length overruns the message', () => {
    const b = update(GOOD, '');
    b.writeUInt16BE(100, 21);
    expect(resetOf(b)).toEqual([3, 1, '', 'session-reset']);
  });
  it.each([
    ['prefix length 33', '210a000000ff'],
    ['truncated prefix', '180a00'],
  ])('3/10 NLRI with %s', (_n, nlri) => {
    expect(resetOf(update(GOOD, nlri))).toEqual([3, 10, '', 'session-reset']);
  });
  it('3/10 withdrawn routes with prefix length 40', () => {
    expect(resetOf(update('', '', '280a00000000'))).toEqual([3, 10, '', 'session-reset']);
  });
  it('3/2 unrecognized well-known attribute, data = the attribute', () => {
    expect(resetOf(update(GOOD + '40630100'))).toEqual([3, 2, '40630100', 'session-reset']);
  });
  it('3/1 duplicate MP_REACH_NLRI', () => {
    const mp = '900e001a 0002 01 10 20010db8000000000000000000000001 00 20 20010db8';
    expect(resetOf(update(ORIGIN + AS_PATH + mp + mp, ''))).toEqual([3, 1, '', 'session-reset']);
  });
  it('3/1 duplicate MP_UNREACH_NLRI', () => {
    expect(resetOf(update('800f03000201800f03000201', ''))).toEqual([3, 1, '', 'session-reset']);
  });
  it.each([
    ['IPv6 next hop of 5 bytes', '800e0b 0002 01 05 0102030405 00 00'],
    ['NLRI prefix length 129', '800e17 0002 01 10 20010db8000000000000000000000001 00 81 00'],
    ['too short', '800e04 0002 0110'],
  ])('3/9 malformed MP_REACH_NLRI (%s), data = the attribute', (_n, attr) => {
    expect(resetOf(update(ORIGIN + AS_PATH + attr, ''))).toEqual([
      3,
      9,
      fromHex(attr).toString('hex'),
      'session-reset',
    ]);
  });
  it('3/9 malformed MP_UNREACH_NLRI', () => {
    expect(resetOf(update('800f020002', ''))).toEqual([3, 9, '800f020002', 'session-reset']);
  });
  it('3/4 MP_REACH_NLRI with the transitive flag: its own rule (session reset)', () => {
    const attr = 'c00e1a 0002 01 10 20010db8000000000000000000000001 00 20 20010db8';
    expect(resetOf(update(ORIGIN + AS_PATH + attr, ''))).toEqual([
      3,
      4,
      fromHex(attr).toString('hex'),
      'session-reset',
    ]);
  });
  it('3/1 when an MP attribute overruns the attribute section', () => {
    expect(resetOf(update('800e20 0002 01 10', ''))).toEqual([3, 1, '', 'session-reset']);
  });
});

describe('UPDATE attributes: treat-as-withdraw (RFC 7606)', () => {
  it.each([
    ['ORIGIN value 3 → 3/6', ORIGIN.slice(0, 6) + '03' + AS_PATH + NEXT_HOP, [3, 6, '40010103']],
    ['ORIGIN length 2 → 3/5', '4001020000' + AS_PATH + NEXT_HOP, [3, 5, '4001020000']],
    ['ORIGIN flagged optional → 3/4', '80010100' + AS_PATH + NEXT_HOP, [3, 4, '80010100']],
    ['AS_PATH segment type 5 → 3/11', ORIGIN + '4002060501 0000fde9' + NEXT_HOP, [3, 11, '40020605010000fde9']],
    ['AS_PATH segment overrun → 3/11', ORIGIN + '4002060202 0000fde9' + NEXT_HOP, [3, 11, '40020602020000fde9']],
    ['AS_PATH empty segment → 3/11', ORIGIN + '4002020200' + NEXT_HOP, [3, 11, '4002020200']],
    [
      'AS_PATH with AS 0 (RFC 7607) → 3/11',
      ORIGIN + '40020a0202 0000fde9 00000000' + NEXT_HOP,
      [3, 11, '40020a02020000fde900000000'],
    ],
    ['AS_CONFED_SEQUENCE from eBGP → 3/11', ORIGIN + '4002060301 0000fde9' + NEXT_HOP, [3, 11, '40020603010000fde9']],
    ['NEXT_HOP length 5 → 3/5', ORIGIN + AS_PATH + '400305c000020100', [3, 5, '400305c000020100']],
    ['NEXT_HOP 0.0.0.0 → 3/8', ORIGIN + AS_PATH + '40030400000000', [3, 8, '40030400000000']],
    ['NEXT_HOP 127.0.0.1 → 3/8', ORIGIN + AS_PATH + '4003047f000001', [3, 8, '4003047f000001']],
    ['NEXT_HOP 224.0.0.5 → 3/8', ORIGIN + AS_PATH + '400304e0000005', [3, 8, '400304e0000005']],
    ['MED length 3 → 3/5', GOOD + '800403000001', [3, 5, '800403000001']],
    ['COMMUNITIES length 3 → 3/5', GOOD + 'c00803fde900', [3, 5, 'c00803fde900']],
    ['COMMUNITIES length 0 → 3/5', GOOD + 'c00800', [3, 5, 'c00800']],
    ['EXTENDED COMMUNITIES length 7 → 3/5', GOOD + 'c0100700020000fde900', [3, 5, 'c0100700020000fde900']],
    ['LARGE_COMMUNITY length 8 → 3/5', GOOD + 'c020080000fde900000001', [3, 5, 'c020080000fde900000001']],
    ['COMMUNITIES flagged non-transitive → 3/4', GOOD + '800804fde90064', [3, 4, '800804fde90064']],
    ['missing ORIGIN → 3/3', AS_PATH + NEXT_HOP, [3, 3, '01']],
    ['missing AS_PATH → 3/3', ORIGIN + NEXT_HOP, [3, 3, '02']],
    ['missing NEXT_HOP → 3/3', ORIGIN + AS_PATH, [3, 3, '03']],
    ['attribute length overruns the section → 3/1', GOOD + 'c0080c0000fde9', [3, 1, '']],
    ['too few octets for an attribute header → 3/1', GOOD + 'c008', [3, 1, '']],
  ] as const)('%s', (_n, attrs, want) => {
    expect(problemOf(update(attrs))).toEqual([...want, 'treat-as-withdraw', 'treat-as-withdraw']);
  });
  it.each([
    ['ORIGINATOR_ID length 3 → 3/5', GOOD + '800903010203', [3, 5, '800903010203']],
    ['CLUSTER_LIST length 5 → 3/5', GOOD + '800a050102030405', [3, 5, '800a050102030405']],
  ] as const)('%s (iBGP)', (_n, attrs, want) => {
    expect(problemOf(update(attrs), IBGP)).toEqual([...want, 'treat-as-withdraw', 'treat-as-withdraw']);
  });
  it('a malformed NEXT_HOP is only discarded when there is no classic NLRI (RFC 4760 §3)', () => {
    const mp = '800e1a 0002 01 10 20010db8000000000000000000000001 00 20 20010db8';
    const u = decodeU(update(ORIGIN + AS_PATH + '40030400000000' + mp, ''));
    expect([...reaction(u.problems[0]!), u.action]).toEqual([
      3,
      8,
      '40030400000000',
      'attribute-discard',
      'attribute-discard',
    ]);
  });
  it('LOCAL_PREF of length 3 from iBGP → 3/5', () => {
    expect(problemOf(update(GOOD + '40050300006e'), IBGP)).toEqual([
      3,
      5,
      '40050300006e',
      'treat-as-withdraw',
      'treat-as-withdraw',
    ]);
  });
  it('AS_CONFED_SEQUENCE from iBGP is accepted', () => {
    expect(decodeU(update(ORIGIN + '4002060301 0000fde9' + NEXT_HOP), IBGP).action).toBe('none');
  });
  it('MP_REACH NLRI are withdrawn too, and a missing ORIGIN is detected for MP-only NLRI', () => {
    const mp = '800e1a 0002 01 10 20010db8000000000000000000000001 00 20 20010db8';
    const u = decodeU(update(AS_PATH + mp, ''));
    expect([u.action, reaction(u.problems[0]!)]).toEqual(['treat-as-withdraw', [3, 3, '01', 'treat-as-withdraw']]);
  });
  it('withdrawals without NLRI need no mandatory attributes', () => {
    expect(decodeU(update('', '', NLRI)).action).toBe('none');
  });
});

describe('UPDATE attributes: attribute discard', () => {
  it.each([
    ['ATOMIC_AGGREGATE length 1 → 3/5', '40060100', [3, 5, '40060100'], 'atomicAggregate'],
    ['AGGREGATOR length 7 → 3/5', 'c007070000fde9c00002', [3, 5, 'c007070000fde9c00002'], 'aggregator'],
    ['AGGREGATOR with AS 0 (RFC 7607) → 3/9', 'c0070800000000c0000201', [3, 9, 'c0070800000000c0000201'], 'aggregator'],
    ['AGGREGATOR flagged well-known → 3/4', '40070800000001c0000201', [3, 4, '40070800000001c0000201'], 'aggregator'],
    ['LOCAL_PREF from eBGP', '40050400000064', [3, 0, '40050400000064'], 'localPref'],
    ['ORIGINATOR_ID from eBGP (even malformed)', '800903010203', [3, 0, '800903010203'], 'originatorId'],
    ['CLUSTER_LIST from eBGP', '800a040a000001', [3, 0, '800a040a000001'], 'clusterList'],
    ['duplicate ORIGIN → 3/1', '40010102', [3, 1, ''], 'none'],
    [
      'MP_REACH for a family not negotiated → 3/9',
      '800e0d 0002 80 04 c0000201 00 18 0a0000',
      [3, 9, '800e0d000280' + '04c0000201' + '00180a0000'],
      'mpReach',
    ],
  ] as const)('%s', (_n, extra, want, gone) => {
    const u = decodeU(update(GOOD + extra));
    expect([...reaction(u.problems[0]!), u.action]).toEqual([...want, 'attribute-discard', 'attribute-discard']);
    if (gone !== 'none') expect(u.attributes[gone]).toBeUndefined();
    expect(u.attributes.origin).toBe(0);
  });
  it.each([
    ['AS4_PATH with a confederation segment', 'c0110603010000fde9', [3, 9, 'c0110603010000fde9']],
    ['AS4_PATH with AS 0', 'c01106020100000000', [3, 9, 'c01106020100000000']],
    ['AS4_AGGREGATOR of length 7', 'c012070000fde9c00002', [3, 5, 'c012070000fde9c00002']],
  ])('%s toward a 2-octet session', (_n, extra, want) => {
    const attrs = ORIGIN + '4002040201fde9' + NEXT_HOP + extra;
    const u = decodeU(update(attrs), OLD);
    expect([...reaction(u.problems[0]!), u.action]).toEqual([...want, 'attribute-discard', 'attribute-discard']);
    expect(u.attributes.asPath).toEqual([{ type: 2, asns: [65001] }]);
  });
  it('strongest action wins: treat-as-withdraw over attribute-discard', () => {
    const u = decodeU(update('40010103' + AS_PATH + NEXT_HOP + '40060100'));
    expect(u.problems.map((p) => p.action)).toEqual(['treat-as-withdraw', 'attribute-discard']);
    expect(u.action).toBe('treat-as-withdraw');
  });
  it('session reset beats treat-as-withdraw found earlier', () => {
    expect(resetOf(update('40010103' + AS_PATH + NEXT_HOP + '40630100'))[3]).toBe('session-reset');
  });
});

describe('unknown attributes', () => {
  it('keeps an optional transitive one, drops an optional non-transitive one', () => {
    const u = decodeU(update(GOOD + 'c0630201ff' + '80640100'));
    expect(u.action).toBe('none');
    expect(u.attributes.unknown!.map((a) => [a.flags, a.type, hexOf(a.value)])).toEqual([[0xc0, 0x63, '01ff']]);
  });
  it('ADD-PATH NLRI with a bad path-id block length → 3/10', () => {
    expect(
      resetOf(update(GOOD, '00000001180a00'), decodeOptions({ addPathReceive: new Set([FAMILY.IPV4_UNICAST]) })),
    ).toEqual([3, 10, '', 'session-reset']);
  });
});

describe('rawAttributes: only what the RIB may trust', () => {
  it('is a zero-copy view of the received section when nothing was dropped', () => {
    const b = update(GOOD);
    const u = decodeU(b);
    expect(hexOf(u.rawAttributes)).toBe(GOOD.replace(/ /g, ''));
    expect(u.rawAttributes.buffer).toBe(b.buffer);
    expect(u.receivedAttributes).toBe(u.rawAttributes);
  });
  it.each([
    ['a malformed AGGREGATOR (discard)', GOOD + 'c007070000fde9c00002'],
    ['LOCAL_PREF from eBGP', '40050400000064' + GOOD],
    ['a duplicate ORIGIN', GOOD + '40010102'],
    ['an unknown optional non-transitive attribute', '80640100' + GOOD],
    ['AS4_PATH from a 4-octet speaker', GOOD + 'c011060201fa56ea01'],
    ['an attribute list overrun (treat-as-withdraw)', GOOD + 'c0080c0000fde9'],
    ['a malformed ORIGIN (treat-as-withdraw)', '4001020000' + AS_PATH + NEXT_HOP],
  ])('drops %s', (_n, attrs) => {
    const u = decodeU(update(attrs));
    const want = attrs.startsWith('4001020000') ? AS_PATH + NEXT_HOP : GOOD;
    expect(hexOf(u.rawAttributes)).toBe(want.replace(/ /g, ''));
    expect(hexOf(u.receivedAttributes)).toBe(attrs.replace(/ /g, ''));
  });
  it('keeps MP attributes byte for byte and unknown optional transitive ones', () => {
    const mp = '900e001a 0002 01 10 20010db8000000000000000000000001 00 20 20010db8'.replace(/ /g, '');
    const u = decodeU(update(ORIGIN + AS_PATH + mp + 'c0630201ff' + '40060100', ''));
    expect(hexOf(u.rawAttributes)).toBe((ORIGIN + AS_PATH + mp + 'c0630201ff').replace(/ /g, ''));
    expect(hexOf(u.attributeKey)).toBe(
      (ORIGIN + AS_PATH + 'c0630201ff' + '00020110' + '20010db8000000000000000000000001').replace(/ /g, ''),
    );
  });
});
