/**
 * Golden messages captured from real daemons (BIRD 2.0.12, FRR 8.4.4, GoBGP 3.10.0) by
 * test/fuzz/capture-golden.ts: each daemon (AS 4200000001, router id 10.255.7.2) announced
 * 10.10.0.0/16, 10.20.1.0/24, 192.0.2.128/25, 2001:db8:100::/48 and 2001:db8:200:1::/64 to a recorder
 * in AS 65001. The expectations below come from the daemons' configs, not from our decoder.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encodePathAttributes } from './attributes-encode.js';
import { FAMILY } from './constants.js';
import { Framer } from './framer.js';
import { decodeMessage, decodeOptions } from './message.js';
import { ipv6ToString, nlriListToStrings } from './prefix.js';
import { hexOf } from './test-helpers.js';
import type { BgpMessage, Capability, OpenMessage, UpdateMessage } from './types.js';

interface Fixture {
  readonly daemon: string;
  readonly version: string;
  readonly messages: readonly string[];
}
const load = (name: string): Fixture =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')) as Fixture;
const OPTS = decodeOptions({ localAs: 65001, peerAs: 4200000001 });
const V4 = ['10.10.0.0/16', '10.20.1.0/24', '192.0.2.128/25'];
const V6 = ['2001:db8:100::/48', '2001:db8:200:1::/64'];
const ID = 0x0aff0702;

function decodeAll(f: Fixture): BgpMessage[] {
  return f.messages.map((h) => decodeMessage(Buffer.from(h, 'hex'), OPTS));
}
function updates(ms: BgpMessage[]): UpdateMessage[] {
  return ms.filter((m): m is UpdateMessage => m.type === 'update');
}
function announced(us: UpdateMessage[]): { v4: string[]; v6: string[] } {
  const v4 = us.flatMap((u) => nlriListToStrings(u.nlri));
  const v6 = us.flatMap((u) => (u.attributes.mpReach ? nlriListToStrings(u.attributes.mpReach.nlri) : []));
  return { v4: [...new Set(v4)].sort(), v6: [...new Set(v6)].sort() };
}
function kinds(caps: readonly Capability[]): string[] {
  return caps.map((c) =>
    c.kind === 'unknown' ? `unknown:${c.code}` : c.kind === 'multiprotocol' ? `mp:${c.afi}/${c.safi}` : c.kind,
  );
}

describe.each(['bird', 'frr', 'gobgp'])('captured from %s', (name) => {
  const f = load(name);
  const ms = decodeAll(f);
  const open = ms[0] as OpenMessage;

  it('starts with an OPEN carrying AS_TRANS, the 4-octet ASN and the router id', () => {
    expect([open.type, open.version, open.myAs, open.asn, open.bgpId]).toEqual(['open', 4, 23456, 4200000001, ID]);
    expect(kinds(open.capabilities)).toEqual(
      expect.arrayContaining(['mp:1/1', 'mp:2/1', 'route-refresh', 'four-octet-as']),
    );
  });

  it('announces exactly the configured prefixes, every UPDATE clean', () => {
    const us = updates(ms);
    for (const u of us) expect([u.action, u.problems]).toEqual(['none', []]);
    expect(announced(us)).toEqual({ v4: [...V4].sort(), v6: [...V6].sort() });
    for (const u of us.filter((x) => x.nlri.count > 0 || x.attributes.mpReach)) {
      expect(u.attributes.asPath).toEqual([{ type: 2, asns: [4200000001] }]);
    }
  });

  it('reassembles the whole capture at every split point', () => {
    const stream = Buffer.concat(f.messages.map((h) => Buffer.from(h, 'hex')));
    for (let at = 1; at < stream.length; at++) {
      const fr = new Framer();
      const got = [...fr.push(stream.subarray(0, at)), ...fr.push(stream.subarray(at))].map(hexOf);
      expect(got).toEqual(f.messages);
    }
  });

  it('re-encodes every decoded attribute set to the same meaning', () => {
    for (const u of updates(ms)) {
      const { mpReach, mpUnreach, ...rest } = u.attributes;
      void mpReach;
      void mpUnreach;
      const bytes = encodePathAttributes(rest, { fourOctetAs: true, extendedMessages: false });
      const round = decodeMessage(wrapUpdate(bytes), OPTS) as UpdateMessage;
      expect(round.attributes).toEqual(rest);
    }
  });
});

function wrapUpdate(attrs: Buffer): Buffer {
  const m = Buffer.alloc(23 + attrs.length);
  m.fill(0xff, 0, 16);
  m.writeUInt16BE(m.length, 16);
  m[18] = 2;
  m.writeUInt16BE(attrs.length, 21);
  attrs.copy(m, 23);
  return m;
}

describe('BIRD 2 capture, field by field', () => {
  const ms = decodeAll(load('bird'));
  it('OPEN: hold 240, GR 120 s for both families, extended messages, enhanced route refresh', () => {
    const o = ms[0] as OpenMessage;
    expect(o.holdTime).toBe(240);
    expect(o.capabilities).toEqual([
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'multiprotocol', afi: 2, safi: 1 },
      { kind: 'route-refresh' },
      { kind: 'extended-message' },
      {
        kind: 'graceful-restart',
        restarting: false,
        notification: false,
        restartTime: 120,
        families: [
          { afi: 1, safi: 1, forwardingPreserved: false },
          { afi: 2, safi: 1, forwardingPreserved: false },
        ],
      },
      { kind: 'four-octet-as', asn: 4200000001 },
      { kind: 'enhanced-route-refresh' },
    ]);
  });
  it('IPv4 UPDATE: every attribute the export filter set, and our encoder reproduces BIRD byte for byte', () => {
    const u = updates(ms)[0]!;
    expect(u.attributes).toEqual({
      origin: 0,
      asPath: [{ type: 2, asns: [4200000001] }],
      nextHop: '10.255.7.2',
      med: 50,
      communities: [65001 * 65536 + 100],
      extCommunities: [Buffer.from('0002fde900000007', 'hex')],
      largeCommunities: [{ global: 4200000001, local1: 1, local2: 2 }],
    });
    expect(hexOf(encodePathAttributes(u.attributes, { fourOctetAs: true, extendedMessages: false }))).toBe(
      hexOf(u.rawAttributes),
    );
  });
  it('IPv6 UPDATE: MP_REACH_NLRI with a global + link-local next hop', () => {
    const u = updates(ms).find((x) => x.attributes.mpReach)!;
    expect(u.attributes.mpReach!.nextHop.length).toBe(32);
    expect(ipv6ToString(u.attributes.mpReach!.nextHop)).toBe('2001:db8:ff::2');
    expect(ipv6ToString(u.attributes.mpReach!.nextHop, 16).startsWith('fe80:')).toBe(true);
  });
  it('End-of-RIB for IPv4 then IPv6', () => {
    expect(
      updates(ms)
        .map((u) => u.endOfRib)
        .filter((x) => x !== undefined),
    ).toEqual([FAMILY.IPV4_UNICAST, FAMILY.IPV6_UNICAST]);
  });
});

describe('FRR capture, field by field', () => {
  const ms = decodeAll(load('frr'));
  it('OPEN: one capability per parameter, ADD-PATH, FQDN and LLGR kept raw, GR with the N bit', () => {
    const o = ms[0] as OpenMessage;
    expect(kinds(o.capabilities)).toEqual(
      expect.arrayContaining([
        'unknown:128',
        'enhanced-route-refresh',
        'add-path',
        'unknown:73',
        'graceful-restart',
        'unknown:71',
      ]),
    );
    const gr = o.capabilities.find((c) => c.kind === 'graceful-restart');
    expect(gr).toMatchObject({ kind: 'graceful-restart', notification: true, restartTime: 120 });
  });
  it('IPv4 UPDATE: extended-length AS_PATH, NO_EXPORT community, MED, large community', () => {
    const u = updates(ms).find((x) => x.nlri.count > 0)!;
    expect(u.rawAttributes[4]).toBe(0x50); // FRR sends AS_PATH with the Extended Length bit
    expect(u.attributes).toEqual({
      origin: 0,
      asPath: [{ type: 2, asns: [4200000001] }],
      nextHop: '10.255.7.2',
      med: 50,
      communities: [65001 * 65536 + 100, 0xffffff01],
      largeCommunities: [{ global: 4200000001, local1: 1, local2: 2 }],
    });
  });
  it('IPv6 UPDATE: an IPv4-mapped next hop (no IPv6 address known to bgpd without zebra)', () => {
    const u = updates(ms).find((x) => x.attributes.mpReach)!;
    expect(ipv6ToString(u.attributes.mpReach!.nextHop)).toBe('::ffff:aff:702');
  });
});

describe('GoBGP capture, field by field', () => {
  const ms = decodeAll(load('gobgp'));
  it('OPEN: extended next hop for IPv4 over IPv6 and FQDN kept raw', () => {
    const o = ms[0] as OpenMessage;
    expect(o.capabilities).toContainEqual({ kind: 'extended-next-hop', entries: [{ afi: 1, safi: 1, nextHopAfi: 2 }] });
    expect(kinds(o.capabilities)).toContain('unknown:73');
  });
  it('one UPDATE per route, as added with `gobgp global rib add`, re-encoded byte for byte', () => {
    const us = updates(ms).filter((u) => u.nlri.count > 0);
    expect(us.map((u) => nlriListToStrings(u.nlri)[0])).toEqual(expect.arrayContaining(V4));
    const first = us.find((u) => nlriListToStrings(u.nlri)[0] === '10.10.0.0/16')!;
    expect([first.attributes.origin, first.attributes.med, first.attributes.communities]).toEqual([
      2,
      50,
      [65001 * 65536 + 100],
    ]);
    for (const u of us)
      expect(hexOf(encodePathAttributes(u.attributes, { fourOctetAs: true, extendedMessages: false }))).toBe(
        hexOf(u.rawAttributes),
      );
  });
});
