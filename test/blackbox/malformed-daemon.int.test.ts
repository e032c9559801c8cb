/**
 * Daemon-level malformed UPDATE matrix (RFC 4271 §6.3, RFC 7606, RFC 7607, RFC 6793), black box: a raw
 * peer (dynamic neighbour, AS 65002) first announces a valid route for its own prefix, then sends the
 * malformed UPDATE for the same prefix. What must follow is checked from outside only:
 *  - 'reset':    the exact NOTIFICATION, the connection closed, the prefix gone from margay-bgpd's RIB
 *                (`GET /rib`) and withdrawn from BIRD downstream;
 *  - 'withdraw': no NOTIFICATION, the session stays Established, the prefix gone from the RIB and BIRD;
 *  - 'keep':     no NOTIFICATION, the route stays (updated: MED 77 marks that the UPDATE was applied)
 *                with the bad attribute dropped, as seen in the RIB and in BIRD.
 * After each non-reset case a sentinel UPDATE proves margay-bgpd processed the malformed one first.
 */
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/bgp-daemons.js';
import type { RawBgpPeer } from '../helpers/raw-bgp-peer.js';
import { hex, ipHex, nlri, update, withRig, type Rig } from './rig.js';

type Expect =
  | { kind: 'reset'; code: number; subcode: number; data?: string }
  | { kind: 'withdraw' }
  | {
      kind: 'keep';
      check?: (
        rib: {
          med?: number;
          localPref?: number;
          origin: string;
          asPath: string;
          communities: readonly string[];
          largeCommunities: readonly string[];
        },
        bird: string,
      ) => void;
    };

interface Case {
  readonly name: string;
  readonly rfc: string;
  /** Builds the malformed UPDATE for prefix `p` from a peer whose address is `ip`. */
  readonly bytes: (p: string, ip: string) => Buffer;
  readonly want: Expect;
  /** Hex that must appear in the UPDATE another (raw, observing) peer receives for the prefix. */
  readonly observe?: RegExp;
}

const ORIGIN = '40010100';
const AS_PATH = '4002060201 0000fdea';
const nh = (ip: string): string => `400304${ipHex(ip)}`;
/** COMMUNITIES 65002:77: marks that the malformed UPDATE was applied (transitive, so BIRD sees it too). */
const MARK = 'c00804fdea004d';
const good = (ip: string): string => ORIGIN + AS_PATH + nh(ip);
/** MP_UNREACH_NLRI for IPv4 unicast (flags 0x80). */
function mpUnreach4(prefixes: string): string {
  const body = hex(`000101${prefixes}`);
  return `800f${body.length.toString(16).padStart(2, '0')}${body.toString('hex')}`;
}
/** MP_REACH_NLRI for IPv4 unicast (flags 0x80, lengths computed). */
function mpReach4(nextHop: string, prefixes: string): string {
  const body = hex(`000101${(nextHop.length / 2).toString(16).padStart(2, '0')}${nextHop}00${prefixes}`);
  return `800e${body.length.toString(16).padStart(2, '0')}${body.toString('hex')}`;
}

const CASES: readonly Case[] = [
  {
    name: 'ORIGIN value 3',
    rfc: '7606 §7.1',
    bytes: (p, ip) => update('40010103' + AS_PATH + nh(ip), nlri(p)),
    want: { kind: 'withdraw' },
  },
  {
    name: 'ORIGIN length 2',
    rfc: '7606 §7.1',
    bytes: (p, ip) => update('4001020000' + AS_PATH + nh(ip), nlri(p)),
    want: { kind: 'withdraw' },
  },
  {
    name: 'ORIGIN flagged optional',
    rfc: '7606 §3(c)',
    bytes: (p, ip) => update('c0010100' + AS_PATH + nh(ip), nlri(p)),
    want: { kind: 'withdraw' },
  },
  {
    name: 'AS_PATH segment overrun',
    rfc: '7606 §7.2',
    bytes: (p, ip) => update(ORIGIN + '4002060205 0000fdea' + nh(ip), nlri(p)),
    want: { kind: 'withdraw' },
  },
  {
    name: 'AS_PATH segment type 5',
    rfc: '7606 §7.2',
    bytes: (p, ip) => update(ORIGIN + '4002060501 0000fdea' + nh(ip), nlri(p)),
    want: { kind: 'withdraw' },
  },
  {
    name: 'AS_PATH with AS 0',
    rfc: '7607 §2',
    bytes: (p, ip) => update(ORIGIN + '40020a0202 0000fdea 00000000' + nh(ip), nlri(p)),
    want: { kind: 'withdraw' },
  },
  {
    name: 'AS_CONFED_SEQUENCE from an eBGP peer',
    rfc: '7606 §7.2 / 5065 §5',
    bytes: (p, ip) => update(ORIGIN + '40020c0301 0000fde8 0201 0000fdea' + nh(ip), nlri(p)),
    want: { kind: 'withdraw' },
  },
  {
    name: 'NEXT_HOP length 3',
    rfc: '7606 §7.3',
    bytes: (p, ip) => update(ORIGIN + AS_PATH + '400303' + ipHex(ip).slice(0, 6), nlri(p)),
    want: { kind: 'withdraw' },
  },
  {
    name: 'NEXT_HOP multicast 224.0.0.5',
    rfc: '4271 §6.3 (semantic: route ignored)',
    bytes: (p) => update(ORIGIN + AS_PATH + '400304e0000005', nlri(p)),
    want: { kind: 'withdraw' },
  },
  {
    name: "NEXT_HOP is the receiver's own address",
    rfc: '4271 §6.3 (semantic: route ignored)',
    bytes: (p) => update(ORIGIN + AS_PATH + '4003040a1e0001', nlri(p)),
    want: { kind: 'withdraw' },
  },
  {
    name: 'NEXT_HOP not directly reachable (single-hop eBGP)',
    rfc: '4271 §9.1.2.1 / §5.1.3',
    bytes: (p) => update(ORIGIN + AS_PATH + '4003040a630001', nlri(p)),
    want: { kind: 'withdraw' },
  },
  {
    name: 'MED length 3',
    rfc: '7606 §7.4',
    bytes: (p, ip) => update(good(ip) + '800403000001', nlri(p)),
    want: { kind: 'withdraw' },
  },
  {
    name: 'COMMUNITIES length 3',
    rfc: '7606 §7.8',
    bytes: (p, ip) => update(good(ip) + 'c00803fde900', nlri(p)),
    want: { kind: 'withdraw' },
  },
  {
    name: 'EXTENDED_COMMUNITIES length 7',
    rfc: '7606 §7.14',
    bytes: (p, ip) => update(good(ip) + 'c010070002fdea000000', nlri(p)),
    want: { kind: 'withdraw' },
  },
  {
    name: 'LARGE_COMMUNITY length 11',
    rfc: '8092 §6',
    bytes: (p, ip) => update(good(ip) + 'c0200b0000fdea0000000100000002'.slice(0, 28), nlri(p)),
    want: { kind: 'withdraw' },
  },
  {
    name: 'MP_UNREACH_NLRI alone (no other attribute needed)',
    rfc: '4760 §4',
    bytes: (p) => update(mpUnreach4(nlri(p))),
    want: { kind: 'withdraw' },
  },
  {
    name: 'missing NEXT_HOP',
    rfc: '7606 §3(d)',
    bytes: (p) => update(ORIGIN + AS_PATH, nlri(p)),
    want: { kind: 'withdraw' },
  },
  {
    name: 'missing ORIGIN',
    rfc: '7606 §3(d)',
    bytes: (p, ip) => update(AS_PATH + nh(ip), nlri(p)),
    want: { kind: 'withdraw' },
  },
  {
    name: 'missing AS_PATH',
    rfc: '7606 §3(d)',
    bytes: (p, ip) => update(ORIGIN + nh(ip), nlri(p)),
    want: { kind: 'withdraw' },
  },
  {
    name: 'MED flagged transitive',
    rfc: '7606 §3(c)',
    bytes: (p, ip) => update(good(ip) + 'c004040000004d', nlri(p)),
    want: { kind: 'withdraw' },
  },
  {
    name: 'attribute length overruns the attribute section',
    rfc: '7606 §4',
    bytes: (p, ip) => update(good(ip) + 'c0080c0000fde9', nlri(p)),
    want: { kind: 'withdraw' },
  },
  {
    name: 'LOCAL_PREF from an eBGP peer',
    rfc: '7606 §7.5 (discard)',
    bytes: (p, ip) => update(good(ip) + MARK + '400504000003e7', nlri(p)),
    want: { kind: 'keep', check: (r) => expect(r.localPref).not.toBe(999) },
  },
  {
    name: 'ATOMIC_AGGREGATE length 1',
    rfc: '7606 §7.6 (discard)',
    bytes: (p, ip) => update(good(ip) + MARK + '40060100', nlri(p)),
    want: { kind: 'keep', check: (_r, bird) => expect(bird).not.toMatch(/atomic_aggr/i) },
  },
  {
    name: 'AGGREGATOR length 6 on a 4-octet session',
    rfc: '7606 §7.7 / 6793 (discard)',
    bytes: (p, ip) => update(good(ip) + MARK + 'c00706fdea0a1e0002', nlri(p)),
    want: { kind: 'keep', check: (_r, bird) => expect(bird).not.toMatch(/aggregator/i) },
  },
  {
    name: 'ORIGINATOR_ID from an eBGP peer',
    rfc: '7606 §7.9 (discard)',
    bytes: (p, ip) => update(good(ip) + MARK + '80090401020304', nlri(p)),
    want: { kind: 'keep', check: (_r, bird) => expect(bird).not.toMatch(/originator_id/i) },
  },
  {
    name: 'CLUSTER_LIST from an eBGP peer',
    rfc: '7606 §7.10 (discard)',
    bytes: (p, ip) => update(good(ip) + MARK + '800a0401020304', nlri(p)),
    want: { kind: 'keep', check: (_r, bird) => expect(bird).not.toMatch(/cluster_list/i) },
  },
  {
    name: 'AS4_PATH from a 4-octet speaker',
    rfc: '6793 §6 (discard)',
    bytes: (p, ip) => update(good(ip) + MARK + 'c0110a0202 0000fdea 0000fde7', nlri(p)),
    want: { kind: 'keep', check: (r) => expect(r.asPath).toBe('65002') },
  },
  {
    name: 'extended and large communities (passed on)',
    rfc: '4360 / 8092',
    bytes: (p, ip) => update(good(ip) + MARK + 'c010080002fdea00000001' + 'c0200c0000fdea0000000100000002', nlri(p)),
    want: {
      kind: 'keep',
      check: (r, bird) => {
        expect(r.largeCommunities).toEqual(['65002:1:2']);
        expect(bird).toMatch(/BGP\.ext_community: \(rt, 65002, 1\)/);
        expect(bird).toMatch(/BGP\.large_community: \(65002, 1, 2\)/);
      },
    },
  },
  {
    name: 'duplicate ORIGIN (first wins)',
    rfc: '7606 §3(g)',
    bytes: (p, ip) => update(good(ip) + MARK + '40010102', nlri(p)),
    want: { kind: 'keep', check: (r) => expect(r.origin).toBe('igp') },
  },
  {
    name: 'ORIGIN with the Extended Length bit (valid)',
    rfc: '4271 §4.3',
    bytes: (p, ip) => update('5001000101' + AS_PATH + nh(ip) + MARK, nlri(p)),
    want: { kind: 'keep', check: (r) => expect(r.origin).toBe('egp') },
  },
  {
    name: 'unknown optional transitive attribute (passed on, Partial)',
    rfc: '4271 §5 / §9',
    bytes: (p, ip) => update(good(ip) + MARK + 'c0fa02abcd', nlri(p)),
    want: { kind: 'keep', check: (_r, bird) => expect(bird).toMatch(/BGP\.fa \[t\]: ab cd/) },
    // Partial set (0x20) on top of optional+transitive; the extended-length form is legal too.
    observe: /(e0fa02|f0fa0002)abcd/,
  },
  {
    name: 'unknown optional non-transitive attribute (dropped)',
    rfc: '4271 §9',
    bytes: (p, ip) => update(good(ip) + MARK + '80fb02abcd', nlri(p)),
    want: { kind: 'keep', check: (_r, bird) => expect(bird).not.toMatch(/BGP\.fb|ab cd/) },
  },
  {
    name: 'NLRI prefix length 33',
    rfc: '7606 §5.3 / 4271 §6.3',
    bytes: (_p, ip) => update(good(ip), '210a6401ff00'),
    want: { kind: 'reset', code: 3, subcode: 10 },
  },
  {
    name: 'withdrawn prefix length 33',
    rfc: '7606 §5.3',
    bytes: () => update('', '', '210a6401ff00'),
    want: { kind: 'reset', code: 3, subcode: 10 },
  },
  {
    name: 'withdrawn length overruns the message',
    rfc: '4271 §6.3',
    bytes: (p, ip) => {
      const u = update(good(ip), nlri(p));
      u.writeUInt16BE(200, 19);
      return u;
    },
    want: { kind: 'reset', code: 3, subcode: 1, data: '' },
  },
  {
    name: 'total path attribute length overruns the message',
    rfc: '4271 §6.3',
    bytes: (p, ip) => {
      const u = update(good(ip), nlri(p));
      u.writeUInt16BE(300, 21);
      return u;
    },
    want: { kind: 'reset', code: 3, subcode: 1, data: '' },
  },
  {
    name: 'unrecognized well-known attribute',
    rfc: '4271 §6.3',
    bytes: (p, ip) => update(good(ip) + '40630100', nlri(p)),
    want: { kind: 'reset', code: 3, subcode: 2, data: '40630100' },
  },
  {
    name: 'duplicate MP_REACH_NLRI',
    rfc: '7606 §3(g)',
    bytes: (p, ip) => update(ORIGIN + AS_PATH + mpReach4(ipHex(ip), nlri(p)).repeat(2)),
    want: { kind: 'reset', code: 3, subcode: 1, data: '' },
  },
  {
    name: 'MP_REACH_NLRI (IPv4) next hop length 5',
    rfc: '7606 §7.11 (session reset)',
    bytes: (p) => update(ORIGIN + AS_PATH + mpReach4('0102030405', nlri(p))),
    want: { kind: 'reset', code: 3, subcode: 9 },
  },
];

/** Case i uses prefix 10.100.i.0/24, sentinel 10.101.i.0/24, and source address 10.30.0.(10+i). */
async function runCase(rig: Rig, c: Case, i: number): Promise<void> {
  const ip = `10.30.0.${10 + i}`;
  const p = `10.100.${i}.0/24`;
  const sentinel = `10.101.${i}.0/24`;
  const peer: RawBgpPeer = await rig.rawPeer(10 + i);
  try {
    peer.send(update(good(ip) + 'c00804fdea0001', nlri(p)));
    await waitFor(`${p} in margay RIB`, async () => (await rig.ribFrom(p, ip)).length === 1, 5000, 20);
    await waitFor(`${p} at BIRD`, async () => (await rig.birdRoute(p)) !== '', 5000, 50);
    peer.send(c.bytes(p, ip));
    if (c.want.kind === 'reset') {
      const n = await peer.notification(5000);
      const got = { code: n.code, subcode: n.subcode, ...(c.want.data !== undefined ? { data: n.data } : {}) };
      expect(got, `${c.name}: NOTIFICATION`).toEqual({
        code: c.want.code,
        subcode: c.want.subcode,
        ...(c.want.data !== undefined ? { data: c.want.data } : {}),
      });
      await peer.closed;
      await waitFor(`${p} gone from margay RIB`, async () => (await rig.ribFrom(p, ip)).length === 0, 5000, 20);
      await waitFor(`${p} withdrawn at BIRD`, async () => (await rig.birdRoute(p)) === '', 5000, 50);
      return;
    }
    peer.send(update(good(ip), nlri(sentinel)));
    await waitFor(`${sentinel} in margay RIB`, async () => (await rig.ribFrom(sentinel, ip)).length === 1, 5000, 20);
    expect(
      peer.received.filter((m) => m.type === 3).map((m) => m.notification),
      `${c.name}: no NOTIFICATION`,
    ).toEqual([]);
    expect((await rig.margay.peer(ip))?.state, `${c.name}: session stays up`).toBe('Established');
    if (c.want.kind === 'withdraw') {
      expect(await rig.ribFrom(p, ip), `${c.name}: treat-as-withdraw in margay RIB`).toEqual([]);
      await waitFor(`${sentinel} at BIRD`, async () => (await rig.birdRoute(sentinel)) !== '', 5000, 50);
      expect(await rig.birdRoute(p), `${c.name}: BIRD got the withdrawal`).toBe('');
      return;
    }
    const r = await rig.ribFrom(p, ip);
    expect(r.length, `${c.name}: route kept`).toBe(1);
    expect(r[0]!.communities, `${c.name}: the UPDATE was applied (community 65002:77)`).toEqual(['65002:77']);
    let bird = '';
    await waitFor(
      `${p} at BIRD with community 65002:77`,
      async () => (bird = await rig.birdRoute(p)).includes('(65002,77)'),
      5000,
      50,
    );
    c.want.check?.(r[0]!, bird);
    if (c.observe !== undefined) {
      const obs = await rig.rawPeer(200 + i);
      try {
        const u = await obs.waitFor((m) => m.type === 2 && m.bytes.toString('hex').includes(nlri(p)), 5000);
        const got = u.bytes.toString('hex').slice(38);
        expect(c.observe.test(got), `${c.name}: attribute as re-advertised, UPDATE body ${got}`).toBe(true);
      } finally {
        obs.close();
      }
    }
  } finally {
    peer.close();
  }
}

describe('margay-bgpd: malformed UPDATEs after a valid route (black box, RIB + BIRD downstream)', () => {
  it('reacts to each case as the RFCs say, and tells BIRD', { timeout: 120_000 }, async () => {
    const failures: string[] = [];
    await withRig(async (rig) => {
      for (let i = 0; i < CASES.length; i++) {
        const c = CASES[i]!;
        try {
          await runCase(rig, c, i);
        } catch (err) {
          failures.push(`[${c.rfc}] ${c.name}: ${(err as Error).message.split('\n')[0]}`);
        }
      }
      // The daemon survived all of it and still serves its healthy peer.
      expect((await rig.margay.peer('10.31.0.2'))?.state).toBe('Established');
    });
    expect(failures).toEqual([]);
  });

  it('treat-as-withdraw covers every NLRI of the UPDATE and still applies its withdrawn routes', {
    timeout: 30_000,
  }, async () => {
    await withRig(async (rig) => {
      const ip = '10.30.0.99';
      const peer = await rig.rawPeer(99);
      try {
        const [a, b, c, d] = ['10.190.1.0/24', '10.190.2.0/24', '10.190.3.0/24', '10.190.4.0/24'];
        peer.send(update(good(ip), nlri(a) + nlri(b) + nlri(c) + nlri(d)));
        await waitFor(
          'all four at BIRD',
          async () => (await rig.birdRoute(d)) !== '' && (await rig.birdRoute(a)) !== '',
          5000,
          50,
        );
        // Bad ORIGIN: a and b treated as withdrawn; c withdrawn explicitly; d untouched.
        peer.send(update('40010103' + AS_PATH + nh(ip), nlri(a) + nlri(b), nlri(c)));
        peer.send(update(good(ip), nlri('10.190.9.0/24')));
        await waitFor('sentinel at BIRD', async () => (await rig.birdRoute('10.190.9.0/24')) !== '', 5000, 50);
        for (const gone of [a, b, c]) {
          expect(await rig.ribFrom(gone, ip), gone).toEqual([]);
          expect(await rig.birdRoute(gone), gone).toBe('');
        }
        expect((await rig.ribFrom(d, ip)).length).toBe(1);
        expect(peer.received.filter((m) => m.type === 3)).toEqual([]);
      } finally {
        peer.close();
      }
    });
  });
});
