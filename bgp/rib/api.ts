/**
 * The method surface of `Rib` (bgp/rib/rib.ts), published first so the speaker can code against it.
 */
import type { RoutePolicy } from '../route-policy/index.js';
import type {
  UnsendableRoute,
  BestPathChange,
  Family,
  IngestResult,
  PeerRibCounts,
  RibNegotiated,
  RibPeerConfig,
  RibQuery,
  RibRoute,
  RibUpdate,
} from './types.js';

export interface OriginateAttrs {
  readonly communities?: readonly string[];
  readonly largeCommunities?: readonly string[];
  readonly med?: number;
  readonly localPref?: number;
  /** Next hop to advertise instead of self (e.g. a node address for a service IP). */
  readonly nextHop?: string;
}

export interface RibApi {
  addPeer(config: RibPeerConfig): void;
  /** Drops the peer and all its routes (withdrawn everywhere). */
  removePeer(id: string): void;
  /** Changes policies / options of a configured peer; re-applies import (stored pre-policy) and re-sends export. */
  updatePeer(config: RibPeerConfig): void;
  /** Session Established: the whole Loc-RIB is queued for the peer, then End-of-RIB per family. */
  peerUp(id: string, negotiated: RibNegotiated): void;
  /** Session lost. With `gracefulRestart` the peer's routes stay (stale) until sweep; else withdrawn. */
  peerDown(id: string, opts?: { readonly gracefulRestart?: boolean }): void;
  /** Restart timer expired or peer came back without GR: drop the peer's stale routes. */
  sweepStale(id: string, family?: Family): void;
  /** Enhanced route refresh BoRR (RFC 7313): mark the peer's routes of `family` stale. */
  beginRouteRefresh(id: string, family: Family): void;
  /** Enhanced route refresh EoRR: sweep what was not refreshed. */
  endRouteRefresh(id: string, family: Family): void;
  /** A validated UPDATE from an Established peer. */
  ingestUpdate(id: string, update: RibUpdate): IngestResult;
  /** Peer asked for ROUTE-REFRESH: re-send the whole Adj-RIB-Out for `family`. */
  refreshOutbound(id: string, family?: Family): void;
  /** Advertise a local prefix ('10.0.0.0/26', '2001:db8::/64'). Replaces an earlier originate of it. */
  originate(prefix: string, attrs?: OriginateAttrs): void;
  withdrawOriginated(prefix: string): void;
  /**
   * Encoded UPDATE messages (with 19-byte header) for the peer, stopping once at least `maxBytes`
   * are produced. Empty array: nothing pending. End-of-RIB markers follow the initial table.
   */
  takeOutbound(id: string, maxBytes: number): Buffer[];
  hasOutbound(id: string): boolean;
  /** Pending best-path changes (coalesced per prefix), at most `max`. */
  takeBestPathChanges(max: number): BestPathChange[];
  /** Routes for `margayctl bgp rib`. */
  queryRoutes(query: RibQuery): RibRoute[];
  countRoutes(query?: Pick<RibQuery, 'family' | 'peer'>): { readonly prefixes: number; readonly paths: number };
  peerCounts(id: string): PeerRibCounts;
  /** A new route-reflector cluster ID (dotted quad): reflection re-evaluated in place, no session reset. */
  setClusterId(clusterId: string): void;
  setImportPolicy(id: string, policy: RoutePolicy | undefined): void;
  setExportPolicy(id: string, policy: RoutePolicy | undefined): void;
}

/**
 * Session loss and stale sweeps in bounded slices, so keepalives of other sessions are never starved
 * by a full table going away (`Rib` implements it; `peerDown`/`sweepStale` stay synchronous). Usage:
 * `startPeerDown(id)` then, from the event loop, `while (peerDownStep(20_000)) await setImmediate()`
 * with outbound flushed between slices. A slice of 20k paths takes ≈5–10 ms.
 */
export interface RibSlicedRemoval {
  /** As peerDown; without graceful restart the peer's paths are removed by peerDownStep. */
  startPeerDown(id: string, opts?: { readonly gracefulRestart?: boolean }): void;
  /** As removePeer: the id is gone at once (may be added again); its routes go by peerDownStep. */
  startRemovePeer(id: string): void;
  /** As sweepStale; the stale paths are removed by peerDownStep. */
  startSweepStale(id: string, family?: Family): void;
  /** Removes up to `budget` pending paths; true while work remains. */
  peerDownStep(budget: number): boolean;
  readonly peerDownPending: boolean;
}

/** Events the pure RIB cannot log itself: the speaker drains and logs them (`Rib` implements it). */
export interface RibDiagnostics {
  /**
   * Routes withheld from a peer because their attributes do not fit its messages, since the last call
   * (at most 1000 are kept between calls; `unsendableTotal` counts all).
   */
  takeUnsendable(): UnsendableRoute[];
  readonly unsendableTotal: number;
}
