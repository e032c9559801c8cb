/**
 * Minimal BGP wire code for the benchmark's injector and collector. Deliberately independent of
 * bgp/codec (the benchmark must not share code, or bugs, with the thing it measures) and tight:
 * the harness has to be faster than BIRD, which takes ≈0.6 s for 1M prefixes.
 *
 * Only what a plain IPv4-unicast eBGP peer with 4-octet ASNs needs: OPEN, KEEPALIVE, UPDATE packing
 * of /32 host prefixes, and a streaming counter of the IPv4 NLRI a peer announces.
 */
const MARKER = Buffer.alloc(16, 0xff);
export const TYPE = { OPEN: 1, UPDATE: 2, NOTIFICATION: 3, KEEPALIVE: 4 } as const;

function header(buf: Buffer, off: number, len: number, type: number): void {
  MARKER.copy(buf, off);
  buf.writeUInt16BE(len, off + 16);
  buf[off + 18] = type;
}

export function encodeKeepalive(): Buffer {
  const b = Buffer.alloc(19);
  header(b, 0, 19, TYPE.KEEPALIVE);
  return b;
}

/** OPEN with MP IPv4 unicast, route refresh and 4-octet AS capabilities. */
export function encodeOpen(asn: number, routerId: string, holdTime: number): Buffer {
  const caps = Buffer.from([
    1,
    4,
    0,
    1,
    0,
    1, // MP-BGP: AFI 1, SAFI 1
    2,
    0, // route refresh
    65,
    4,
    (asn >>> 24) & 0xff,
    (asn >>> 16) & 0xff,
    (asn >>> 8) & 0xff,
    asn & 0xff, // 4-octet AS
  ]);
  const optLen = 2 + caps.length;
  const len = 29 + optLen;
  const b = Buffer.alloc(len);
  header(b, 0, len, TYPE.OPEN);
  b[19] = 4;
  b.writeUInt16BE(asn > 65535 ? 23456 : asn, 20);
  b.writeUInt16BE(holdTime, 22);
  const [a, bb, c, d] = routerId.split('.').map(Number) as [number, number, number, number];
  b[24] = a;
  b[25] = bb;
  b[26] = c;
  b[27] = d;
  b[28] = optLen;
  b[29] = 2; // optional parameter: capabilities
  b[30] = caps.length;
  caps.copy(b, 31);
  return b;
}

/** One realistic attribute set: ORIGIN, AS_PATH (4-octet), NEXT_HOP, optional MED and COMMUNITIES. */
export function encodeAttributes(i: number, localAs: number, nextHop: string): Buffer {
  const pathLen = 2 + (i % 5); // 2..6 ASNs
  const asns = [localAs];
  // Private ASNs well away from the benchmark's own 65001..65003 (a path through those would be
  // dropped by loop detection); the origin AS is a 4-octet one, as on today's Internet.
  for (let k = 1; k < pathLen - 1; k++) asns.push(64_600 + ((i * 7 + k * 13) % 300));
  asns.push(4_200_000_000 + (i % 1000));
  const parts: Buffer[] = [];
  parts.push(Buffer.from([0x40, 1, 1, i % 3 === 0 ? 2 : 0])); // ORIGIN (IGP or INCOMPLETE)
  const asPath = Buffer.alloc(3 + 2 + 4 * asns.length);
  asPath[0] = 0x40;
  asPath[1] = 2;
  asPath[2] = 2 + 4 * asns.length;
  asPath[3] = 2;
  asPath[4] = asns.length; // AS_SEQUENCE
  asns.forEach((a, k) => asPath.writeUInt32BE(a, 5 + 4 * k));
  parts.push(asPath);
  const nh = Buffer.from([0x40, 3, 4, ...nextHop.split('.').map(Number)]);
  parts.push(nh);
  if (i % 2 === 0) {
    const med = Buffer.alloc(7);
    med[0] = 0x80;
    med[1] = 4;
    med[2] = 4;
    med.writeUInt32BE(i % 1000, 3);
    parts.push(med);
  }
  const nComm = 1 + (i % 3);
  const comm = Buffer.alloc(3 + 4 * nComm);
  comm[0] = 0xc0;
  comm[1] = 8;
  comm[2] = 4 * nComm;
  for (let k = 0; k < nComm; k++)
    comm.writeUInt32BE((((localAs & 0xffff) << 16) | (100 + ((i + k) % 50))) >>> 0, 3 + 4 * k);
  parts.push(comm);
  return Buffer.concat(parts);
}

/** 0..n-1 in a deterministic pseudo-random order (Fisher–Yates over xorshift32 from `seed`). */
export function shuffledOrder(n: number, seed = 0x9e3779b9): Uint32Array {
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  let x = seed >>> 0 || 1;
  for (let i = n - 1; i > 0; i--) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const j = x % (i + 1);
    const t = out[i]!;
    out[i] = out[j]!;
    out[j] = t;
  }
  return out;
}

/**
 * N /32 prefixes base, base+1, ... (or, with `shuffle`, the same set in a pseudo-random order) packed
 * into UPDATEs of at most 4096 bytes, `attrSets` distinct attribute sets rotating per UPDATE. Returns
 * one contiguous buffer of back-to-back UPDATEs.
 */
export function buildUpdates(opts: {
  readonly count: number;
  readonly base: number;
  readonly localAs: number;
  readonly nextHop: string;
  readonly attrSets: number;
  readonly maxLen?: number;
  readonly shuffle?: boolean;
  /** At most this many prefixes per UPDATE (default: as many as fit). */
  readonly perUpdate?: number;
}): { buf: Buffer; messages: number } {
  const order = opts.shuffle ? shuffledOrder(opts.count) : undefined;
  const maxLen = opts.maxLen ?? 4096;
  const attrs: Buffer[] = [];
  for (let i = 0; i < opts.attrSets; i++) attrs.push(encodeAttributes(i, opts.localAs, opts.nextHop));
  const perUpdate = opts.perUpdate ?? Infinity;
  const maxAttr = attrs.reduce((m, a) => Math.max(m, a.length), 0);
  const out = Buffer.alloc(opts.count * 5 + Math.ceil(opts.count / Math.min(700, perUpdate)) * (23 + maxAttr) + 4096);
  let off = 0;
  let messages = 0;
  let next = 0;
  while (next < opts.count) {
    const a = attrs[messages % attrs.length]!;
    const start = off;
    const room = Math.floor((maxLen - 23 - a.length) / 5);
    const n = Math.min(room, perUpdate, opts.count - next);
    const len = 23 + a.length + n * 5;
    header(out, off, len, TYPE.UPDATE);
    off += 19;
    out.writeUInt16BE(0, off); // withdrawn routes length
    out.writeUInt16BE(a.length, off + 2);
    off += 4;
    a.copy(out, off);
    off += a.length;
    for (let k = 0; k < n; k++) {
      const addr = (opts.base + (order ? order[next + k]! : next + k)) >>> 0;
      out[off] = 32;
      out.writeUInt32BE(addr, off + 1);
      off += 5;
    }
    next += n;
    messages++;
    if (off - start !== len) throw new Error('bench: UPDATE length mismatch');
  }
  return { buf: out.subarray(0, off), messages };
}

/**
 * Counts distinct announced IPv4 /32s in [base, base+count) across a stream of BGP messages
 * (classic NLRI and MP_REACH_NLRI for AFI 1), with a bitmap: no per-prefix allocation.
 */
export class NlriCounter {
  readonly #seen: Uint8Array;
  #pending: Buffer = Buffer.alloc(0);
  distinct = 0;
  updates = 0;
  keepalives = 0;
  other = 0;
  notification: { code: number; subcode: number } | undefined;

  constructor(
    private readonly base: number,
    private readonly count: number,
  ) {
    this.#seen = new Uint8Array(Math.ceil(count / 8));
  }

  /** Feeds raw bytes; returns the whole messages' types seen (for the session handshake). */
  push(chunk: Buffer): number[] {
    const buf = this.#pending.length ? Buffer.concat([this.#pending, chunk]) : chunk;
    const types: number[] = [];
    let off = 0;
    while (buf.length - off >= 19) {
      const len = buf.readUInt16BE(off + 16);
      if (len < 19) throw new Error(`bench collector: bad message length ${len}`);
      if (buf.length - off < len) break;
      const type = buf[off + 18]!;
      types.push(type);
      if (type === TYPE.UPDATE) this.#update(buf, off + 19, off + len);
      else if (type === TYPE.KEEPALIVE) this.keepalives++;
      else if (type === TYPE.NOTIFICATION) this.notification = { code: buf[off + 19]!, subcode: buf[off + 20]! };
      else this.other++;
      off += len;
    }
    this.#pending = off === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(off));
    return types;
  }

  #update(b: Buffer, start: number, end: number): void {
    this.updates++;
    const wlen = b.readUInt16BE(start);
    let p = start + 2 + wlen;
    const alen = b.readUInt16BE(p);
    p += 2;
    const aend = p + alen;
    while (p < aend) {
      const flags = b[p]!;
      const type = b[p + 1]!;
      const ext = (flags & 0x10) !== 0;
      const len = ext ? b.readUInt16BE(p + 2) : b[p + 2]!;
      const v = p + (ext ? 4 : 3);
      if (type === 14 && b.readUInt16BE(v) === 1) {
        const nhLen = b[v + 3]!;
        const nlriStart = v + 4 + nhLen + 1;
        this.#nlri(b, nlriStart, v + len);
      }
      p = v + len;
    }
    this.#nlri(b, aend, end);
  }

  #nlri(b: Buffer, p: number, end: number): void {
    while (p < end) {
      const plen = b[p]!;
      const nbytes = (plen + 7) >> 3;
      if (plen === 32) {
        const idx = (b.readUInt32BE(p + 1) - this.base) >>> 0;
        if (idx < this.count) {
          const byte = idx >> 3;
          const bit = 1 << (idx & 7);
          if ((this.#seen[byte]! & bit) === 0) {
            this.#seen[byte]! |= bit;
            this.distinct++;
          }
        }
      }
      p += 1 + nbytes;
    }
  }
}

export function ipToU32(ip: string): number {
  return ip.split('.').reduce((acc, o) => ((acc << 8) | Number(o)) >>> 0, 0);
}
