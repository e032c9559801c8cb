/**
 * Rib: Adj-RIB-In per peer, Loc-RIB with best path, Adj-RIB-Out per peer, and UPDATE generation.
 *
 * Data layout (designed for 1M prefixes with no per-prefix objects and no string keys):
 *   - one FamilyTable per family: an open-addressing prefix hash on typed arrays giving dense prefix
 *     indices, a path pool in parallel typed arrays linked per prefix, and best[]/reason[] per prefix;
 *   - attribute sets interned by their bytes (AttrStore), referenced by id, refcounted;
 *   - import/export transforms (rules + policy) evaluated once per attribute set and cached, unless a
 *     policy matches on prefixes (then once per prefix, with a numeric prefix check);
 *   - Adj-RIB-Out per peer and family: adv[] (set id per prefix) plus a dirty byte-map and queue;
 *     takeOutbound groups dirty prefixes by outgoing set and writes NLRI bytes straight into UPDATEs.
 * Pure: no I/O, no timers, no logger. Errors: RibStateError for calls that break the contract.
 */
import { MargayError } from '../../src/errors.js';
import { compileRoutePolicyOnce } from '../route-policy/index.js';
import type { RoutePolicy } from '../route-policy/index.js';
import type { OriginateAttrs, RibApi, RibDiagnostics, RibSlicedRemoval } from './api.js';
import { AttrStore, type AttrSet } from './attr-store.js';
import { scanAttrs, type AttrScan } from './attrs.js';
import { type BestPathEnv, selectBest, selection } from './best-path.js';
import { FamilyTable, PATH_STALE } from './family-table.js';
import { DirtySet } from './dirty-set.js';
import { advOf, famIndex, makePeer, type PeerRt } from './peer.js';
import { formatPrefix, parseIpv4 } from '../attrs/index.js';
import { RemovalQueue } from './removal-queue.js';
import type { RibCore, RibCoreOptions } from './rib-core.js';
import { countRoutes, queryRoutes, typedArrayBytes } from './rib-query.js';
import { originate, takeBestPathChanges, withdrawOriginated } from './rib-local.js';
import {
  clearExportCaches,
  markStale,
  peerConfigChange,
  reevaluateOutbound,
  reevaluateReflection,
  reimport,
  removePaths,
} from './rib-peer-paths.js';
import { ingestUpdate } from './rib-ingest.js';
import { writeOutbound } from './rib-out.js';
import type { TransformEnv } from './transforms.js';
import type {
  BestPathChange,
  Family,
  IngestResult,
  PeerRibCounts,
  RibNegotiated,
  RibOptions,
  RibPeerConfig,
  RibQuery,
  RibRoute,
  RibUpdate,
  UnsendableRoute,
} from './types.js';

export class RibStateError extends MargayError {
  readonly code = 'MGY_BGP_RIB_STATE';
}

export class Rib implements RibApi, RibSlicedRemoval, RibDiagnostics, RibCore {
  opts: RibCoreOptions;
  readonly store = new AttrStore();
  readonly tables: readonly [FamilyTable, FamilyTable];
  readonly peers: (PeerRt | undefined)[] = [];
  readonly #byId = new Map<string, PeerRt>();
  /** Up peers' Adj-RIB-Out per family, for dirty marking. */
  readonly upOut: [PeerRt[], PeerRt[]] = [[], []];
  env: TransformEnv;
  readonly bestEnv: [BestPathEnv, BestPathEnv];
  /** Pending path removals (peer down, stale sweep, peer deleted), processed by peerDownStep. */
  readonly #removals: RemovalQueue;
  readonly scan: AttrScan = { hash: 0, hasReachAttrs: false, mpReach: undefined, mpUnreach: undefined };
  #unsendable: UnsendableRoute[] = [];
  unsendableTotal = 0;

  constructor(options: RibOptions, initialPrefixes = 1024) {
    this.opts = {
      ebgpRequiresPolicy: true,
      alwaysCompareMed: false,
      maxPaths: 1,
      multipathRelax: false,
      preferOldestEbgp: false,
      defaultLocalPref: 100,
      trackBestChanges: true,
      clusterId: options.routerId,
      prefixLists: [],
      ...options,
    };
    this.tables = [
      new FamilyTable('ipv4', initialPrefixes, this.opts.preferOldestEbgp),
      new FamilyTable('ipv6', 1024, this.opts.preferOldestEbgp),
    ];
    this.peers[0] = makePeer(
      0,
      { id: 'local', address: '0.0.0.0', peerAs: options.localAs, localAddress: '0.0.0.0' },
      options.localAs,
      true,
    );
    this.peers[0].routerId = parseIpv4(options.routerId);
    this.#removals = new RemovalQueue(
      this.tables,
      (f, q) => this.removePath(f, q),
      (p) => {
        this.peers[p.idx] = undefined;
        clearExportCaches(this); // caches are keyed by source peer index, which may be reused
      },
    );
    this.env = {
      store: this.store,
      localAs: options.localAs,
      routerId: parseIpv4(options.routerId),
      clusterId: parseIpv4(this.opts.clusterId),
      ebgpRequiresPolicy: this.opts.ebgpRequiresPolicy,
      defaultLocalPref: this.opts.defaultLocalPref,
    };
    const bo = {
      defaultLocalPref: this.opts.defaultLocalPref,
      alwaysCompareMed: this.opts.alwaysCompareMed,
      preferOldestEbgp: this.opts.preferOldestEbgp,
    };
    this.bestEnv = [
      { ft: this.tables[0], store: this.store, peers: this.peers, opts: bo },
      { ft: this.tables[1], store: this.store, peers: this.peers, opts: bo },
    ];
    this.store.onFree = (id) => {
      for (const p of this.peers) {
        if (!p) continue;
        for (let f = 0; f < 2; f++) {
          p.importCache[f]!.delete(id);
          p.exportCache[f]!.delete(id);
        }
      }
    };
  }

  peer(id: string): PeerRt {
    const p = this.#byId.get(id);
    if (!p) throw new RibStateError(`unknown peer ${JSON.stringify(id)}`);
    return p;
  }

  addPeer(config: RibPeerConfig): void {
    if (this.#byId.has(config.id) || config.id === 'local')
      throw new RibStateError(`peer ${JSON.stringify(config.id)} already exists`);
    let idx = this.peers.indexOf(undefined, 1);
    if (idx < 0) idx = this.peers.length;
    if (idx >= 0xffff) throw new RibStateError('too many peers');
    const p = makePeer(idx, config, this.opts.localAs, false);
    this.#setPolicies(p, config);
    this.peers[idx] = p;
    this.#byId.set(config.id, p);
  }

  /** Compiles first, assigns after: a bad policy (RoutePolicyCompileError) leaves the peer unchanged. */
  #setPolicies(p: PeerRt, c: RibPeerConfig): void {
    const imp = c.importPolicy ? compileRoutePolicyOnce(c.importPolicy, this.opts.prefixLists) : undefined;
    const exp = c.exportPolicy ? compileRoutePolicyOnce(c.exportPolicy, this.opts.prefixLists) : undefined;
    p.importPolicy = imp;
    p.exportPolicy = exp;
  }

  removePeer(id: string): void {
    const p = this.peer(id);
    this.peerDown(id);
    this.#removals.finish(p);
    for (let f = 0; f < 2; f++) removePaths(this, p, f, () => true);
    this.peers[p.idx] = undefined;
    this.#byId.delete(id);
    clearExportCaches(this); // caches are keyed by source peer index, which may be reused
  }

  updatePeer(config: RibPeerConfig): void {
    const p = this.peer(config.id);
    const wasUp = p.up,
      neg = p.neg;
    if (
      config.address !== p.config.address ||
      config.peerAs !== p.config.peerAs ||
      config.localAs !== p.config.localAs
    ) {
      this.removePeer(config.id);
      this.addPeer(config);
      if (wasUp && neg) this.peerUp(config.id, neg);
      return;
    }
    const { importChanged, exportChanged, rrChanged, igpCostChanged } = peerConfigChange(p.config, config);
    const fresh = makePeer(p.idx, config, this.opts.localAs, false);
    this.#setPolicies(p, config);
    p.config = config;
    p.selfNextHop = fresh.selfNextHop;
    p.sharedSubnet = fresh.sharedSubnet;
    p.nextHopFacts = fresh.nextHopFacts;
    p.igpCost = config.igpCost;
    if (importChanged) reimport(this, p, igpCostChanged);
    if (rrChanged) {
      clearExportCaches(this);
      for (const t of this.peers) if (t?.up && !t.local) this.refreshOutbound(t.config.id);
    } else if (exportChanged) reevaluateOutbound(this, p); // only what the new policy changes is sent
  }

  /** A new route-reflector cluster ID, applied in place (see reevaluateReflection); no session is touched. */
  setClusterId(clusterId: string): void {
    const id = parseIpv4(clusterId);
    if (id === this.env.clusterId) return;
    this.opts = { ...this.opts, clusterId };
    this.env = { ...this.env, clusterId: id };
    reevaluateReflection(this);
  }

  setImportPolicy(id: string, policy: RoutePolicy | undefined): void {
    const p = this.peer(id);
    this.updatePeer({ ...p.config, importPolicy: policy });
  }

  setExportPolicy(id: string, policy: RoutePolicy | undefined): void {
    const p = this.peer(id);
    this.updatePeer({ ...p.config, exportPolicy: policy });
  }

  peerUp(id: string, negotiated: RibNegotiated): void {
    const p = this.peer(id);
    if (p.up) this.peerDown(id, { gracefulRestart: true });
    this.#removals.finish(p);
    p.up = true;
    p.neg = negotiated;
    p.routerId = parseIpv4(negotiated.peerRouterId);
    clearExportCaches(this); // reflected routes carry this peer's router id
    for (const fam of negotiated.families) {
      const f = famIndex(fam),
        ft = this.tables[f]!;
      const n = ft.prefixes.capacity;
      const o = {
        adv: new Uint16Array(0),
        dirty: new DirtySet(),
        eorPending: true,
        force: false,
        refreshMarked: false,
        advertised: 0,
      };
      for (let i = 0; i < ft.prefixes.size; i++) if (ft.bestOf(i) >= 0) o.dirty.mark(i, n);
      p.out[f] = o;
      this.upOut[f]!.push(p);
    }
  }

  peerDown(id: string, opts?: { readonly gracefulRestart?: boolean }): void {
    this.startPeerDown(id, opts);
    this.#removals.finish(this.peer(id));
  }

  /**
   * Session lost, without blocking: the peer's Adj-RIB-Out is dropped at once (and with
   * `gracefulRestart` its paths are marked stale, a byte per path), but without it the paths are
   * removed by `peerDownStep`, which the caller runs in slices between other work (keepalives). Until
   * then the dead peer's paths still count for best path. peerUp, removePeer and a new stale marking
   * of the same peer first finish its pending removal.
   */
  startPeerDown(id: string, opts?: { readonly gracefulRestart?: boolean }): void {
    const p = this.peer(id);
    if (!p.up) return;
    this.#removals.finish(p); // a pending stale sweep must not take the paths this restart marks stale
    p.up = false;
    for (let f = 0; f < 2; f++) {
      const o = p.out[f];
      if (o) {
        p.out[f] = undefined;
        this.upOut[f] = this.upOut[f]!.filter((x) => x !== p) as PeerRt[];
        const ft = this.tables[f]!;
        const end = Math.min(o.adv.length, ft.prefixes.size);
        for (let i = 0; i < end; i++) {
          const a = o.adv[i]! - 1;
          if (a < 0) continue;
          this.store.release(a);
          if (ft.head[i]! < 0) this.maybeFreePrefix(f, i);
        }
      }
      if (opts?.gracefulRestart) markStale(this, p, f);
      else this.#removals.push(p, f, false);
    }
  }

  /** Like sweepStale, but the removal is done by `peerDownStep` slices. */
  startSweepStale(id: string, family?: Family): void {
    const p = this.peer(id);
    for (let f = 0; f < 2; f++) if (family === undefined || famIndex(family) === f) this.#removals.push(p, f, true);
  }

  /**
   * Like removePeer, without blocking: the id is gone at once (it may be added again), its routes are
   * removed by `peerDownStep` slices, and its index is freed after the last of them.
   */
  startRemovePeer(id: string): void {
    const p = this.peer(id);
    this.startPeerDown(id);
    this.#removals.removeAll(p);
    this.#byId.delete(id);
  }

  /**
   * Removes up to `budget` paths of pending peer-down / stale-sweep / peer-removal work (scanning at
   * most 8 × budget pool slots), re-running best path and queueing withdrawals for them. True while
   * work remains.
   */
  peerDownStep(budget: number): boolean {
    return this.#removals.step(budget);
  }

  /** True while peer-down / stale-sweep / peer-removal work is pending (see peerDownStep). */
  get peerDownPending(): boolean {
    return this.#removals.pending;
  }

  sweepStale(id: string, family?: Family): void {
    const p = this.peer(id);
    for (let f = 0; f < 2; f++) {
      if (family !== undefined && famIndex(family) !== f) continue;
      const ft = this.tables[f]!;
      removePaths(this, p, f, (q) => (ft.pathFlags[q]! & PATH_STALE) !== 0);
    }
  }

  beginRouteRefresh(id: string, family: Family): void {
    this.#removals.finish(this.peer(id));
    markStale(this, this.peer(id), famIndex(family));
  }

  endRouteRefresh(id: string, family: Family): void {
    this.sweepStale(id, family);
  }

  ingestUpdate(id: string, update: RibUpdate): IngestResult {
    const p = this.peer(id);
    if (!p.up || !p.neg) throw new RibStateError(`UPDATE from peer ${JSON.stringify(id)} that is not up`);
    scanAttrs(update.attrs, 0, update.attrs.length, this.scan);
    return ingestUpdate(this, p, update);
  }

  /** Removes path q of family f, releasing its sets and re-running best path for its prefix. */
  removePath(f: number, q: number): void {
    const ft = this.tables[f]!,
      p = this.peers[ft.pathPeer[q]!]!;
    const pi = ft.pathPrefix[q]!,
      inA = ft.inAttrOf(q),
      a = ft.pathAttr[q]!;
    const wasBest = ft.bestOf(pi) === q;
    ft.freePath(q);
    p.received[f]!--;
    if (a >= 0) p.accepted[f]!--;
    this.store.release(inA);
    if (a >= 0) this.store.release(a);
    this.recompute(f, pi, wasBest);
  }

  /**
   * Best path for prefix pi of family f; on change, marks Adj-RIB-Out and FIB dirty. `bestChanged`:
   * the caller changed the attributes of the current best path (so the same index is still a change).
   */
  recompute(f: number, pi: number, bestChanged = false): void {
    const ft = this.tables[f]!;
    selectBest(this.bestEnv[f]!, pi);
    const sel = selection;
    // Written only when it changes: a prefix with one path keeps reason 0, and its page of reason[]
    // then stays untouched (not resident; 0.5 MB at 500k single-path prefixes).
    if (ft.reason[pi] !== sel.reason) ft.reason[pi] = sel.reason;
    if (sel.best !== ft.bestOf(pi) || bestChanged) {
      ft.setBest(pi, sel.best);
      const ups = this.upOut[f]!;
      const src = sel.best >= 0 ? ft.pathPeer[sel.best]! : -1;
      const requiresPolicy = this.env.ebgpRequiresPolicy;
      for (let k = 0; k < ups.length; k++) {
        const t = ups[k]!,
          o = t.out[f]!;
        // A peer we export nothing to (a reject-all policy, or RFC 8212 without one) with nothing
        // advertised: no Adj-RIB-Out work at all (50 such peers cost 50 dirty marks per prefix).
        if (o.advertised === 0 && (t.exportPolicy ? t.exportPolicy.rejectsAll === true : !t.ibgp && requiresPolicy))
          continue;
        // Nothing advertised and either no best path or one from this peer (split horizon): nothing to send.
        if ((sel.best < 0 || t.idx === src) && advOf(o, pi) === -1) continue;
        o.dirty.mark(pi, ft.prefixes.capacity);
      }
      if (this.opts.trackBestChanges) ft.queueFib(pi);
    } else if (this.opts.trackBestChanges && this.opts.maxPaths > 1) ft.queueFib(pi);
    if (ft.head[pi]! < 0) this.maybeFreePrefix(f, pi);
  }

  /**
   * Frees prefix slot pi of family f for reuse once nothing refers to it: no path, not queued for the
   * FIB stream, and for every up peer neither advertised nor waiting to be sent. Called wherever one of
   * those references goes away (last path removed, outbound written, FIB change taken, peer down).
   */
  maybeFreePrefix(f: number, pi: number): void {
    const ft = this.tables[f]!;
    if (ft.head[pi]! >= 0 || ft.fibState[pi] !== 0 || !ft.prefixes.isLive(pi)) return;
    const ups = this.upOut[f]!;
    for (let k = 0; k < ups.length; k++) {
      const o = ups[k]!.out[f]!;
      if (advOf(o, pi) >= 0 || o.dirty.has(pi)) return;
    }
    if (ft.reason[pi] !== 0) ft.reason[pi] = 0;
    ft.prefixes.remove(pi);
  }

  refreshOutbound(id: string, family?: Family): void {
    const p = this.peer(id);
    for (let f = 0; f < 2; f++) {
      const o = p.out[f];
      if (!o || (family !== undefined && famIndex(family) !== f)) continue;
      p.exportCache[f]!.clear();
      if (o.force && o.refreshMarked) continue; // every prefix is still marked from the last refresh
      const ft = this.tables[f]!,
        n = ft.prefixes.capacity;
      for (let i = 0; i < ft.prefixes.size; i++) if (ft.bestOf(i) >= 0 || advOf(o, i) >= 0) o.dirty.mark(i, n);
      o.force = true;
      o.refreshMarked = true;
    }
  }

  originate(prefix: string, attrs: OriginateAttrs = {}): void {
    originate(this, prefix, attrs);
  }

  withdrawOriginated(prefix: string): void {
    withdrawOriginated(this, prefix);
  }

  takeOutbound(id: string, maxBytes: number): Buffer[] {
    const p = this.peer(id);
    if (!p.up || !p.neg) return [];
    return writeOutbound(this, p, maxBytes);
  }

  hasOutbound(id: string): boolean {
    const p = this.peer(id);
    return p.out.some((o) => o !== undefined && (o.dirty.count > 0 || o.eorPending));
  }

  takeBestPathChanges(max: number): BestPathChange[] {
    return takeBestPathChanges(this, max);
  }

  queryRoutes(query: RibQuery): RibRoute[] {
    return queryRoutes(this, query);
  }

  countRoutes(query: Pick<RibQuery, 'family' | 'peer'> = {}): { readonly prefixes: number; readonly paths: number } {
    return countRoutes(this, query);
  }

  peerCounts(id: string): PeerRibCounts {
    const p = this.peer(id);
    return {
      received: p.received[0] + p.received[1],
      accepted: p.accepted[0] + p.accepted[1],
      advertised: (p.out[0]?.advertised ?? 0) + (p.out[1]?.advertised ?? 0),
    };
  }

  /**
   * Resident bytes of the RIB's typed arrays (prefix tables, path pools, Adj-RIB-Out) up to their
   * high-water marks, for benchmarks and tests; reserved but untouched capacity is not counted.
   */
  get typedArrayBytes(): number {
    return typedArrayBytes(this);
  }

  /** Live prefix slots per family (freed slots are reused). */
  get prefixSlots(): { readonly ipv4: number; readonly ipv6: number } {
    return { ipv4: this.tables[0].prefixes.count, ipv6: this.tables[1].prefixes.count };
  }

  /** writeOutbound found `set`'s route (a Loc-RIB set) too big for T's messages: queued once per set and peer. */
  noteUnsendable(T: PeerRt, set: AttrSet, fam: Family, pi: number, needed: number, limit: number): void {
    if (set.unsendableTo?.includes(T.idx)) return;
    (set.unsendableTo ??= []).push(T.idx);
    this.unsendableTotal++;
    const ft = this.tables[famIndex(fam)]!;
    const prefix = formatPrefix(fam, ft.prefixes.keyOf(pi), ft.prefixes.lens[pi]!);
    if (this.#unsendable.length < 1000)
      this.#unsendable.push({ peer: T.config.id, family: fam, prefix, needed, limit });
  }

  takeUnsendable(): UnsendableRoute[] {
    const out = this.#unsendable;
    this.#unsendable = [];
    return out;
  }

  /** Interned attribute sets (for benchmarks and tests). */
  get attrSetCount(): number {
    return this.store.size;
  }
  /** A cached transform result whose set may have been forgotten since: the live equal set. */
  live(set: AttrSet): AttrSet {
    return set.id >= 0 ? set : this.store.revive(set);
  }
}
