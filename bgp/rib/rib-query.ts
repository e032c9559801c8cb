/** Read-only views of the RIB for `margayctl bgp rib`: route listing with filters, and counts. */
import { formatCommunity, formatLargeCommunities } from '../attrs/index.js';
import { asPathText } from '../attrs/index.js';
import { REASONS, multipathSet } from './best-path.js';
import { PATH_STALE } from './family-table.js';
import { famIndex } from './peer.js';
import { formatIpv4, formatIpv6, formatPrefix, parsePrefix, prefixWithin } from '../attrs/index.js';
import type { RibCore } from './rib-core.js';
import { importCheck } from './transforms.js';
import type { RibQuery, RibRoute } from './types.js';

export function nextHopText(nh: Uint8Array): string {
  if (nh.length === 4) return formatIpv4(((nh[0]! << 24) | (nh[1]! << 16) | (nh[2]! << 8) | nh[3]!) >>> 0);
  if (nh.length < 16) return '';
  const words = (o: number) =>
    [0, 1, 2, 3].map(
      (i) =>
        ((nh[o + 4 * i]! << 24) | (nh[o + 4 * i + 1]! << 16) | (nh[o + 4 * i + 2]! << 8) | nh[o + 4 * i + 3]!) >>> 0,
    );
  const g = words(0);
  if (nh.length >= 32 && g.every((x) => x === 0)) return formatIpv6(words(16));
  return formatIpv6(g);
}

const ORIGIN = ['igp', 'egp', 'incomplete'] as const;

export function queryRoutes(rib: RibCore, q: RibQuery): RibRoute[] {
  const out: RibRoute[] = [];
  const limit = q.limit ?? Infinity;
  const exact = q.prefix !== undefined ? parsePrefix(q.prefix) : undefined;
  const within = q.within !== undefined ? parsePrefix(q.within) : undefined;
  const peerIdx = q.peer === undefined ? -1 : q.peer === 'local' ? 0 : rib.peer(q.peer).idx;
  for (const ft of rib.tables) {
    if (q.family !== undefined && q.family !== ft.family) continue;
    if ((exact && exact.family !== ft.family) || (within && within.family !== ft.family)) continue;
    const env = rib.bestEnv[famIndex(ft.family)]!;
    // An exact prefix is one hash lookup; otherwise walk the table.
    const only = exact
      ? ft.family === 'ipv4'
        ? ft.prefixes.find1(exact.words[0]!, exact.len)
        : ft.prefixes.lookup4(exact.words, 0, exact.len, false)
      : -1;
    if (exact && only < 0) continue;
    const [from, to] = exact ? [only, only + 1] : [0, ft.prefixes.size];
    for (let pi = from; pi < to && out.length < limit; pi++) {
      if (ft.head[pi]! < 0) continue;
      const w = ft.prefixes.keyOf(pi),
        len = ft.prefixes.lens[pi]!;
      if (exact && (len !== exact.len || !prefixWithin(w, len, exact.words, exact.len))) continue;
      if (within && !prefixWithin(w, len, within.words, within.len)) continue;
      const best = ft.bestOf(pi);
      const multi = best >= 0 ? multipathSet(env, pi, best, rib.opts.maxPaths, rib.opts.multipathRelax) : [];
      const prefix = formatPrefix(ft.family, w, len);
      for (let path = ft.head[pi]!; path >= 0 && out.length < limit; path = ft.nextOf(path)) {
        const pidx = ft.pathPeer[path]!;
        if (peerIdx >= 0 && pidx !== peerIdx) continue;
        if (q.bestOnly && path !== best) continue;
        const accepted = ft.pathAttr[path]! >= 0;
        const a = rib.store.get(accepted ? ft.pathAttr[path]! : ft.inAttrOf(path)).attrs;
        const P = rib.peers[pidx]!;
        out.push({
          family: ft.family,
          prefix,
          peer: P.config.id,
          pathId: ft.pathIdOf(path),
          best: path === best,
          multipath: multi.includes(path),
          ...(path === best && { reason: REASONS[ft.reason[pi]!]! }),
          stale: (ft.pathFlags[path]! & PATH_STALE) !== 0,
          accepted,
          ...(!accepted && { rejection: importCheck(rib.env, P, a) ?? 'import-policy' }),
          nextHop: nextHopText(a.nextHop),
          asPath: asPathText(a.asPath),
          origin: ORIGIN[a.origin] ?? 'incomplete',
          ...(a.localPref !== undefined && { localPref: a.localPref }),
          ...(a.med !== undefined && { med: a.med }),
          communities: a.communities.map(formatCommunity),
          largeCommunities: formatLargeCommunities(a.largeCommunities),
        });
      }
    }
  }
  return out;
}

export function countRoutes(rib: RibCore, q: Pick<RibQuery, 'family' | 'peer'>): { prefixes: number; paths: number } {
  const peerIdx = q.peer === undefined ? -1 : q.peer === 'local' ? 0 : rib.peer(q.peer).idx;
  let prefixes = 0,
    paths = 0;
  for (const ft of rib.tables) {
    if (q.family !== undefined && q.family !== ft.family) continue;
    if (peerIdx < 0) {
      for (let pi = 0; pi < ft.prefixes.size; pi++) if (ft.bestOf(pi) >= 0) prefixes++;
      paths += ft.pathCount;
      continue;
    }
    for (let pi = 0; pi < ft.prefixes.size; pi++) {
      let has = false;
      for (let path = ft.head[pi]!; path >= 0; path = ft.nextOf(path))
        if (ft.pathPeer[path] === peerIdx) {
          paths++;
          has = true;
        }
      if (has) prefixes++;
    }
  }
  return { prefixes, paths };
}

/** Rib.typedArrayBytes: resident bytes of the typed arrays up to their high-water marks. */
export function typedArrayBytes(rib: RibCore): number {
  let n = rib.tables[0].bytes + rib.tables[1].bytes;
  for (const p of rib.peers) {
    for (let f = 0; f < 2; f++) {
      const o = p?.out[f],
        size = rib.tables[f]!.prefixes.size;
      if (o) n += Math.min(o.adv.length, size) * o.adv.BYTES_PER_ELEMENT + o.dirty.flagBytes(size) + o.dirty.queueBytes;
    }
  }
  return n;
}

export function wordsToBytes(w: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(w.length * 4);
  for (let i = 0; i < w.length; i++) {
    out[4 * i] = w[i]! >>> 24;
    out[4 * i + 1] = (w[i]! >>> 16) & 255;
    out[4 * i + 2] = (w[i]! >>> 8) & 255;
    out[4 * i + 3] = w[i]! & 255;
  }
  return out;
}
