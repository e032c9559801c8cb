/**
 * Fuzzing the BGP codec: random bytes and mutations of valid messages (bit flips, interesting bytes,
 * length-field edits, truncation, extension, attribute splicing, slice duplication) go through the
 * Framer (random chunking) and `decodeMessage` under several DecodeOptions. The only acceptable
 * exception is a BgpProtocolError; anything else is a crash. Decoded UPDATEs are also iterated and
 * re-encoded, because the RIB will do exactly that with whatever the decoder accepted.
 */
import {
  BgpProtocolError,
  decodeMessage,
  decodeOptions,
  encodeEndOfRib,
  encodeHardReset,
  encodeKeepalive,
  encodeMpReach,
  encodeMpUnreach,
  encodeNotification,
  encodeOpen,
  encodePathAttributes,
  encodePrefixes,
  encodeRouteRefresh,
  encodeShutdown,
  encodeUpdate,
  FAMILY,
  forEachNlri,
  Framer,
  nlriListToStrings,
  parseAddress,
  treatAsWithdrawLists,
  validateOpen,
  type DecodeOptions,
  type UpdateMessage,
} from '../../bgp/codec/index.js';

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const OPTION_SETS: readonly DecodeOptions[] = [
  decodeOptions({ localAs: 65000, peerAs: 65001 }),
  decodeOptions({ localAs: 65000, peerAs: 65000, isIbgp: true, enhancedRouteRefresh: true }),
  decodeOptions({ fourOctetAs: false, addPathReceive: new Set([FAMILY.IPV4_UNICAST, FAMILY.IPV6_UNICAST]) }),
  decodeOptions({ extendedMessages: true, families: new Set([FAMILY.IPV4_UNICAST]), isIbgp: true }),
];

/** Valid messages of every kind, the seeds for mutation. */
export function corpus(): Buffer[] {
  const enc4 = { fourOctetAs: true, extendedMessages: false };
  const enc2 = { fourOctetAs: false, extendedMessages: false };
  const full = {
    origin: 1 as const,
    asPath: [
      { type: 2 as const, asns: [65001, 4200000001, 7] },
      { type: 1 as const, asns: [1, 2] },
    ],
    nextHop: '192.0.2.1',
    med: 50,
    localPref: 200,
    atomicAggregate: true,
    aggregator: { asn: 4200000009, address: '192.0.2.9' },
    communities: [0xffffff01, 65001 * 65536 + 5],
    originatorId: '10.0.0.1',
    clusterList: ['10.0.0.2', '10.0.0.3'],
    extCommunities: [Buffer.from('0002fde900000064', 'hex')],
    largeCommunities: [{ global: 65001, local1: 1, local2: 2 }],
    unknown: [{ flags: 0xc0, type: 99, value: Buffer.from('abcd', 'hex') }],
  };
  const v6nh = Buffer.concat([parseAddress('2001:db8::1')!, parseAddress('fe80::1')!]);
  const v4 = encodePrefixes(['10.0.0.0/8', '10.1.0.0/16', '10.1.2.0/24', '10.1.2.3/32', '0.0.0.0/0']);
  const v6 = encodePrefixes(['2001:db8::/32', '2001:db8:1::/48', '::/0', '2001:db8::1/128']);
  const v4ap = encodePrefixes(['10.0.0.0/8', '10.0.0.0/8'], [1, 2]);
  const base = encodePathAttributes({ origin: 0, asPath: [{ type: 2, asns: [65001] }] }, enc4);
  return [
    encodeKeepalive(),
    encodeOpen({
      asn: 4200000001,
      holdTime: 90,
      bgpId: 0x0a000001,
      capabilities: [
        { kind: 'multiprotocol', afi: 1, safi: 1 },
        { kind: 'multiprotocol', afi: 2, safi: 1 },
        { kind: 'route-refresh' },
        { kind: 'enhanced-route-refresh' },
        { kind: 'four-octet-as', asn: 4200000001 },
        {
          kind: 'graceful-restart',
          restarting: true,
          notification: true,
          restartTime: 120,
          families: [{ afi: 1, safi: 1, forwardingPreserved: true }],
        },
        { kind: 'add-path', families: [{ afi: 1, safi: 1, mode: 'both' }] },
        { kind: 'extended-next-hop', entries: [{ afi: 1, safi: 1, nextHopAfi: 2 }] },
        { kind: 'extended-message' },
        { kind: 'unknown', code: 73, value: Buffer.from('0474657374', 'hex') },
      ],
    }),
    encodeOpen({ asn: 65001, holdTime: 3, bgpId: 1, capabilities: [{ kind: 'route-refresh' }], extendedParams: true }),
    encodeUpdate({ attributes: encodePathAttributes(full, enc4), nlri: v4 }),
    encodeUpdate({
      attributes: encodePathAttributes(full, enc2),
      nlri: v4,
      withdrawn: encodePrefixes(['192.168.0.0/16']),
    }),
    encodeUpdate({ attributes: Buffer.concat([encodeMpReach(2, 1, v6nh, v6), base]) }),
    encodeUpdate({ attributes: Buffer.concat([encodeMpReach(1, 1, parseAddress('2001:db8::1')!, v4), base]) }),
    encodeUpdate({ attributes: encodeMpUnreach(2, 1, v6) }),
    encodeUpdate({ attributes: encodePathAttributes({ ...full, nextHop: '192.0.2.7' }, enc4), nlri: v4ap }),
    encodeUpdate({ withdrawn: v4 }),
    encodeEndOfRib(FAMILY.IPV4_UNICAST),
    encodeEndOfRib(FAMILY.IPV6_UNICAST),
    encodeNotification(3, 2, Buffer.from('40630100', 'hex')),
    encodeShutdown(2, 'maintenance'),
    encodeHardReset(6, 4, Buffer.from('026869', 'hex')),
    encodeRouteRefresh(1, 1, 0),
    encodeRouteRefresh(2, 1, 1),
  ];
}

const INTERESTING = [
  0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x0f, 0x10, 0x1f, 0x20, 0x21, 0x40, 0x7f, 0x80, 0x81, 0x90, 0xc0, 0xd0, 0xe0,
  0xfe, 0xff,
];

/** Walk an UPDATE's attributes; returns [start, end) of each attribute (for splicing and length edits). */
function attributeSpans(m: Buffer): [number, number][] {
  const out: [number, number][] = [];
  if (m.length < 23 || m[18] !== 2) return out;
  const wd = m.readUInt16BE(19);
  if (21 + wd + 2 > m.length) return out;
  const alen = m.readUInt16BE(21 + wd);
  let off = 23 + wd;
  const end = Math.min(m.length, off + alen);
  while (off + 3 <= end) {
    const ext = (m[off]! & 0x10) !== 0;
    if (ext && off + 4 > end) break;
    const len = ext ? m.readUInt16BE(off + 2) : m[off + 2]!;
    const e = off + (ext ? 4 : 3) + len;
    if (e > end) break;
    out.push([off, e]);
    off = e;
  }
  return out;
}

function fixLength(m: Buffer): Buffer {
  if (m.length >= 19 && m.length <= 65535) m.writeUInt16BE(m.length, 16);
  return m;
}

export function mutate(seed: Buffer, pool: readonly Buffer[], r: () => number): Buffer {
  const pick = (n: number): number => Math.floor(r() * n);
  let m = Buffer.from(seed);
  const rounds = 1 + pick(4);
  for (let k = 0; k < rounds; k++) {
    const op = pick(10);
    if (m.length === 0) m = Buffer.from(seed);
    switch (op) {
      case 0: // bit flips
        for (let i = 0, n = 1 + pick(3); i < n; i++) {
          const at = pick(m.length);
          m[at]! ^= 1 << pick(8);
        }
        break;
      case 1: {
        // interesting byte, preferably in the body
        const at = m.length > 19 ? 19 + pick(m.length - 19) : pick(m.length);
        m[at] = INTERESTING[pick(INTERESTING.length)]!;
        break;
      }
      case 2: {
        // edit a 2-byte length field: message, withdrawn, attribute total, or any offset
        const at = [16, 19, 21, pick(Math.max(1, m.length - 1))][pick(4)]!;
        if (at + 2 <= m.length)
          m.writeUInt16BE([0, 1, 18, 19, 22, 23, 255, 256, 4096, 65535, pick(65536)][pick(11)]!, at);
        break;
      }
      case 3: {
        // edit one attribute's length byte or flags
        const spans = attributeSpans(m);
        const s = spans[pick(spans.length)];
        if (s) {
          if (r() < 0.5) m[s[0]]! ^= [0x10, 0x20, 0x40, 0x80][pick(4)]!;
          else m[s[0] + 2] = INTERESTING[pick(INTERESTING.length)]!;
        }
        break;
      }
      case 4: // truncate
        m = Buffer.from(m.subarray(0, pick(m.length + 1)));
        if (r() < 0.7) fixLength(m);
        break;
      case 5: // extend with random bytes
        m = Buffer.concat([m, Buffer.from(Array.from({ length: 1 + pick(40) }, () => pick(256)))]);
        if (r() < 0.7) fixLength(m);
        break;
      case 6: {
        // splice an attribute from another UPDATE (or this one: duplicates)
        const donor = pool[pick(pool.length)]!;
        const ds = attributeSpans(donor);
        const spans = attributeSpans(m);
        const d = ds[pick(ds.length)];
        const at = spans[pick(spans.length)];
        if (d && at) {
          m = Buffer.concat([m.subarray(0, at[0]), donor.subarray(d[0], d[1]), m.subarray(at[0])]);
          const wd = m.readUInt16BE(19);
          m.writeUInt16BE((m.readUInt16BE(21 + wd) + d[1] - d[0]) & 0xffff, 21 + wd);
          fixLength(m);
        }
        break;
      }
      case 7: {
        // duplicate a slice
        const a = pick(m.length);
        const b = Math.min(m.length, a + 1 + pick(16));
        m = Buffer.concat([m.subarray(0, b), m.subarray(a, b), m.subarray(b)]);
        if (r() < 0.7) fixLength(m);
        break;
      }
      case 8: // change the message type
        if (m.length > 18) m[18] = 1 + pick(6);
        break;
      default: // random body of the same type
        m = Buffer.concat([m.subarray(0, 19), Buffer.from(Array.from({ length: pick(64) }, () => pick(256)))]);
        fixLength(m);
    }
  }
  return m;
}

export interface FuzzFailure {
  readonly input: string;
  readonly options: number;
  readonly error: unknown;
}

export type Decode = typeof decodeMessage;
/** Receives every UPDATE the codec accepted (option-set index, message); see rib-sink.ts. */
export type UpdateSink = (optionSet: number, u: UpdateMessage) => void;

/** What the inputs did: decoded message kinds (with UPDATE actions) and protocol errors by code/subcode. */
export type FuzzStats = Map<string, number>;

function count(stats: FuzzStats, key: string): void {
  stats.set(key, (stats.get(key) ?? 0) + 1);
}

/** Decode one message under one option set; returns the non-protocol error if any. */
function exercise(input: Buffer, o: number, stats: FuzzStats, decode: Decode, sink: UpdateSink | undefined): unknown {
  const opts = OPTION_SETS[o]!;
  try {
    const msg = decode(input, opts);
    if (msg.type === 'update') {
      checkUpdate(msg, opts);
      count(stats, `ok update ${msg.action}`);
      if (sink) sink(o, msg);
    } else {
      if (msg.type === 'open') {
        // What the FSM does with every OPEN; its verdict is a value, never a throw.
        const verdict = validateOpen(msg, {
          localAs: opts.localAs || 65000,
          localBgpId: 0x0a000001,
          peerAs: 'external',
          localRole: 0,
        });
        if (verdict) encodeNotification(verdict.errorCode, verdict.subcode, verdict.data);
      }
      count(stats, `ok ${msg.type}`);
    }
    return undefined;
  } catch (err) {
    if (err instanceof BgpProtocolError) {
      if (err.errorCode < 1 || err.errorCode > 8 || !(err.data instanceof Buffer))
        return new Error(`odd protocol error ${err.errorCode}/${err.subcode}`, { cause: err });
      encodeNotification(err.errorCode, err.subcode, err.data); // what the session sends back
      count(stats, `error ${err.errorCode}/${err.subcode}`);
      return undefined;
    }
    return err;
  }
}

function checkUpdate(u: UpdateMessage, opts: DecodeOptions): void {
  let n = 0;
  const visit = (): void => void n++;
  forEachNlri(u.nlri, visit);
  forEachNlri(u.withdrawn, visit);
  if (u.attributes.mpReach) forEachNlri(u.attributes.mpReach.nlri, visit);
  if (u.attributes.mpUnreach) nlriListToStrings(u.attributes.mpUnreach.withdrawn);
  const expected = u.nlri.count + u.withdrawn.count + (u.attributes.mpReach?.nlri.count ?? 0);
  if (n !== expected) throw new Error(`NLRI count mismatch ${n} != ${expected}`);
  encodePathAttributes(u.attributes, { fourOctetAs: opts.fourOctetAs, extendedMessages: opts.extendedMessages });
  checkAttributeBlock(u.rawAttributes);
  for (const l of treatAsWithdrawLists(u)) forEachNlri(l, visit);
}

/** rawAttributes must be a clean TLV sequence: exact end, no duplicate type. */
function checkAttributeBlock(b: Buffer): void {
  const seen = new Set<number>();
  let off = 0;
  while (off < b.length) {
    if (off + 3 > b.length) throw new Error('rawAttributes: truncated header');
    const ext = (b[off]! & 0x10) !== 0;
    const len = ext ? b.readUInt16BE(off + 2) : b[off + 2]!;
    const type = b[off + 1]!;
    if (seen.has(type)) throw new Error(`rawAttributes: duplicate attribute ${type}`);
    seen.add(type);
    off += (ext ? 4 : 3) + len;
  }
  if (off !== b.length) throw new Error('rawAttributes: overrun');
}

/** Run `iterations` inputs; returns the failures (empty when clean). Stops after `maxFailures`. */
export function runFuzz(p: {
  iterations: number;
  seed: number;
  maxFailures?: number;
  stats?: FuzzStats;
  /** The decoder under test; only the harness self-test replaces it. */
  decode?: Decode;
  /** Pipeline mode: every accepted UPDATE also goes here (the real RIB). */
  sink?: UpdateSink;
  onProgress?: (done: number) => void;
}): FuzzFailure[] {
  const stats = p.stats ?? new Map<string, number>();
  const decode = p.decode ?? decodeMessage;
  const r = rng(p.seed);
  const pool = corpus();
  const failures: FuzzFailure[] = [];
  const max = p.maxFailures ?? 1;
  for (let i = 0; i < p.iterations && failures.length < max; i++) {
    let input: Buffer;
    const kind = r();
    if (kind < 0.1) {
      input = Buffer.from(Array.from({ length: Math.floor(r() * 80) }, () => Math.floor(r() * 256)));
      if (r() < 0.5 && input.length >= 19) {
        input.fill(0xff, 0, 16);
        fixLength(input);
      }
    } else {
      input = mutate(pool[Math.floor(r() * pool.length)]!, pool, r);
    }
    const o = i % OPTION_SETS.length;
    const err = exercise(input, o, stats, decode, p.sink);
    if (err !== undefined) failures.push({ input: input.toString('hex'), options: o, error: err });
    const framed = frameAll(input, r);
    if (framed.error !== undefined) failures.push({ input: input.toString('hex'), options: -1, error: framed.error });
    for (const m of framed.messages) {
      const e2 = exercise(m, (o + 1) % OPTION_SETS.length, stats, decode, p.sink);
      if (e2 !== undefined)
        failures.push({ input: m.toString('hex'), options: (o + 1) % OPTION_SETS.length, error: e2 });
    }
    if (p.onProgress && (i + 1) % 100_000 === 0) p.onProgress(i + 1);
  }
  return failures;
}

/** Push `input` through a Framer in random chunks. */
function frameAll(input: Buffer, r: () => number): { messages: Buffer[]; error?: unknown } {
  const f = new Framer(r() < 0.5 ? 4096 : 65535);
  const messages: Buffer[] = [];
  try {
    let off = 0;
    while (off < input.length) {
      const n = 1 + Math.floor(r() * input.length);
      messages.push(...f.push(input.subarray(off, off + n)));
      off += n;
    }
    return { messages };
  } catch (err) {
    if (err instanceof BgpProtocolError) return { messages };
    return { messages, error: err };
  }
}
