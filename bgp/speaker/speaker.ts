/**
 * BgpSpeaker: the engine the agent embeds and margay-bgpd runs standalone. Narrow interface:
 * "these are my peers" (constructor, reconfigure), "advertise these prefixes" (advertise/withdraw),
 * and a stream of best-path changes (onBestPathChange, plus FIB sync into the kernel when enabled).
 *
 *            listener ──accepted sockets──▶ SpeakerPeer ◀──▶ Session (bgp/session, FSM + socket)
 *                                                │ ingest / peerUp / peerDown / refresh
 *                                                ▼
 *   advertise() ───originate──────────────────▶  Rib (bgp/rib: Adj-RIB-In, Loc-RIB, Adj-RIB-Out)
 *                                                │ flush(): takeOutbound → session.send (backpressure)
 *                                                │          takeBestPathChanges → subscribers, FIB
 *                                                ▼
 *                                       FibSyncLoop (bgp/fib) ──▶ RouteTable (src/kernel)
 *
 * Flushing runs on setImmediate in time-bounded slices (speaker-flush.ts), so keepalives and hold
 * timers keep running while a big table moves. start/stop/reconfigure follow src/runtime's Lifecycle.
 */
import { type Clock, Lifecycle, realClock, sleep, type Timer } from '../../src/runtime/index.js';
import { DynamicBackoff } from './dynamic-backoff.js';
import { originatedChanges, planReconfigure } from './reconfigure-plan.js';
import type { ReconfigureAction, ReconfigureSummary } from './reconfigure-plan.js';
import { assert } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { OWNERSHIP } from '../../src/kernel/index.js';
import { CEASE_SUBCODE, ERR, shutdownData } from '../codec/index.js';
import { FibSync, FibSyncLoop } from '../fib/index.js';
import { SLICE_MS, scheduleSliced } from '../session/index.js';
import type { Family } from '../rib/index.js';
import { deviceOf, linkFacts, systemInterfaces } from './interfaces.js';
import { SpeakerPeer, type PeerHost } from './peer.js';
import type { ListenerPort, RibPort, SessionFactory } from './ports.js';
import {
  fibAccept,
  matchListenRange,
  originateAttrs,
  policyDefinitions,
  ribOptions,
  ribPeerConfig,
  sessionInput,
  type PeerSettings,
  type SpeakerConfig,
} from './translate.js';
import type { AnnounceRequest, BestPathChange, PeerStatusView, RibQuery, RibQueryResult } from './types.js';
import { peerStatusView, queryRibView } from './views.js';
import { flushSlice, publishChanges } from './speaker-flush.js';
import type { SpeakerDeps } from './speaker-deps.js';
export type { SpeakerConfig } from './translate.js';
export type { ReconfigureSummary, SpeakerDeps };

/** Dynamic neighbours remembered in max-prefix back-off at most (oldest forgotten first). */
const DYNAMIC_BACKOFF_MAX = 4096;
/** Reset peers reconnect after this: an OPEN ahead of our Cease 6 drops it unread (BIRD; docs/bgp.md). */
const RESET_RECONNECT_MS = 300;

export class BgpSpeaker {
  #config: SpeakerConfig;
  readonly #log: Logger;
  readonly #deps: SpeakerDeps;
  #rib!: RibPort;
  #policies = new Map<string, import('../route-policy/types.js').RoutePolicy>();
  readonly #peers = new Map<string, SpeakerPeer>();
  /** Max-prefix back-off of dynamic neighbours, outliving their sessions (dynamic-backoff.ts). */
  readonly #dynamicBackoff = new DynamicBackoff(DYNAMIC_BACKOFF_MAX);
  #listener: ListenerPort | undefined;
  #fib: FibSyncLoop | undefined;
  readonly #subscribers = new Set<(changes: readonly BestPathChange[]) => void>();
  readonly #initialSyncWaiters = new Set<(why: string) => void>();
  #initialSync: string | undefined;
  readonly #flushCursor = { next: 0 };
  /** Initial sync reached: the FIB is told once the flush has published the RIB's pending best paths. */
  #fibInSyncDue = false;
  readonly #life = new Lifecycle('bgp-speaker');
  #inSyncTimer: Timer | undefined;
  readonly #clock: Clock;
  /**
   * RFC 4724 §4.1 selection deferral: after our own restart, hold every Adj-RIB-Out (and so our
   * End-of-RIB) until each configured peer that does graceful restart has sent its End-of-RIB, or the
   * restart time passed, so peers do not sweep routes we simply have not relearned yet.
   */
  #deferOutbound = false;
  /** start() called again by a global reconfigure: that is not a restart of ours (no GR R bit). */
  #reconfiguring = false;
  readonly #host: PeerHost;

  constructor(config: SpeakerConfig, deps: SpeakerDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#clock = deps.clock ?? (deps.now ? { ...realClock, now: deps.now } : realClock);
    this.#log = deps.log.child({ component: 'bgp-speaker' });
    const self = this;
    this.#host = {
      log: this.#log,
      get stalePathSeconds() {
        return self.#config.gracefulRestart.stalePathTime;
      },
      ensureRibPeer: (p, peerAs, localAddress) => this.#ensureRibPeer(p, peerAs, localAddress),
      rib: () => this.#rib,
      scheduleFlush: () => this.#scheduleFlush(),
      endOfRib: () => this.#checkInSync(),
      established: () => this.#checkInSync(),
      dynamicDown: (p) => this.#forgetDynamic(p),
      sessionReplaced: (p, old) => {
        this.#listener?.register(p.session);
        this.#listener?.unregister(old);
      },
      now: () => this.#now(),
      clock: this.#clock,
    };
  }

  get config(): SpeakerConfig {
    return this.#config;
  }

  #now(): number {
    return this.#clock.now();
  }

  start(): Promise<void> {
    return this.#life.start(() => this.#open());
  }

  async #open(): Promise<void> {
    const fibOn = this.#deps.routeTable !== undefined && this.#config.fib.enabled;
    this.#rib = this.#deps.ribFactory({
      ...ribOptions(this.#config),
      trackBestChanges: this.#deps.trackBestPaths ?? fibOn,
    });
    this.#policies = new Map(policyDefinitions(this.#config));
    let restarting = this.#deps.restarting ?? false;
    if (this.#deps.routeTable && this.#config.fib.enabled) {
      const accept = fibAccept(this.#config);
      const fib = new FibSync(this.#deps.routeTable, {
        table: this.#config.fib.table,
        batchSize: this.#config.fib.batchSize,
        ...(accept && { accept }),
      });
      this.#fib = new FibSyncLoop(fib, this.#deps.log.child({ component: 'fib' }));
      if (this.#deps.restarting === undefined && !this.#reconfiguring) {
        const ours = await this.#deps.routeTable.list({
          table: this.#config.fib.table,
          protos: [OWNERSHIP.routeProtocol.bgp],
        });
        restarting = ours.length > 0;
        if (restarting)
          this.#log.info({ routes: ours.length }, 'FIB holds our routes from a previous run: restarting gracefully');
      }
      this.#fib.kick();
    }
    for (const o of this.#config.originate) this.#originate(o.prefix, o);
    const sessions = this.#deps.sessions;
    this.#deferOutbound = restarting;
    for (const p of this.#config.peers) this.#addPeer(p, false, sessions, restarting);
    const listen = this.#config.listen;
    if (listen.addresses.length > 0 && listen.port > 0) {
      this.#listener = await this.#deps.listener.listen(listen, this.#deps.log.child({ component: 'bgp-listener' }));
      for (const p of this.#peers.values()) this.#listener.register(p.session);
      this.#addRanges(this.#config.listenRanges);
    }
    for (const p of this.#peers.values()) p.start();
    this.#checkInSync();
    this.#inSyncTimer = this.#clock.setTimeout(() => {
      this.#inSyncTimer = undefined;
      this.#initialSyncDone('restart time passed');
    }, this.#config.gracefulRestart.restartTime * 1000);
    this.#log.info(
      { asn: this.#config.asn, routerId: this.#config.routerId, peers: this.#peers.size },
      'speaker started',
    );
  }

  /** Stops every session with Cease 2 (RFC 9003 message) and releases everything. FIB routes stay. */
  stop(opts: { readonly message?: string } = {}): Promise<void> {
    return this.#life.stop(() => this.#close(opts));
  }

  async #close(opts: { readonly message?: string }): Promise<void> {
    this.#inSyncTimer?.cancel();
    const data = opts.message ? shutdownData(opts.message) : Buffer.alloc(0);
    for (const p of this.#peers.values()) p.stop({ code: ERR.CEASE, subcode: CEASE_SUBCODE.ADMIN_SHUTDOWN, data });
    await this.#listener?.close();
    // Give the NOTIFICATIONs a moment to leave before the sockets are destroyed.
    await sleep(this.#clock, 50);
    for (const p of this.#peers.values()) p.destroy();
    this.#peers.clear();
    await this.#fib?.whenIdle(); // changes already queued still reach the kernel
    await this.#fib?.stop();
    this.#log.info('speaker stopped');
  }

  /**
   * Applies a new config without dropping unaffected sessions: planReconfigure (pure, in reconfigure-plan.ts)
   * decides, this carries the plan out. Before start() only the config changes; once stopping, refused.
   */
  reconfigure(next: SpeakerConfig): Promise<ReconfigureSummary> {
    if (this.#life.state !== 'idle') return this.#life.run(() => this.#reconfigure(next));
    const plan = planReconfigure({ config: this.#config, peers: [] }, next);
    this.#config = next;
    return Promise.resolve(plan.summary);
  }

  async #reconfigure(next: SpeakerConfig): Promise<ReconfigureSummary> {
    const cur = this.#config;
    const running = [...this.#peers.values()].map((p) => ({
      address: p.settings.address,
      dynamic: p.dynamic,
      settings: p.settings,
    }));
    const plan = planReconfigure({ config: cur, peers: running }, next);
    if (plan.summary.restartedAll) {
      this.#log.warn('global BGP settings changed: restarting every session (Cease 6)');
      await this.#restartAll(next);
      return plan.summary;
    }
    this.#config = next;
    this.#policies = new Map(policyDefinitions(next));
    for (const a of plan.actions) this.#applyReconfigure(a, cur, next);
    // A slice at once: a new origination's UPDATE leaves now, not behind the caller's queued work.
    if (this.#life.accepting && this.#flush(performance.now() + SLICE_MS)) this.#scheduleFlush();
    return plan.summary;
  }

  #applyReconfigure(a: ReconfigureAction, cur: SpeakerConfig, next: SpeakerConfig): void {
    const sessions = this.#deps.sessions;
    switch (a.do) {
      case 'restart-all': // handled by reconfigure (async)
        return;
      case 'warn':
        this.#log.warn(a.message);
        return;
      case 'set-cluster-id':
        this.#log.info(
          { from: a.from, to: a.clusterId },
          'route-reflector cluster ID changed: reflection re-evaluated',
        );
        this.#rib.setClusterId(a.clusterId);
        return;
      case 'remove-peer':
        this.#removePeer(this.#peers.get(a.address)!, CEASE_SUBCODE.PEER_DECONFIGURED);
        return;
      case 'reset-peer': {
        const old = this.#peers.get(a.address)!;
        this.#removePeer(old, CEASE_SUBCODE.OTHER_CONFIG_CHANGE, true);
        const p = this.#addPeer(a.peer, false, sessions, false);
        p.ribRegistered = old.ribRegistered;
        p.ribStale = true;
        this.#listener?.register(p.session);
        // Reconnect once the peer read our Cease 6 (RESET_RECONNECT_MS).
        const started = () => this.#peers.get(a.address) === p && this.#life.accepting && p.start();
        this.#clock.setTimeout(started, RESET_RECONNECT_MS);
        return;
      }
      case 'update-peer': {
        const peer = this.#peers.get(a.address)!;
        peer.settings = a.peer;
        if (peer.ribRegistered && peer.peerAs !== undefined)
          this.#rib.updatePeer(this.#ribConfig(peer, peer.peerAs, peer.localAddress ?? '0.0.0.0').cfg);
        return;
      }
      case 'keep-peer':
        this.#peers.get(a.address)!.settings = a.peer;
        return;
      case 'add-peer': {
        const peer = this.#addPeer(a.peer, false, sessions, false);
        this.#listener?.register(peer.session);
        peer.start();
        return;
      }
      case 'add-listen-ranges':
        this.#addRanges(a.ranges);
        return;
      case 'clear-dynamic-backoff':
        this.#dynamicBackoff.clear();
        return;
      case 'reconcile-originated': {
        const d = originatedChanges(cur, next);
        for (const prefix of d.withdraw) this.#rib.withdrawOriginated(prefix);
        for (const o of d.originate) this.#originate(o.prefix, o);
        return;
      }
    }
  }

  async #restartAll(next: SpeakerConfig): Promise<void> {
    for (const p of this.#peers.values()) {
      p.stop({ code: ERR.CEASE, subcode: CEASE_SUBCODE.OTHER_CONFIG_CHANGE, data: Buffer.alloc(0) });
      p.destroy();
    }
    this.#peers.clear();
    await this.#listener?.close();
    this.#listener = undefined;
    this.#inSyncTimer?.cancel();
    await this.#fib?.stop();
    this.#fib = undefined;
    await sleep(this.#clock, RESET_RECONNECT_MS); // every peer reads its Cease 6 before our new OPEN
    this.#config = next;
    this.#reconfiguring = true;
    try {
      await this.#open();
    } finally {
      this.#reconfiguring = false;
    }
  }

  /** Originates prefixes. Returns how many were (re)announced. */
  advertise(req: AnnounceRequest): number {
    for (const p of req.prefixes) this.#originate(p, req);
    this.#scheduleFlush();
    return req.prefixes.length;
  }

  withdraw(prefixes: readonly string[]): number {
    for (const p of prefixes) this.#rib.withdrawOriginated(p);
    this.#scheduleFlush();
    return prefixes.length;
  }

  /** Subscribes to best-path changes (learned and local); returns the unsubscribe function. */
  onBestPathChange(cb: (changes: readonly BestPathChange[]) => void): () => void {
    const tracked = this.#deps.trackBestPaths === true || (this.#deps.routeTable && this.#config.fib.enabled);
    assert(tracked === true, 'onBestPathChange needs deps.trackBestPaths');
    this.#subscribers.add(cb);
    return () => this.#subscribers.delete(cb);
  }

  /** Asks a peer to re-send its routes (ROUTE-REFRESH, RFC 2918). */
  refresh(address: string, family: Family = 'ipv4'): boolean {
    const p = this.#peers.get(address);
    if (!p?.established) return false;
    return p.session.sendRouteRefresh(family === 'ipv4' ? 1 : 2, 1, 0);
  }

  peerStatus(): PeerStatusView[] {
    const now = this.#now();
    return [...this.#peers.values()].map((p) => peerStatusView(p, this.#rib, this.#config.asn, now));
  }

  queryRib(q: RibQuery): RibQueryResult {
    return queryRibView(this.#rib, q);
  }

  // ------------------------------------------------------------------------------------------ peers

  #addPeer(p: PeerSettings, dynamic: boolean, sessions: SessionFactory, restarting: boolean): SpeakerPeer {
    const preserved = restarting && (this.#fib !== undefined || this.#deps.forwardingPreserved === true);
    const input = sessionInput(this.#config, p, {
      restarting,
      forwardingPreserved: preserved,
      ...(dynamic && { passive: true }),
    });
    const log = this.#log.child({ peer: p.address });
    const session = sessions.create(input, log);
    const renew = restarting
      ? () => sessions.create(sessionInput(this.#config, p, { restarting: false, forwardingPreserved: false }), log)
      : undefined;
    const peer = new SpeakerPeer(p, session, dynamic, this.#host, renew);
    this.#peers.set(p.address, peer);
    return peer;
  }

  #removePeer(peer: SpeakerPeer, subcode: number, keepRib = false): void {
    peer.stop({ code: ERR.CEASE, subcode, data: Buffer.alloc(0) });
    peer.destroy();
    this.#listener?.unregister(peer.session);
    this.#peers.delete(peer.settings.address);
    if (peer.ribRegistered && !keepRib) this.#rib.startRemovePeer(peer.id);
    if (peer.ribRegistered && keepRib) {
      this.#rib.startPeerDown(peer.id);
      this.#rib.startSweepStale(peer.id); // routes kept from an earlier graceful restart go too
    }
    peer.log.info({ subcode }, 'peer removed');
  }

  /** Ranges go to the listener once; whether an address is still welcome is decided per connection. */
  #addRanges(ranges: readonly SpeakerConfig['listenRanges'][number][]): void {
    for (const r of ranges) {
      this.#listener?.addRange({ prefix: r.prefix, md5Password: r.password, ttlSecurityHops: r.ttlSecurity }, (addr) =>
        this.#acceptDynamic(addr, this.#deps.sessions),
      );
    }
  }

  #acceptDynamic(address: string, sessions: SessionFactory): import('./ports.js').SessionPort | undefined {
    const range = matchListenRange(this.#config, address);
    if (!range || !this.#life.accepting) return undefined;
    const existing = this.#peers.get(address);
    if (existing) return existing.session;
    const until = this.#dynamicBackoff.refusedUntil(address, this.#now());
    if (until !== undefined) {
      const refused = { peer: address, range: range.prefix, untilMs: until };
      this.#log.info(refused, 'dynamic neighbour refused: max-prefix back-off');
      return undefined;
    }
    const peer = this.#addPeer({ ...range, address }, true, sessions, false);
    this.#log.info({ peer: address, range: range.prefix }, 'dynamic neighbour accepted');
    peer.start();
    return peer.session;
  }

  #forgetDynamic(peer: SpeakerPeer): void {
    if (this.#peers.get(peer.settings.address) !== peer) return;
    this.#peers.delete(peer.settings.address);
    if (peer.maxPrefixUntil !== undefined && peer.maxPrefixUntil > this.#now())
      this.#dynamicBackoff.remember(peer.settings.address, peer.maxPrefixUntil, this.#now());
    if (peer.ribRegistered) this.#rib.startRemovePeer(peer.id);
    peer.destroy();
    this.#scheduleFlush();
  }

  /** The RIB's view of a peer under the current config (its link facts refreshed). */
  #ribConfig(p: SpeakerPeer, peerAs: number, localAddress: string) {
    const link = linkFacts((this.#deps.interfaces ?? systemInterfaces)(), localAddress, p.settings.address, p.settings);
    const linkChanged = JSON.stringify(link) !== JSON.stringify(p.linkFacts);
    p.linkFacts = link;
    const cfg = ribPeerConfig(this.#config, p.settings, p.id, { peerAs, localAddress, link }, this.#policies);
    return { cfg, linkChanged };
  }

  #ensureRibPeer(p: SpeakerPeer, peerAs: number, localAddress: string): void {
    const { cfg, linkChanged } = this.#ribConfig(p, peerAs, localAddress);
    if (!p.ribRegistered) {
      this.#rib.addPeer(cfg);
      p.ribRegistered = true;
    } else if (p.ribStale || linkChanged || p.peerAs !== peerAs || p.localAddress !== localAddress) {
      this.#rib.updatePeer(cfg);
    }
    p.ribStale = false;
  }

  // ------------------------------------------------------------------------------------ originate

  #originate(prefix: string, a: Parameters<typeof originateAttrs>[0]): void {
    this.#rib.originate(prefix, originateAttrs(a));
  }

  // ---------------------------------------------------------------------------------------- flush

  #scheduleFlush(): void {
    if (!this.#life.accepting) return;
    scheduleSliced(this.#flush);
  }

  /** One slice of the flush, a task of the sessions' scheduler (it runs it again while this returns true). */
  #flush = (deadline: number): boolean => {
    if (!this.#life.accepting) return false;
    const defer = () => this.#deferOutbound;
    const more = flushSlice(this.#rib, this.#peers, defer, (c) => this.#publish(c), deadline, this.#flushCursor);
    if (!more && this.#fibInSyncDue) this.#fib?.markInSync();
    this.#fibInSyncDue &&= more;
    return more;
  };

  #publish(changes: Parameters<typeof publishChanges>[0]): void {
    const deviceFor = (prefix: string, family: Family, hop: string) => this.#deviceFor(prefix, family, hop);
    publishChanges(changes, this.#fib, this.#subscribers, deviceFor, this.#log);
  }

  /** The device of the session a link-local next hop was learned over (FIB: `via fe80::1 dev X`). */
  #deviceFor(prefix: string, family: Family, hop: string): string | undefined {
    const from = this.#rib.queryRoutes({ prefix, family }).find((r) => r.nextHop === hop && r.peer !== 'local');
    const local = from && this.#peers.get(from.peer)?.localAddress;
    return local === undefined ? undefined : deviceOf((this.#deps.interfaces ?? systemInterfaces)(), local);
  }

  /** Initial sync: every configured peer is up and, if it does graceful restart, has sent End-of-RIB. */
  #checkInSync(): void {
    if (!this.#deferOutbound && (!this.#fib || this.#fib.fib.inSync)) {
      if (this.#initialSync === undefined) this.#initialSyncDone('not restarting');
      return;
    }
    const waiting = [...this.#peers.values()].some((p) => !p.dynamic && (!p.established || p.pendingEor.size > 0));
    if (!waiting) this.#initialSyncDone('every peer sent End-of-RIB');
  }

  /**
   * Resolves once the initial sync after start is over (every configured peer up and, with graceful restart,
   * its End-of-RIB in; or the restart time passed). Only tracked when restarting or with FIB sync.
   */
  whenInitialSync(): Promise<string> {
    if (this.#initialSync !== undefined) return Promise.resolve(this.#initialSync);
    return new Promise((resolve) => this.#initialSyncWaiters.add(resolve));
  }

  #initialSyncDone(why: string): void {
    if (this.#initialSync === undefined) {
      this.#initialSync = why;
      for (const w of this.#initialSyncWaiters) w(why);
      this.#initialSyncWaiters.clear();
    }
    // Not at once: routes received with the last End-of-RIB may wait in the RIB for a flush slice; told
    // before they are published, the FIB would remove them as unwanted. The flush tells it when done.
    this.#fibInSyncDue = this.#fib !== undefined && !this.#fib.fib.inSync;
    if (this.#fibInSyncDue) this.#scheduleFlush();
    if (this.#deferOutbound) {
      this.#deferOutbound = false;
      this.#log.info({ why }, 'graceful restart: route selection deferral over, advertising');
      this.#scheduleFlush();
    }
  }
}
