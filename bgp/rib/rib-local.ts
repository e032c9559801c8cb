/**
 * Locally originated routes (peer index 0, path id 0), and the FIB stream of best-path changes.
 * Works on a RibCore (see rib-core.ts).
 */
import { formatPrefix, parsePrefix } from '../attrs/index.js';
import type { OriginateAttrs } from './api.js';
import { multipathSet } from './best-path.js';
import { famIndex } from './peer.js';
import type { RibCore } from './rib-core.js';
import { originateAttrs } from './rib-out.js';
import { nextHopText } from './rib-query.js';
import type { BestPathChange } from './types.js';

export function originate(rib: RibCore, prefix: string, attrs: OriginateAttrs): void {
  const pp = parsePrefix(prefix),
    f = famIndex(pp.family),
    ft = rib.tables[f]!;
  const pi =
    pp.family === 'ipv4' ? ft.prefixes.intern1(pp.words[0]!, pp.len) : ft.prefixes.lookup4(pp.words, 0, pp.len, true);
  ft.syncCapacity();
  const set = rib.store.intern(originateAttrs(attrs));
  rib.store.acquire(set.id);
  rib.store.acquire(set.id);
  const q = ft.findPath(pi, 0, 0);
  if (q < 0) {
    ft.allocPath(pi, 0, 0, set.id, set.id);
    rib.peers[0]!.received[f]!++;
    rib.peers[0]!.accepted[f]!++;
  } else {
    const old = ft.pathAttr[q]!;
    ft.setAttrs(q, set.id, set.id);
    rib.store.release(old);
    rib.store.release(old);
  }
  rib.recompute(f, pi, q >= 0 && ft.bestOf(pi) === q);
}

export function withdrawOriginated(rib: RibCore, prefix: string): void {
  const pp = parsePrefix(prefix),
    f = famIndex(pp.family),
    ft = rib.tables[f]!;
  const pi =
    pp.family === 'ipv4' ? ft.prefixes.find1(pp.words[0]!, pp.len) : ft.prefixes.lookup4(pp.words, 0, pp.len, false);
  const q = pi < 0 ? -1 : ft.findPath(pi, 0, 0);
  if (q >= 0) rib.removePath(f, q);
}

export function takeBestPathChanges(rib: RibCore, max: number): BestPathChange[] {
  const out: BestPathChange[] = [];
  for (let f = 0; f < 2 && out.length < max; f++) {
    const ft = rib.tables[f]!;
    while (ft.fibQueue.length > 0 && out.length < max) {
      const pi = ft.fibQueue.shift();
      const st = ft.fibState[pi]! & ~1;
      const prefix = () => formatPrefix(ft.family, ft.prefixes.keyOf(pi), ft.prefixes.lens[pi]!);
      const b = ft.bestOf(pi);
      if (b < 0) {
        ft.fibState[pi] = 0;
        if (st & 2) out.push({ family: ft.family, prefix: prefix(), nextHops: null, local: false });
        if (ft.head[pi]! < 0) rib.maybeFreePrefix(f, pi);
        continue;
      }
      ft.fibState[pi] = 2;
      const local = ft.pathPeer[b] === 0;
      const hops = multipathSet(rib.bestEnv[f]!, pi, b, rib.opts.maxPaths, rib.opts.multipathRelax)
        .map((q) => nextHopText(rib.store.get(ft.pathAttr[q]!).attrs.nextHop))
        .filter((h, i, a) => h !== '' && a.indexOf(h) === i);
      out.push({ family: ft.family, prefix: prefix(), nextHops: hops, local });
    }
  }
  return out;
}
