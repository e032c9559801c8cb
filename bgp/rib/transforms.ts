/**
 * Import and export attribute transforms: the iBGP/eBGP rules of RFC 4271 §9, route reflection
 * (RFC 4456), well-known communities (RFC 1997), RFC 8212 default deny and AS-path loop detection.
 * Pure functions of (peer, source peer, attribute set, prefix context); the RIB caches their results
 * per attribute set when the peer's policy does not look at the prefix.
 */
import type { RouteContext } from '../route-policy/index.js';
import { prependAs } from '../attrs/index.js';
import type { AttrSet, AttrStore } from './attr-store.js';
import type { RouteAttrs } from './attrs.js';
import type { PeerRt } from './peer.js';
import { famIndex, nextHopIn } from './peer.js';
import { checkNextHop } from './next-hop-check.js';
import type { Family, RouteRejection } from './types.js';

export interface TransformEnv {
  readonly store: AttrStore;
  readonly localAs: number;
  readonly routerId: number;
  readonly clusterId: number;
  readonly ebgpRequiresPolicy: boolean;
  readonly defaultLocalPref: number;
}

export interface PrefixCtx {
  readonly family: Family;
  readonly words: ArrayLike<number>;
  readonly len: number;
}

function countAs(a: RouteAttrs, asn: number): number {
  let n = 0;
  for (const s of a.asPath) for (const x of s.asns) if (x === asn) n++;
  return n;
}

/** The checks before import policy (next hop, loops, RFC 8212): why `a` from P cannot be used, if so. */
export function importCheck(env: TransformEnv, P: PeerRt, a: RouteAttrs): RouteRejection | undefined {
  const nh = checkNextHop(P.nextHopFacts, a.nextHop);
  if (nh !== undefined) return nh;
  const allow = P.config.allowAsIn ?? 0;
  if (countAs(a, P.localAs) > allow || (P.localAs !== env.localAs && countAs(a, env.localAs) > allow))
    return 'as-path-loop';
  if (P.ibgp) {
    if (a.originatorId === env.routerId) return 'originator-id';
    if (a.clusterList.includes(env.clusterId)) return 'cluster-list';
  } else if (env.ebgpRequiresPolicy && !P.importPolicy) return 'no-import-policy';
  return undefined;
}

/** Adj-RIB-In → Loc-RIB candidate: null when the path must not be used. */
export function importTransform(env: TransformEnv, P: PeerRt, A: AttrSet, pc: PrefixCtx): AttrSet | null {
  let a = A.attrs;
  if (importCheck(env, P, a) !== undefined) return null;
  if (!P.ibgp) {
    if (a.localPref !== undefined || a.originatorId !== undefined || a.clusterList.length > 0) {
      const { localPref: _lp, originatorId: _oid, ...rest } = a;
      a = { ...rest, clusterList: [] };
    }
  }
  if (P.importPolicy) {
    const ctx: RouteContext = {
      ...pc,
      local: false,
      selfNextHop: P.selfNextHop[famIndex(pc.family)]!,
      localAs: P.localAs,
    };
    const r = P.importPolicy.evaluate(a, ctx);
    if (r === null) return null;
    a = r;
  }
  return a === A.attrs ? A : env.store.intern(a);
}

function stripLinkLocal(nh: Uint8Array): Uint8Array {
  return nh.length === 32 ? nh.subarray(0, 16) : nh;
}

/** Loc-RIB best path from S → what T is sent; null: not advertised to T. */
export function exportTransform(env: TransformEnv, T: PeerRt, S: PeerRt, A: AttrSet, pc: PrefixCtx): AttrSet | null {
  if (S === T) return null;
  if (A.noAdvertise) return null;
  if (!T.ibgp && (A.noExport || A.noExportSubconfed)) return null;
  if (T.ibgp && S.ibgp && !(S.config.routeReflectorClient || T.config.routeReflectorClient)) return null;
  if (T.ibgp && A.attrs.originatorId !== undefined && A.attrs.originatorId === T.routerId) return null;
  if (!T.ibgp && env.ebgpRequiresPolicy && !T.exportPolicy) return null;
  const fi = famIndex(pc.family);
  const self = T.selfNextHop[fi]!;
  const nhs = T.config.nextHopSelf ?? 'auto';
  let a: RouteAttrs = A.attrs;
  let nh = a.nextHop;
  if (!T.ibgp) {
    const { localPref: _lp, originatorId: _oid, med, ...rest } = a;
    const keepMed = med !== undefined && (S.local || T.config.sendMedToEbgp === true);
    a = { ...rest, asPath: prependAs(a.asPath, T.localAs, 1), clusterList: [], ...(keepMed && { med }) };
    nh =
      nhs === false || (nhs === 'auto' && T.sharedSubnet && nextHopIn(nh, T.sharedSubnet)) ? stripLinkLocal(nh) : self;
  } else {
    if (S.ibgp)
      a = { ...a, originatorId: a.originatorId ?? S.routerId, clusterList: [env.clusterId, ...a.clusterList] };
    if (a.localPref === undefined) a = { ...a, localPref: env.defaultLocalPref };
    nh = nhs === true ? self : stripLinkLocal(nh);
  }
  // A next hop the family cannot carry to this peer falls back to self.
  if (
    nh.length === 0 ||
    (pc.family === 'ipv6' && nh.length === 4) ||
    (pc.family === 'ipv4' && nh.length !== 4 && T.neg?.extendedNextHopV4 !== true)
  )
    nh = self;
  if (nh !== a.nextHop) a = { ...a, nextHop: nh };
  if (T.exportPolicy) {
    const r = T.exportPolicy.evaluate(a, { ...pc, local: S.local, selfNextHop: self, localAs: T.localAs });
    if (r === null) return null;
    a = r;
  }
  return a === A.attrs ? A : env.store.intern(a);
}
