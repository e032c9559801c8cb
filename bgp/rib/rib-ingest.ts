/**
 * UPDATE ingest: walks NLRI bytes in place (no per-prefix objects), interns the attribute set once per
 * UPDATE, applies the cached import transform, and updates the path pool and best path per prefix.
 * Handles withdrawals, implicit withdraw (same peer + path id), ADD-PATH receive, MP_REACH/MP_UNREACH,
 * RFC 7606 treat-as-withdraw, End-of-RIB (sweeps the peer's stale routes) and max-prefix.
 */
import type { AttrSet } from './attr-store.js';
import { ATTR, FLAG, RibInputError, parseAttrs, type MpLocation } from './attrs.js';
import type { FamilyTable } from './family-table.js';
import { PATH_STALE } from './family-table.js';
import { famIndex, type PeerRt } from './peer.js';
import { mask32 } from '../attrs/index.js';
import type { RibCore } from './rib-core.js';
import { importTransform } from './transforms.js';
import type { Family, IngestResult, RibUpdate } from './types.js';

interface Counts {
  announced: number;
  withdrawn: number;
  rejected: number;
}

const words6 = new Uint32Array(4);

function familyOf(afi: number, safi: number): Family | undefined {
  if (safi !== 1) return undefined;
  return afi === 1 ? 'ipv4' : afi === 2 ? 'ipv6' : undefined;
}

/**
 * Reads one NLRI at `o`; writes the prefix into words6 (IPv6) and returns [next offset, pathId, len,
 * v4 word]. Bounds-checked: the codec validated these bytes, so a failure here is a caller bug.
 */
function readNlri(
  b: Uint8Array,
  o: number,
  end: number,
  v6: boolean,
  addPath: boolean,
  out: Int32Array | Uint32Array,
): number {
  let pid = 0;
  if (addPath) {
    if (o + 4 > end) throw new RibInputError('truncated ADD-PATH id');
    pid = ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
    o += 4;
  }
  if (o >= end) throw new RibInputError('truncated NLRI');
  const len = b[o++]!;
  if (len > (v6 ? 128 : 32)) throw new RibInputError(`NLRI length ${len} too long`);
  const nb = (len + 7) >>> 3;
  if (o + nb > end) throw new RibInputError('NLRI overruns');
  if (!v6) {
    let a = 0;
    for (let j = 0; j < nb; j++) a |= b[o + j]! << (24 - 8 * j);
    out[0] = (a & mask32(len)) >>> 0;
  } else {
    for (let w = 0; w < 4; w++) {
      let a = 0;
      for (let j = 0; j < 4; j++) {
        const k = w * 4 + j;
        if (k < nb) a |= b[o + k]! << (24 - 8 * j);
      }
      words6[w] = (a & mask32(len - 32 * w)) >>> 0;
    }
  }
  out[1] = pid;
  out[2] = len;
  return o + nb;
}

const scratch = new Uint32Array(3);

function prefixIndex(ft: FamilyTable, v6: boolean, insert: boolean): number {
  const len = scratch[2]!;
  const pi = v6
    ? ft.prefixes.lookup4(words6, 0, len, insert)
    : insert
      ? ft.prefixes.intern1(scratch[0]!, len)
      : ft.prefixes.find1(scratch[0]!, len);
  if (insert) ft.syncCapacity();
  return pi;
}

function withdrawNlri(rib: RibCore, P: PeerRt, fam: Family, b: Uint8Array, o: number, end: number, c: Counts): void {
  const f = famIndex(fam),
    ft = rib.tables[f]!,
    v6 = fam === 'ipv6';
  const addPath = P.neg!.addPathReceive?.includes(fam) === true;
  while (o < end) {
    o = readNlri(b, o, end, v6, addPath, scratch);
    c.withdrawn++;
    const pi = prefixIndex(ft, v6, false);
    if (pi < 0) continue;
    const q = ft.findPath(pi, P.idx, scratch[1]!);
    if (q >= 0) rib.removePath(f, q);
  }
}

function announceNlri(
  rib: RibCore,
  P: PeerRt,
  fam: Family,
  A: AttrSet,
  b: Uint8Array,
  o: number,
  end: number,
  c: Counts,
): void {
  const f = famIndex(fam),
    ft = rib.tables[f]!,
    v6 = fam === 'ipv6',
    store = rib.store;
  const addPath = P.neg!.addPathReceive?.includes(fam) === true;
  const perPrefix = P.importPolicy?.prefixDependent === true;
  const cache = P.importCache[f]!;
  let imp: AttrSet | null | undefined;
  if (!perPrefix) {
    imp = cache.get(A.id);
    if (imp === undefined) {
      imp = importTransform(rib.env, P, A, { family: fam, words: words6, len: 0 });
      cache.set(A.id, imp);
    }
    if (imp) imp = rib.live(imp);
  }
  while (o < end) {
    o = readNlri(b, o, end, v6, addPath, scratch);
    c.announced++;
    const pi = prefixIndex(ft, v6, true);
    if (perPrefix) {
      const r = importTransform(rib.env, P, A, { family: fam, words: v6 ? words6 : scratch, len: scratch[2]! });
      imp = r ? rib.live(r) : null;
    }
    const nid = imp ? imp.id : -1;
    if (nid < 0) c.rejected++;
    store.acquire(A.id);
    if (nid >= 0) store.acquire(nid);
    const pid = scratch[1]!;
    let q = -1,
      wasBest = false;
    for (let r = ft.head[pi]!; r >= 0; r = ft.nextOf(r))
      if (ft.pathPeer[r] === P.idx && ft.pathIdOf(r) === pid) {
        q = r;
        break;
      }
    if (q < 0) {
      ft.allocPath(pi, P.idx, pid, A.id, nid);
      P.received[f]!++;
      if (nid >= 0) P.accepted[f]!++;
    } else {
      const oldIn = ft.inAttrOf(q),
        old = ft.pathAttr[q]!;
      ft.setAttrs(q, A.id, nid);
      ft.pathFlags[q] = ft.pathFlags[q]! & ~PATH_STALE;
      ft.touchSeq(q);
      store.release(oldIn);
      if (old >= 0) store.release(old);
      P.accepted[f]! += Number(nid >= 0) - Number(old >= 0);
      wasBest = ft.bestOf(pi) === q && old !== nid;
    }
    rib.recompute(f, pi, wasBest);
  }
  if (imp) store.dropIfUnused(imp);
}

/** Intern key for an MP block: the non-MP attributes plus the MP next hop (see AttrStore.internRaw). */
function mpKey(b: Uint8Array, mp: MpLocation | undefined): Uint8Array {
  const parts: Uint8Array[] = [];
  let off = 0;
  while (off < b.length) {
    const flags = b[off]!,
      type = b[off + 1]!,
      ext = (flags & FLAG.EXTENDED_LENGTH) !== 0;
    const len = ext ? (b[off + 2]! << 8) | b[off + 3]! : b[off + 2]!;
    const e = off + (ext ? 4 : 3) + len;
    if (type !== ATTR.MP_REACH_NLRI && type !== ATTR.MP_UNREACH_NLRI) parts.push(b.subarray(off, e));
    off = e;
  }
  if (mp) parts.push(Uint8Array.of(0xee), b.subarray(mp.nextHopStart, mp.nextHopEnd));
  const out = new Uint8Array(parts.reduce((n, x) => n + x.length, 0));
  let k = 0;
  for (const x of parts) {
    out.set(x, k);
    k += x.length;
  }
  return out;
}

export function ingestUpdate(rib: RibCore, P: PeerRt, u: RibUpdate): IngestResult {
  const c: Counts = { announced: 0, withdrawn: 0, rejected: 0 };
  const scan = rib.scan,
    attrs = u.attrs,
    as4 = P.neg!.fourOctetAs;
  const nlri = u.nlri,
    wd = u.withdrawn;
  const hasNlri = nlri !== undefined && nlri.end > nlri.start;
  const hasWd = wd !== undefined && wd.end > wd.start;
  // End-of-RIB: empty UPDATE (IPv4) or only an empty MP_UNREACH (RFC 4724 §2).
  if (!hasNlri && !hasWd) {
    const un = scan.mpUnreach;
    const eor: Family | undefined =
      attrs.length === 0
        ? 'ipv4'
        : !scan.hasReachAttrs && un && un.nlriEnd === un.nlriStart
          ? familyOf(un.afi, un.safi)
          : undefined;
    if (eor) {
      rib.sweepStale(P.config.id, eor);
      return { ...c, endOfRib: eor };
    }
  }
  if (hasWd) withdrawNlri(rib, P, 'ipv4', wd.buf, wd.start, wd.end, c);
  if (scan.mpUnreach) {
    const fam = familyOf(scan.mpUnreach.afi, scan.mpUnreach.safi);
    if (fam) withdrawNlri(rib, P, fam, attrs, scan.mpUnreach.nlriStart, scan.mpUnreach.nlriEnd, c);
  }
  const mp = scan.mpReach,
    mpFam = mp ? familyOf(mp.afi, mp.safi) : undefined;
  if (u.treatAsWithdraw) {
    if (hasNlri) withdrawNlri(rib, P, 'ipv4', nlri.buf, nlri.start, nlri.end, c);
    if (mp && mpFam) withdrawNlri(rib, P, mpFam, attrs, mp.nlriStart, mp.nlriEnd, c);
    return c;
  }
  const touched: Family[] = [];
  if (hasNlri) {
    const tag = Number(as4);
    const A = mp
      ? (() => {
          const k = mpKey(attrs, undefined);
          return rib.store.internRaw(tag | 0x40, scan.hash, k, 0, k.length, () =>
            parseAttrs(attrs, 0, attrs.length, as4, false),
          );
        })()
      : rib.store.internRaw(tag, scan.hash, attrs, 0, attrs.length, () =>
          parseAttrs(attrs, 0, attrs.length, as4, false),
        );
    announceNlri(rib, P, 'ipv4', A, nlri.buf, nlri.start, nlri.end, c);
    rib.store.dropIfUnused(A);
    touched.push('ipv4');
  }
  if (mp && mpFam && mp.nlriEnd > mp.nlriStart) {
    const k = mpKey(attrs, mp);
    const A = rib.store.internRaw(Number(as4) | 0x80, scan.hash, k, 0, k.length, () =>
      parseAttrs(attrs, 0, attrs.length, as4, true),
    );
    announceNlri(rib, P, mpFam, A, attrs, mp.nlriStart, mp.nlriEnd, c);
    rib.store.dropIfUnused(A);
    touched.push(mpFam);
  }
  const limit = P.config.maxPrefixes;
  if (limit !== undefined) {
    for (const fam of touched) {
      if (P.accepted[famIndex(fam)]! <= limit) continue;
      const data = new Uint8Array(7);
      new DataView(data.buffer).setUint16(0, fam === 'ipv4' ? 1 : 2);
      data[2] = 1;
      new DataView(data.buffer).setUint32(3, limit);
      return { ...c, maxPrefixExceeded: { family: fam, limit, data } };
    }
  }
  return c;
}
