import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodePathAttributes } from './attributes-encode.js';
import { mergeAs4Path, reconcileAs4 } from './as4.js';
import { decodeMessage, decodeOptions } from './message.js';
import type { AsPathSegment, PathAttributes, UpdateMessage } from './types.js';
import { encodeUpdate } from './update-packer.js';
import { encodePrefixes } from './prefix.js';

const asn = fc.integer({ min: 1, max: 0xffffffff });
const segment = (types: readonly number[]): fc.Arbitrary<AsPathSegment> =>
  fc.record({
    type: fc.constantFrom(...types),
    asns: fc.array(asn, { minLength: 1, maxLength: 20 }),
  }) as fc.Arbitrary<AsPathSegment>;
const unicastV4 = fc
  .tuple(
    fc.integer({ min: 1, max: 223 }).filter((x) => x !== 127),
    fc.nat(255),
    fc.nat(255),
    fc.nat(255),
  )
  .map((p) => p.join('.'));
const anyV4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));

function attrsArb(ibgp: boolean, confed: boolean): fc.Arbitrary<PathAttributes> {
  return fc.record(
    {
      origin: fc.constantFrom(0, 1, 2) as fc.Arbitrary<0 | 1 | 2>,
      asPath: fc.array(segment(confed ? [1, 2, 3, 4] : [1, 2]), { maxLength: 4 }),
      nextHop: unicastV4,
      med: fc.nat(),
      localPref: ibgp ? fc.nat() : fc.constant(undefined),
      atomicAggregate: fc.constant(true),
      aggregator: fc.record({ asn, address: anyV4 }),
      communities: fc.array(fc.nat({ max: 0xffffffff }), { minLength: 1, maxLength: 10 }),
      originatorId: ibgp ? anyV4 : fc.constant(undefined),
      clusterList: ibgp ? fc.array(anyV4, { minLength: 1, maxLength: 4 }) : fc.constant(undefined),
      extCommunities: fc.array(
        fc.uint8Array({ minLength: 8, maxLength: 8 }).map((u) => Buffer.from(u)),
        { minLength: 1, maxLength: 4 },
      ),
      largeCommunities: fc.array(
        fc.record({
          global: fc.nat({ max: 0xffffffff }),
          local1: fc.nat({ max: 0xffffffff }),
          local2: fc.nat({ max: 0xffffffff }),
        }),
        { minLength: 1, maxLength: 4 },
      ),
      unknown: fc.array(
        fc.record({
          flags: fc.constant(0xc0),
          type: fc.integer({ min: 100, max: 250 }),
          value: fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)),
        }),
        { minLength: 1, maxLength: 1 },
      ),
    },
    { requiredKeys: ['origin', 'asPath', 'nextHop'] },
  );
}

function roundTrip(a: PathAttributes, fourOctetAs: boolean, ibgp: boolean): UpdateMessage {
  const attrs = encodePathAttributes(a, { fourOctetAs, extendedMessages: true });
  const msg = encodeUpdate({ attributes: attrs, nlri: encodePrefixes(['10.0.0.0/8']) });
  return decodeMessage(msg, decodeOptions({ fourOctetAs, isIbgp: ibgp, extendedMessages: true })) as UpdateMessage;
}

function expected(a: PathAttributes): PathAttributes {
  const out: PathAttributes = { ...a };
  for (const k of Object.keys(out) as (keyof PathAttributes)[]) if (out[k] === undefined) delete out[k];
  if (a.unknown)
    out.unknown = a.unknown.map((u) => ({ ...u, flags: u.flags | 0x20 | (u.value.length > 255 ? 0x10 : 0) }));
  return out;
}

describe('path attributes round trip (fast-check)', () => {
  it('every attribute survives encode → decode on a 4-octet iBGP session', () => {
    fc.assert(
      fc.property(attrsArb(true, true), (a) => {
        const u = roundTrip(a, true, true);
        expect(u.problems).toEqual([]);
        expect(u.attributes).toEqual(expected(a));
      }),
      { numRuns: 300 },
    );
  });
  it('AS4_PATH and AS4_AGGREGATOR carry 4-octet ASNs through a 2-octet eBGP session', () => {
    fc.assert(
      fc.property(attrsArb(false, false), (a) => {
        const u = roundTrip(a, false, false);
        expect(u.problems).toEqual([]);
        expect(u.attributes).toEqual(expected(a));
      }),
      { numRuns: 300 },
    );
  });
});

describe('mergeAs4Path (RFC 6793 §4.2.3)', () => {
  it('joins the kept head and AS4_PATH into one sequence', () => {
    expect(mergeAs4Path([{ type: 2, asns: [1, 2, 23456] }], [{ type: 2, asns: [70000] }])).toEqual([
      { type: 2, asns: [1, 2, 70000] },
    ]);
  });
  it('keeps AS_SETs counted as one', () => {
    expect(
      mergeAs4Path(
        [
          { type: 2, asns: [1] },
          { type: 1, asns: [23456, 5] },
        ],
        [{ type: 1, asns: [70000, 5] }],
      ),
    ).toEqual([
      { type: 2, asns: [1] },
      { type: 1, asns: [70000, 5] },
    ]);
  });
});

describe('reconcileAs4', () => {
  it('ignores AS4_PATH and AS4_AGGREGATOR when both aggregators are present and AGGREGATOR is not AS_TRANS', () => {
    const r = reconcileAs4({
      asPath: [{ type: 2, asns: [23456] }],
      aggregator: { asn: 100, address: '1.1.1.1' },
      as4Path: [{ type: 2, asns: [70000] }],
      as4Aggregator: { asn: 70001, address: '1.1.1.1' },
    });
    expect(r).toEqual({ asPath: [{ type: 2, asns: [23456] }], aggregator: { asn: 100, address: '1.1.1.1' } });
  });
});
