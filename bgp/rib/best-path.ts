/**
 * RFC 4271 §9.1.2.2 best-path selection over the FamilyTable's path arrays, recording why the winner
 * won. Steps, in order (a lower step decides first):
 *   local-pref (higher) · local-origin (originated here) · as-path-length (AS_SET counts 1, confed 0) ·
 *   origin (IGP < EGP < INCOMPLETE) · med (lower, same neighbour AS unless always-compare-med; missing = 0)
 *   · ebgp-over-ibgp · igp-cost (lower, skipped unless both known) · oldest-ebgp (optional, RFC 5004) ·
 *   router-id (ORIGINATOR_ID when present, RFC 4456) · cluster-list-length (shorter) · peer-address
 *   (lower) · path-id (lower, ADD-PATH paths of one peer).
 * MED is deterministic (FRR `deterministic-med`): paths are grouped by neighbour AS, each group's best is
 * found with MED, then group winners are compared without it, so arrival order never changes the result.
 * Next hops are all treated as reachable (no IGP here): recursive resolution is the caller's concern.
 */
import type { AttrSet, AttrStore } from './attr-store.js';
import type { FamilyTable } from './family-table.js';
import type { BestPathReason } from './types.js';

export const REASONS: readonly BestPathReason[] = [
  'only-path',
  'local-pref',
  'local-origin',
  'as-path-length',
  'origin',
  'med',
  'ebgp-over-ibgp',
  'igp-cost',
  'oldest-ebgp',
  'router-id',
  'cluster-list-length',
  'peer-address',
  'path-id',
];
const STEP = Object.fromEntries(REASONS.map((r, i) => [r, i])) as Record<BestPathReason, number>;
/** Paths equal up to (excluding) this step may share the route (multipath / ECMP). */
export const MULTIPATH_STEP = STEP['oldest-ebgp'];

export interface PeerFacts {
  readonly local: boolean;
  readonly ibgp: boolean;
  readonly routerId: number;
  /** Peer address as four words (IPv4 mapped into the last one) for the final tie-break. */
  readonly addr: readonly number[];
  readonly igpCost: number | undefined;
}

export interface BestPathOptions {
  readonly defaultLocalPref: number;
  readonly alwaysCompareMed: boolean;
  readonly preferOldestEbgp: boolean;
}

export interface BestPathEnv {
  readonly ft: FamilyTable;
  readonly store: AttrStore;
  readonly peers: readonly (PeerFacts | undefined)[];
  readonly opts: BestPathOptions;
}

function cmpNum(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Compares paths a and b. Returns -step when a is better, +step when b is better (step = index in
 * REASONS, ≥ 1), 0 when identical (never for two distinct paths: path-id/peer-address decide).
 */
export function comparePaths(env: BestPathEnv, a: number, b: number, useMed = true): number {
  const { ft, store, opts } = env;
  const sa: AttrSet = store.get(ft.pathAttr[a]!),
    sb: AttrSet = store.get(ft.pathAttr[b]!);
  const pa = env.peers[ft.pathPeer[a]!]!,
    pb = env.peers[ft.pathPeer[b]!]!;
  let d = cmpNum(sb.localPref ?? opts.defaultLocalPref, sa.localPref ?? opts.defaultLocalPref);
  if (d !== 0) return d * STEP['local-pref'];
  d = Number(pb.local) - Number(pa.local);
  if (d !== 0) return d * STEP['local-origin'];
  d = cmpNum(sa.asPathLen, sb.asPathLen);
  if (d !== 0) return d * STEP['as-path-length'];
  d = cmpNum(sa.attrs.origin, sb.attrs.origin);
  if (d !== 0) return d * STEP.origin;
  if (useMed && (opts.alwaysCompareMed || sa.neighborAs === sb.neighborAs)) {
    d = cmpNum(sa.med, sb.med);
    if (d !== 0) return d * STEP.med;
  }
  d = Number(pa.ibgp) - Number(pb.ibgp);
  if (d !== 0) return d * STEP['ebgp-over-ibgp'];
  if (pa.igpCost !== undefined && pb.igpCost !== undefined) {
    d = cmpNum(pa.igpCost, pb.igpCost);
    if (d !== 0) return d * STEP['igp-cost'];
  }
  if (opts.preferOldestEbgp && !pa.ibgp && !pb.ibgp && !pa.local && !pb.local) {
    d = cmpNum(ft.pathSeq[a]!, ft.pathSeq[b]!);
    if (d !== 0) return d * STEP['oldest-ebgp'];
  }
  d = cmpNum(sa.attrs.originatorId ?? pa.routerId, sb.attrs.originatorId ?? pb.routerId);
  if (d !== 0) return d * STEP['router-id'];
  d = cmpNum(sa.attrs.clusterList.length, sb.attrs.clusterList.length);
  if (d !== 0) return d * STEP['cluster-list-length'];
  for (let i = 0; i < 4; i++) {
    d = cmpNum(pa.addr[i]!, pb.addr[i]!);
    if (d !== 0) return d * STEP['peer-address'];
  }
  d = cmpNum(ft.pathIdOf(a), ft.pathIdOf(b));
  if (d !== 0) return d * STEP['path-id'];
  // Two sessions with one peer address (e.g. different ports): registration order decides.
  return cmpNum(ft.pathPeer[a]!, ft.pathPeer[b]!) * STEP['peer-address'];
}

/** Result of the last selectBest call (no allocation per prefix): best path (-1: none) and reason index. */
export const selection = { best: -1, reason: 0 };

/** Best accepted path of prefix p and its reason index, written to `selection`. */
export function selectBest(env: BestPathEnv, p: number): void {
  const { ft } = env;
  const attr = ft.pathAttr,
    next = ft.pathNext1;
  let first = -1,
    count = 0;
  for (let q = ft.head[p]!; q >= 0; q = next[q]! - 1)
    if (attr[q]! >= 0) {
      if (first < 0) first = q;
      count++;
    }
  selection.reason = 0;
  selection.best = first;
  if (count <= 1) return;
  // Deterministic MED: winner per neighbour AS (with MED), then winners compared without MED.
  const groupBest = new Map<number, number>();
  for (let q = ft.head[p]!; q >= 0; q = next[q]! - 1) {
    if (attr[q]! < 0) continue;
    const nas = env.opts.alwaysCompareMed ? 0 : env.store.get(attr[q]!).neighborAs;
    const cur = groupBest.get(nas);
    if (cur === undefined || comparePaths(env, q, cur) < 0) groupBest.set(nas, q);
  }
  let best = -1;
  for (const q of groupBest.values()) if (best < 0 || comparePaths(env, q, best, false) < 0) best = q;
  // Reason: the deciding step against the closest competitor.
  let reason = 0;
  for (let q = ft.head[p]!; q >= 0; q = next[q]! - 1) {
    if (attr[q]! < 0 || q === best) continue;
    const c = comparePaths(env, best, q);
    reason = Math.max(reason, c < 0 ? -c : STEP.med);
  }
  selection.best = best;
  selection.reason = reason;
}

/** The best path plus paths equal to it up to MULTIPATH_STEP (same neighbour AS unless relaxed), best first. */
export function multipathSet(env: BestPathEnv, p: number, best: number, maxPaths: number, relax: boolean): number[] {
  const out = [best];
  if (maxPaths <= 1) return out;
  const { ft } = env;
  const bestAs = env.store.get(ft.pathAttr[best]!).neighborAs;
  const cands: number[] = [];
  for (let q = ft.head[p]!; q >= 0; q = ft.nextOf(q)) {
    if (q === best || ft.pathAttr[q]! < 0) continue;
    const c = comparePaths(env, best, q);
    if (-c < MULTIPATH_STEP) continue;
    if (!relax && env.store.get(ft.pathAttr[q]!).neighborAs !== bestAs) continue;
    cands.push(q);
  }
  cands.sort((a, b) => comparePaths(env, a, b));
  for (const q of cands) {
    if (out.length >= maxPaths) break;
    out.push(q);
  }
  return out;
}
