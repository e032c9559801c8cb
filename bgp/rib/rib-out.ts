/**
 * Adj-RIB-Out generation: drains a peer's dirty queue in chunks, computes what the peer should have
 * for each prefix (export transform, cached per Loc-RIB set and source peer), skips prefixes whose
 * advertised set is unchanged, groups the rest by outgoing set and writes packed UPDATEs. End-of-RIB
 * follows once the initial table has been sent (RFC 4724).
 */
import { parseAddressBytes } from '../../src/net/index.js';
import { parseCommunity, parseLargeCommunity } from '../attrs/index.js';
import type { OriginateAttrs } from './api.js';
import type { AttrSet, AttrStore } from './attr-store.js';
import type { FamilyTable } from './family-table.js';
import type { Family } from './types.js';
import { EMPTY_ATTRS, encodeAttrs, type RouteAttrs } from './attrs.js';
import { advOf, setAdv, type PeerRt } from './peer.js';
import type { RibCore } from './rib-core.js';
import { exportTransform } from './transforms.js';
import { UpdateWriter, mpOverhead, nlriBytes, v4Overhead } from './update-writer.js';

const CHUNK = 16384;

export function originateAttrs(o: OriginateAttrs): RouteAttrs {
  return {
    ...EMPTY_ATTRS,
    nextHop: o.nextHop !== undefined ? parseAddressBytes(o.nextHop) : new Uint8Array(0),
    communities: (o.communities ?? []).map(parseCommunity),
    largeCommunities: (o.largeCommunities ?? []).flatMap((t) => [...parseLargeCommunity(t)]),
    ...(o.med !== undefined && { med: o.med }),
    ...(o.localPref !== undefined && { localPref: o.localPref }),
  };
}

/** Encoded attribute block of `set` for peer T (cached on the set per flavour). */
function wireOf(set: AttrSet, fourOctetAs: boolean, nextHopAttr: boolean): Uint8Array {
  const k = Number(fourOctetAs) | (Number(nextHopAttr) << 1);
  let w = set.wire.get(k);
  if (w === undefined) set.wire.set(k, (w = encodeAttrs(set.attrs, { fourOctetAs, nextHopAttr })));
  return w;
}

/**
 * Bytes left for NLRI in one UPDATE carrying `set` to a peer (limit `maxLen`), in the form the writer
 * will use (classic IPv4 fields, or MP_REACH). Negative or small: the route cannot be sent to the peer
 * (RFC 4271 §9.2). Cheap after the first call: the encoded block is cached on the set.
 */
export function roomFor(set: AttrSet, fam: Family, as4: boolean, maxLen: number): number {
  const nh = set.attrs.nextHop;
  return fam === 'ipv4' && nh.length === 4
    ? maxLen - v4Overhead(wireOf(set, as4, true).length)
    : maxLen - mpOverhead(nh.length, wireOf(set, as4, false).length);
}

/** Per-chunk scratch (no per-prefix JS arrays): prefix and outgoing set per changed prefix, then grouped. */
const chunkPi = new Int32Array(CHUNK);
const chunkSet = new Int32Array(CHUNK);
const grouped = new Int32Array(CHUNK);
/** Prefixes of the chunk left without any path: their slots may be freed once written. */
const emptied = new Int32Array(CHUNK);
/** Export sets withheld in the current chunk (too big for the peer). */
const unsent: AttrSet[] = [];

export function writeOutbound(rib: RibCore, T: PeerRt, maxBytes: number): Buffer[] {
  const w = new UpdateWriter(T.neg!.extendedMessages ? 65535 : 4096);
  const store = rib.store,
    as4 = T.neg!.fourOctetAs,
    maxLen = w.maxLen;
  const perPrefix = T.exportPolicy?.prefixDependent === true;
  for (let f = 0; f < 2; f++) {
    const o = T.out[f];
    if (!o) continue;
    const ft = rib.tables[f]!,
      fam = ft.family,
      cache = T.exportCache[f]!;
    if (o.dirty.count > 0 && w.bytes < maxBytes) o.refreshMarked = false; // some marks are consumed now
    while (w.bytes < maxBytes && o.dirty.count > 0) {
      let lastAttr = -2,
        lastSrc = -1,
        last: AttrSet | null = null,
        lastRoom = 0;
      // Bounded by the remaining budget (≥ 2 bytes per NLRI, ~4 typical) so a small maxBytes is honoured.
      const n = Math.min(CHUNK, Math.max(64, Math.ceil((maxBytes - w.bytes) / 4)));
      let m = 0,
        e = 0;
      for (let k = 0; k < n; k++) {
        const pi = o.dirty.take();
        if (pi < 0) break;
        const b = ft.bestOf(pi);
        if (ft.head[pi]! < 0) emptied[e++] = pi;
        let r: AttrSet | null = null,
          room = 0;
        if (b >= 0) {
          const aid = ft.pathAttr[b]!,
            src = ft.pathPeer[b]!;
          if (!perPrefix && aid === lastAttr && src === lastSrc) {
            r = last;
            room = lastRoom;
          } else {
            const pc = { family: fam, words: ft.prefixes.keyOf(pi), len: ft.prefixes.lens[pi]! };
            if (perPrefix) r = exportTransform(rib.env, T, rib.peers[src]!, store.get(aid), pc);
            else {
              let row = cache.get(aid);
              if (row === undefined) cache.set(aid, (row = []));
              let c = row[src];
              if (c === undefined) row[src] = c = exportTransform(rib.env, T, rib.peers[src]!, store.get(aid), pc);
              r = c;
            }
            if (r) {
              r = rib.live(r);
              room = roomFor(r, fam, as4, maxLen);
            }
            lastAttr = aid;
            lastSrc = src;
            last = r;
            lastRoom = room;
          }
          // Attributes too big for this peer's messages: not advertised (withdrawn if it was), reported once per Loc-RIB set.
          if (r !== null && room < 17 && nlriBytes(ft.prefixes.lens[pi]!) > room) {
            rib.noteUnsendable(
              T,
              store.get(ft.pathAttr[b]!),
              fam,
              pi,
              maxLen - room + nlriBytes(ft.prefixes.lens[pi]!),
              maxLen,
            );
            if (unsent[unsent.length - 1] !== r) unsent.push(r);
            r = null;
          }
        }
        const rid = r ? r.id : -1,
          adv = advOf(o, pi);
        if (rid === adv && (!o.force || rid < 0)) continue;
        if (rid < 0) {
          store.release(adv);
          o.adv[pi] = 0;
          o.advertised--;
        } else if (rid !== adv) {
          store.acquire(rid);
          if (adv >= 0) store.release(adv);
          else o.advertised++;
          setAdv(o, pi, rid, ft.prefixes.capacity, ft.prefixes.size);
        }
        chunkPi[m] = pi;
        chunkSet[m++] = rid;
      }
      emitGroups(w, ft, fam, m, store, as4);
      for (let k = 0; k < e; k++) rib.maybeFreePrefix(f, emptied[k]!);
      // A withheld set nothing else took is forgotten (the export cache revives it when needed).
      for (const s of unsent) store.dropIfUnused(s);
      unsent.length = 0;
    }
    if (o.dirty.count === 0) {
      o.force = false;
      if (o.eorPending && w.bytes < maxBytes) {
        w.endOfRib(fam);
        o.eorPending = false;
      }
    }
  }
  return w.out;
}

/**
 * Groups chunk entries by outgoing set (withdrawals first) and writes them. Works on runs of equal
 * sets (prefixes arrive packed per UPDATE, so runs are long): map operations per run, not per prefix.
 */
function emitGroups(w: UpdateWriter, ft: FamilyTable, fam: Family, m: number, store: AttrStore, as4: boolean): void {
  if (m === 0) return;
  const counts = new Map<number, number>();
  for (let a = 0; a < m; ) {
    const id = chunkSet[a]!;
    let b = a + 1;
    while (b < m && chunkSet[b] === id) b++;
    counts.set(id, (counts.get(id) ?? 0) + b - a);
    a = b;
  }
  const ranges: [number, number, number][] = [];
  const next = new Map<number, number>();
  let pos = 0;
  for (const id of [...counts.keys()].sort((x, y) => x - y)) {
    // -1 (withdraw) first
    const c = counts.get(id)!;
    next.set(id, pos);
    ranges.push([id, pos, pos + c]);
    pos += c;
  }
  for (let a = 0; a < m; ) {
    const id = chunkSet[a]!;
    let b = a + 1;
    while (b < m && chunkSet[b] === id) b++;
    const at = next.get(id)!;
    grouped.set(chunkPi.subarray(a, b), at);
    next.set(id, at + b - a);
    a = b;
  }
  for (const [id, from, to] of ranges) {
    if (id < 0) {
      if (fam === 'ipv4') w.withdrawV4(ft.prefixes, grouped, from, to);
      else w.withdrawMp(fam, ft.prefixes, grouped, from, to);
      continue;
    }
    const set = store.get(id),
      nh = set.attrs.nextHop;
    if (fam === 'ipv4' && nh.length === 4) w.announceV4(wireOf(set, as4, true), ft.prefixes, grouped, from, to);
    else w.announceMp(fam, nh, wireOf(set, as4, false), ft.prefixes, grouped, from, to);
  }
}
