/**
 * What a peer's config change or session event does to its stored paths: which parts of a config
 * change need re-import or re-export, re-import under new rules/policy, stale marking, removal of the
 * peer's paths, and export-cache invalidation. Works on a RibCore (see rib-core.ts).
 */
import { PATH_STALE } from './family-table.js';
import { advOf, type PeerRt } from './peer.js';
import type { RibCore } from './rib-core.js';
import { importTransform } from './transforms.js';
import type { RibPeerConfig } from './types.js';

export interface PeerConfigChange {
  readonly importChanged: boolean;
  readonly exportChanged: boolean;
  readonly rrChanged: boolean;
  readonly igpCostChanged: boolean;
}

/** Compares two configs of the same peer (same address and AS numbers). */
export function peerConfigChange(old: RibPeerConfig, config: RibPeerConfig): PeerConfigChange {
  const same = (k: keyof RibPeerConfig): boolean => JSON.stringify(old[k]) === JSON.stringify(config[k]);
  const importChanged =
    !same('importPolicy') ||
    !same('allowAsIn') ||
    !same('igpCost') ||
    !same('maxPrefixes') ||
    !same('localAddress') ||
    !same('localAddressV6') ||
    !same('localLinkLocalV6') ||
    !same('localAddresses') ||
    !same('connectedSubnets') ||
    !same('multihop');
  const exportChanged =
    !same('exportPolicy') ||
    !same('nextHopSelf') ||
    !same('localAddress') ||
    !same('localAddressV6') ||
    !same('localLinkLocalV6') ||
    !same('sendMedToEbgp') ||
    !same('sharedSubnet');
  return { importChanged, exportChanged, rrChanged: !same('routeReflectorClient'), igpCostChanged: !same('igpCost') };
}

export function clearExportCaches(rib: RibCore): void {
  for (const t of rib.peers) if (t) for (let f = 0; f < 2; f++) t.exportCache[f]!.clear();
}

/** Re-applies import rules and policy to every stored path of p from its pre-policy set. */
export function reimport(rib: RibCore, p: PeerRt, recomputeAll = false): void {
  for (let f = 0; f < 2; f++) {
    p.importCache[f]!.clear();
    p.exportCache[f]!.clear();
    const ft = rib.tables[f]!;
    for (let q = 0; q < ft.pathTop; q++) {
      if (ft.pathPrefix[q]! < 0 || ft.pathPeer[q] !== p.idx) continue;
      const pi = ft.pathPrefix[q]!;
      const r = importTransform(rib.env, p, rib.store.get(ft.inAttrOf(q)), {
        family: ft.family,
        words: ft.prefixes.keyOf(pi),
        len: ft.prefixes.lens[pi]!,
      });
      const nid = r ? rib.store.revive(r).id : -1,
        old = ft.pathAttr[q]!;
      if (nid === old) {
        if (recomputeAll) rib.recompute(f, pi);
        continue;
      }
      if (nid >= 0) rib.store.acquire(nid);
      ft.setAttr(q, nid);
      if (old >= 0) rib.store.release(old);
      p.accepted[f]! += Number(nid >= 0) - Number(old >= 0);
      rib.recompute(f, pi, ft.bestOf(pi) === q);
    }
  }
  clearExportCaches(rib);
}

/**
 * Marks every prefix of T's Adj-RIB-Out that has a best path or an advertised route, without forcing:
 * takeOutbound re-runs export for each and sends only those whose result changed.
 */
export function reevaluateOutbound(rib: RibCore, T: PeerRt): void {
  for (let f = 0; f < 2; f++) {
    const o = T.out[f];
    if (!o) continue;
    T.exportCache[f]!.clear();
    const ft = rib.tables[f]!,
      n = ft.prefixes.capacity;
    for (let i = 0; i < ft.prefixes.size; i++) if (ft.bestOf(i) >= 0 || advOf(o, i) >= 0) o.dirty.mark(i, n);
  }
}

/**
 * After a cluster ID change (RFC 4456): the CLUSTER_LIST loop check is re-run over every iBGP peer's
 * stored pre-policy paths (a path looping through the new ID is dropped, one that looped only through
 * the old ID comes back), and every up iBGP peer's Adj-RIB-Out is re-evaluated, so reflected routes go
 * out again with the new ID in CLUSTER_LIST and nothing else is re-sent. No session is touched.
 */
export function reevaluateReflection(rib: RibCore): void {
  for (const p of rib.peers) if (p && !p.local && p.ibgp) reimport(rib, p);
  clearExportCaches(rib);
  for (const t of rib.peers) if (t?.up && !t.local && t.ibgp) reevaluateOutbound(rib, t);
}

export function markStale(rib: RibCore, p: PeerRt, f: number): void {
  const ft = rib.tables[f]!;
  for (let q = 0; q < ft.pathTop; q++)
    if (ft.pathPrefix[q]! >= 0 && ft.pathPeer[q] === p.idx) ft.pathFlags[q] = ft.pathFlags[q]! | PATH_STALE;
}

export function removePaths(rib: RibCore, p: PeerRt, f: number, which: (q: number) => boolean): void {
  const ft = rib.tables[f]!;
  for (let q = 0; q < ft.pathTop; q++)
    if (ft.pathPrefix[q]! >= 0 && ft.pathPeer[q] === p.idx && which(q)) rib.removePath(f, q);
}
