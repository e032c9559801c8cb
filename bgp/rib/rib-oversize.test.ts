/**
 * Routes whose attributes do not fit the receiving peer's maximum UPDATE (RFC 4271 §9.2, RFC 8654):
 * not advertised to that peer (withdrawn if an earlier version was), reported once per set, and
 * takeOutbound always terminates with every message within the peer's limit.
 */
import { describe, expect, it } from 'vitest';
import * as fc from 'fast-check';
import { InvariantError } from '../../src/errors.js';
import type { RoutePolicy } from '../route-policy/types.js';
import { EMPTY_ATTRS, SEG, encodeAttrs, type RouteAttrs } from './attrs.js';
import { parseAddressBytes } from '../../src/net/index.js';
import { formatPrefix, parsePrefix } from '../attrs/index.js';
import { PrefixTable } from './prefix-table.js';
import { Rib } from './rib.js';
import { decodeOut, update } from './test-helpers.js';
import type { RibNegotiated, RibPeerConfig } from './types.js';
import { UpdateWriter } from './update-writer.js';

const ACCEPT: RoutePolicy = { name: 'all', statements: [], defaultResult: 'accept' };
const NEG: RibNegotiated = { peerRouterId: '9.9.9.9', fourOctetAs: true, families: ['ipv4', 'ipv6'] };
const unknownAttr = (size: number) => ({ flags: 0xc0, type: 0xfa, value: new Uint8Array(size).fill(0x5a) });

function peer(id: string, address: string, peerAs: number, extra: Partial<RibPeerConfig> = {}): RibPeerConfig {
  return { id, address, peerAs, localAddress: '10.0.0.1', importPolicy: ACCEPT, exportPolicy: ACCEPT, ...extra };
}

function up(rib: Rib, cfg: RibPeerConfig, neg: Partial<RibNegotiated> = {}): void {
  rib.addPeer(cfg);
  rib.peerUp(cfg.id, { ...NEG, peerRouterId: cfg.address, ...neg });
}

/** Drains the peer completely; every message must respect `limit`. */
function drain(rib: Rib, id: string, limit: number, fourOctetAs = true) {
  const msgs: Buffer[] = [];
  for (let i = 0; i < 10_000; i++) {
    const out = rib.takeOutbound(id, 64 * 1024);
    if (out.length === 0) break;
    msgs.push(...out);
  }
  expect(rib.hasOutbound(id)).toBe(false);
  for (const m of msgs) expect(m.length).toBeLessThanOrEqual(limit);
  return decodeOut(msgs, fourOctetAs);
}

/** Adj-RIB-Out as the receiver sees it after applying the messages in order. */
function received(msgs: ReturnType<typeof decodeOut>): Set<string> {
  const s = new Set<string>();
  for (const m of msgs) {
    for (const p of m.withdrawn) s.delete(p);
    for (const p of m.announced) s.add(p);
  }
  return s;
}

describe('attributes too big for the peer (RFC 4271 §9.2)', () => {
  it('J1 case: a 4040-byte optional transitive attribute, prepended toward a 4096-byte peer, is not sent to it', () => {
    const rib = new Rib({ localAs: 65001, routerId: '10.31.0.1' });
    up(rib, peer('raw', '10.30.0.65', 65002, { localAddress: '10.30.0.1' }));
    up(rib, peer('bird', '10.31.0.2', 65003, { localAddress: '10.31.0.1' }));
    up(rib, peer('big', '10.32.0.2', 65004, { localAddress: '10.32.0.1' }), { extendedMessages: true });
    drain(rib, 'bird', 4096);
    drain(rib, 'big', 65535);
    // First a small version, advertised everywhere; then the big one: withdrawn toward 'bird' only.
    rib.ingestUpdate(
      'raw',
      update({ announce: ['10.141.1.0/24', '10.141.2.0/24'], route: { asPath: [65002], nextHop: '10.30.0.65' } }),
    );
    expect([...received(drain(rib, 'bird', 4096))]).toEqual(['10.141.1.0/24', '10.141.2.0/24']);
    drain(rib, 'big', 65535);
    rib.ingestUpdate(
      'raw',
      update({
        announce: ['10.141.1.0/24', '10.141.2.0/24'],
        route: { asPath: [65002], nextHop: '10.30.0.65', attrs: { unknown: [unknownAttr(4040)] } },
      }),
    );
    const toBird = drain(rib, 'bird', 4096);
    expect(toBird).toEqual([
      { withdrawn: ['10.141.1.0/24', '10.141.2.0/24'], announced: [], attrs: undefined, endOfRib: false },
    ]);
    const toBig = drain(rib, 'big', 65535);
    expect(toBig.flatMap((m) => m.announced)).toEqual(['10.141.1.0/24', '10.141.2.0/24']);
    expect(toBig[0]!.attrs!.unknown[0]!.value.length).toBe(4040);
    // Reported once for the set and the peer, not per prefix.
    expect(rib.takeUnsendable()).toEqual([
      { peer: 'bird', family: 'ipv4', prefix: '10.141.1.0/24', needed: 4098, limit: 4096 },
    ]);
    expect(rib.unsendableTotal).toBe(1);
    expect(rib.peerCounts('bird').advertised).toBe(0);
    // A route refresh toward 'bird' sends nothing for them, and reports nothing new.
    rib.refreshOutbound('bird');
    expect(received(drain(rib, 'bird', 4096)).size).toBe(0);
    expect(rib.takeUnsendable()).toEqual([]);
    // The small version comes back: advertised again.
    rib.ingestUpdate('raw', update({ announce: ['10.141.1.0/24'], route: { asPath: [65002], nextHop: '10.30.0.65' } }));
    expect([...received(drain(rib, 'bird', 4096))]).toEqual(['10.141.1.0/24']);
    // Withdrawing everything leaves no attribute set behind.
    rib.ingestUpdate('raw', update({ withdraw: ['10.141.1.0/24', '10.141.2.0/24'] }));
    drain(rib, 'bird', 4096);
    drain(rib, 'big', 65535);
    expect(rib.attrSetCount).toBe(0);
  });

  it('the writer refuses (typed error) instead of looping when a caller passes attributes with no room', () => {
    const t = new PrefixTable(1, 16);
    const idx = [t.intern1(0x0a000000, 24)];
    const attrs = new Uint8Array(4096 - 23 - 3);
    const w = new UpdateWriter(4096);
    expect(() => w.announceV4(attrs, t, idx, 0, 1)).toThrow(InvariantError);
    expect(() => w.announceMp('ipv4', new Uint8Array(16), attrs, t, idx, 0, 1)).toThrow(InvariantError);
    expect(() => new UpdateWriter(100)).toThrow(InvariantError);
    expect(w.out).toEqual([]);
  });

  it('property: takeOutbound terminates, never exceeds the limit, and withholds exactly what does not fit', () => {
    const arb = fc.record({
      v6: fc.boolean(),
      linkLocal: fc.boolean(),
      extended: fc.boolean(),
      as4: fc.boolean(),
      bigAsn: fc.boolean(),
      slack: fc.integer({ min: -40, max: 140 }),
      lens: fc.array(fc.integer({ min: 0, max: 128 }), { minLength: 1, maxLength: 12 }),
    });
    fc.assert(
      fc.property(arb, (c) => {
        const limit = c.extended ? 65535 : 4096;
        const rib = new Rib({ localAs: 65000, routerId: '1.1.1.1' });
        up(rib, peer('a', '10.0.0.2', 65001), { extendedMessages: true });
        const bcfg = peer('b', '10.0.1.2', 65002, {
          localAddress: '10.0.1.1',
          localAddressV6: '2001:db8::1',
          ...(c.linkLocal && { localLinkLocalV6: 'fe80::1' }),
        });
        up(rib, bcfg, { extendedMessages: c.extended, fourOctetAs: c.as4 });
        drain(rib, 'b', limit, c.as4);
        const max = c.v6 ? 128 : 32;
        const mask = (w: number, l: number) => (l <= 0 ? 0 : l >= 32 ? w : w & (~0 << (32 - l))) >>> 0;
        const prefixes = [
          ...new Set(
            c.lens.map((l, i) => {
              const len = Math.min(l, max);
              const words = c.v6 ? [0x20010db8, (i << 16) >>> 0, 0, 0] : [(((10 + i) << 24) | (i << 8)) >>> 0];
              return formatPrefix(
                c.v6 ? 'ipv6' : 'ipv4',
                words.map((w, k) => mask(w, len - 32 * k)),
                len,
              );
            }),
          ),
        ];
        const asPath = c.bigAsn ? [65001, 4200000000] : [65001];
        const nh = c.v6 ? '2001:db8:a::2' : '10.0.0.2';
        // Small version first (advertised), then the big one replaces it.
        rib.ingestUpdate('a', update({ announce: prefixes, route: { asPath, nextHop: nh } }));
        expect(received(drain(rib, 'b', limit, c.as4)).size).toBe(prefixes.length);
        // What b should be sent, encoded independently of the RIB: prepend, next-hop-self, Partial bit.
        const self = c.v6
          ? [...parseAddressBytes('2001:db8::1'), ...(c.linkLocal ? parseAddressBytes('fe80::1') : [])]
          : [10, 0, 1, 1];
        const base = (size: number): RouteAttrs => ({
          ...EMPTY_ATTRS,
          asPath: [{ type: SEG.AS_SEQUENCE, asns: [65000, ...asPath] }],
          nextHop: Uint8Array.from(self),
          unknown: [unknownAttr(size)],
        });
        const fixed = encodeAttrs(base(0), { fourOctetAs: c.as4, nextHopAttr: !c.v6 }).length;
        const overhead = (size: number) => 19 + 4 + fixed + size + (c.v6 ? 4 + 3 + 1 + self.length + 1 : 0);
        const size = Math.max(0, Math.min(65535, limit - overhead(0) - c.slack));
        // The sender's own UPDATE must be encodable (total path attribute length is 16 bits).
        fc.pre(size + 100 + 17 * prefixes.length < 65535);
        rib.ingestUpdate(
          'a',
          update({ announce: prefixes, route: { asPath, nextHop: nh, attrs: { unknown: [unknownAttr(size)] } } }),
        );
        const got = received(drain(rib, 'b', limit, c.as4));
        const fits = prefixes.filter((p) => overhead(size) + 1 + ((parsePrefix(p).len + 7) >>> 3) <= limit);
        expect([...got].sort()).toEqual([...fits].sort());
        const reported = rib.takeUnsendable();
        expect(reported.length).toBe(fits.length < prefixes.length ? 1 : 0);
        for (const r of reported) {
          expect(r.limit).toBe(limit);
          expect(r.needed).toBe(overhead(size) + 1 + ((parsePrefix(r.prefix).len + 7) >>> 3));
        }
      }),
      { numRuns: 150 },
    );
  });
});
