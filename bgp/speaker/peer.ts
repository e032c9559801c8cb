/**
 * One peer inside the speaker: glue between its Session and the shared RIB. It owns the per-peer
 * orchestration the RFCs put between the two:
 *
 *   session 'established' ─▶ rib.addPeer/updatePeer (real peer AS, our local address) ─▶ rib.peerUp
 *                            (the RIB queues the whole table, then End-of-RIB) ─▶ speaker flushes
 *   session 'update'      ─▶ rib.ingestUpdate ─▶ max-prefix (Cease 1 + restart after N s, RFC 4486)
 *   session 'routeRefresh'─▶ rib.refreshOutbound / BoRR / EoRR (RFC 2918, RFC 7313)
 *   session 'down'        ─▶ graceful restart helper (RFC 4724 + RFC 8538): keep routes stale, sweep
 *                            after the peer's restart time or the stale-path time; else peerDown
 *
 * Timers here are the speaker's (GR restart/stale, max-prefix restart); the FSM's are the session's.
 */
import type { Clock, Timer } from '../../src/runtime/index.js';
import type { Logger } from '../../src/log.js';
import { CEASE_SUBCODE, ERR } from '../codec/index.js';
import type { RouteRefreshMessage, UpdateMessage } from '../codec/index.js';
import type { DownReason, Negotiated } from '../session/index.js';
import type { Family, RibNegotiated } from '../rib/index.js';
import type { SessionPort } from './ports.js';
import { familyOfKey, type PeerSettings } from './translate.js';

export interface PeerHost {
  readonly log: Logger;
  readonly stalePathSeconds: number;
  /** Registers or updates the peer in the RIB once its AS and local address are known. */
  ensureRibPeer(peer: SpeakerPeer, peerAs: number, localAddress: string): void;
  rib(): import('./ports.js').RibPort;
  /** Something to send or a best-path change may be pending. */
  scheduleFlush(): void;
  /** The peer sent End-of-RIB for a family (initial-sync tracking). */
  endOfRib(peer: SpeakerPeer, family: Family): void;
  /** The session came up (initial-sync tracking). */
  established(peer: SpeakerPeer): void;
  /** The peer swapped its session: the listener must hand connections to `peer.session` now. */
  sessionReplaced(peer: SpeakerPeer, old: SessionPort): void;
  /** A dynamic peer's session ended: the speaker forgets it. */
  dynamicDown(peer: SpeakerPeer): void;
  now(): number;
  readonly clock: Clock;
}

function describeDown(why: DownReason): string {
  const n = why.received ?? why.sent;
  if (!n) return why.reason;
  const dir = why.received ? 'received' : 'sent';
  const msg = 'shutdownMessage' in n && n.shutdownMessage ? ` "${n.shutdownMessage}"` : '';
  return `${why.reason}: ${dir} NOTIFICATION ${'errorCode' in n ? n.errorCode : n.code}/${n.subcode}${msg}`;
}

function isHardReset(why: DownReason): boolean {
  const code = why.received ? why.received.errorCode : why.sent?.code;
  const sub = why.received ? why.received.subcode : why.sent?.subcode;
  return code === ERR.CEASE && sub === CEASE_SUBCODE.HARD_RESET;
}

export class SpeakerPeer {
  /** RIB key. */
  readonly id: string;
  established = false;
  ribRegistered = false;
  /** The RIB's settings for this peer are out of date (config changed while down). */
  ribStale = false;
  peerAs: number | undefined;
  localAddress: string | undefined;
  negotiated: Negotiated | undefined;
  /** What the RIB's NEXT_HOP checks were last given for this peer (bgp/speaker/interfaces.ts). */
  linkFacts: import('./interfaces.js').LinkFacts | undefined;
  lastError: string | undefined;
  /** The session's own lastError when ours was recorded: once it differs, the session's is newer. */
  lastErrorSnapshot: string | undefined;
  /** Families still owed an End-of-RIB by a graceful-restart peer in this session (others owe none). */
  readonly pendingEor = new Set<Family>();
  /** Set when max-prefix shut the session down (and the restart timer, if any). */
  adminDown: 'max-prefix' | undefined;
  /** When max-prefix shut the session down: until when (ms, Infinity for `shutdown`) it stays out. */
  maxPrefixUntil: number | undefined;
  prefixesAdvertisedBytes = 0;
  /** Families owed an EoRR (RFC 7313 §4): sent by the speaker's flush once the re-advertisement is out. */
  readonly pendingEorr = new Set<Family>();
  #restartTimer: Timer | undefined;
  #staleTimer: Timer | undefined;
  #maxPrefixTimer: Timer | undefined;
  /** RFC 7313 §4 receiver: per family, purge after BoRR when the EoRR does not come. */
  readonly #eorrTimers = new Map<Family, Timer>();
  #sending = false;
  #gracefulHelper = false;
  #warnedMaxPrefix = false;
  /** Stopped for good (deconfigured, reset, speaker stopping): no graceful-restart timers. */
  #stopping = false;
  #sinceMs: number;
  readonly log: Logger;

  /**
   * @param renew After our own restart the first session's OPENs carry the GR Restarting bit; that bit
   *   belongs to the first OPEN only (RFC 4724 §3), so once that session has been up and goes down it
   *   is replaced by one made with `renew` (Restarting bit clear).
   */
  constructor(
    public settings: PeerSettings,
    public session: SessionPort,
    readonly dynamic: boolean,
    private readonly host: PeerHost,
    private renew?: () => SessionPort,
  ) {
    this.id = settings.address;
    this.log = host.log.child({ peer: settings.address, peerAsn: settings.asn });
    this.#sinceMs = host.now();
    this.#attach(session);
  }

  #attach(session: SessionPort): void {
    const host = this.host;
    const mine = (fn: () => void) => () => {
      if (this.session === session) fn();
    };
    session.on('established', (n) => mine(() => this.#onEstablished(n))());
    session.on('update', (m) => mine(() => this.#onUpdate(m))());
    session.on(
      'updatesDone',
      mine(() => host.scheduleFlush()),
    );
    session.on('routeRefresh', (m) => mine(() => this.#onRouteRefresh(m))());
    session.on('down', (why) => mine(() => this.#onDown(why))());
    session.on(
      'drain',
      mine(() => {
        this.#sending = false;
        host.scheduleFlush();
      }),
    );
    session.on(
      'stateChange',
      mine(() => {
        this.#sinceMs = host.now();
      }),
    );
  }

  /** Swap in a session without the GR Restarting bit (see `renew`), inside the old one's 'down'. */
  #renewSession(): void {
    const make = this.renew;
    this.renew = undefined;
    if (!make) return;
    const old = this.session;
    const next = make();
    this.session = next;
    this.#attach(next);
    this.host.sessionReplaced(this, old);
    old.destroy(); // stops it before it schedules its own reconnect
    if (this.adminDown === undefined) next.start();
    this.log.info('session renewed without the graceful-restart Restarting bit');
  }

  get sinceMs(): number {
    return this.#sinceMs;
  }

  /** Ready to take outbound UPDATEs (Established and the socket not backed up). */
  get writable(): boolean {
    return this.established && !this.#sending;
  }

  /** Sends encoded UPDATEs; returns false when the socket is full (a 'drain' resumes the flush). */
  send(buffers: Buffer[]): boolean {
    const ok = this.session.send(buffers);
    if (!ok) this.#sending = true;
    return ok;
  }

  start(): void {
    this.session.start();
  }

  /** Stop for good (deconfigured, changed, or speaker stopping). */
  stop(notification?: { code: number; subcode: number; data: Buffer }): void {
    this.#stopping = true;
    this.#clearTimers();
    this.session.stop(notification);
  }

  destroy(): void {
    this.#clearTimers();
    this.session.destroy();
  }

  #clearTimers(): void {
    for (const t of [this.#restartTimer, this.#staleTimer, this.#maxPrefixTimer]) t?.cancel();
    this.#restartTimer = this.#staleTimer = this.#maxPrefixTimer = undefined;
    for (const t of this.#eorrTimers.values()) t.cancel();
    this.#eorrTimers.clear();
  }

  #onEstablished(n: Negotiated): void {
    const rib = this.host.rib();
    this.negotiated = n;
    this.peerAs = n.peerAs;
    this.localAddress = (this.session.localAddress() ?? this.settings.sourceAddress ?? '0.0.0.0').replace(
      /^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i,
      '',
    );
    this.host.ensureRibPeer(this, n.peerAs, this.localAddress);
    this.established = true;
    this.#sending = false;
    this.#warnedMaxPrefix = false;
    this.lastError = undefined;
    const families = [...n.families].map(familyOfKey).filter((f): f is Family => f !== undefined);
    this.pendingEor.clear();
    this.pendingEorr.clear();
    if (n.peerGracefulRestart) for (const f of families) this.pendingEor.add(f);
    this.#restartTimer?.cancel();
    this.#restartTimer = undefined;
    if (this.#gracefulHelper) {
      // RFC 4724 §4.2: the peer is back. Families it did not keep forwarding state for (or all, when it
      // no longer offers GR) are swept now; the rest wait for its End-of-RIB or the stale-path time.
      const gr = n.peerGracefulRestart;
      const kept = new Set((gr?.families ?? []).filter((f) => f.forwardingPreserved).map((f) => familyOfKey(f.family)));
      for (const f of families) if (!gr || !kept.has(f)) rib.startSweepStale(this.id, f);
      this.#staleTimer?.cancel();
      this.#staleTimer = this.host.clock.setTimeout(() => {
        this.#staleTimer = undefined;
        this.log.warn(
          { seconds: this.host.stalePathSeconds },
          'stale-path time passed without End-of-RIB: sweeping stale routes',
        );
        this.host.rib().startSweepStale(this.id);
        this.host.scheduleFlush();
      }, this.host.stalePathSeconds * 1000);
      this.#gracefulHelper = false;
    }
    const ribNeg: RibNegotiated = {
      peerRouterId: n.peerRouterIdText,
      fourOctetAs: n.fourOctetAs,
      families,
      addPathReceive: [...n.addPathReceive].map(familyOfKey).filter((f): f is Family => f !== undefined),
      extendedMessages: n.extendedMessages,
      extendedNextHopV4: n.extendedNextHopV4 === true,
    };
    rib.peerUp(this.id, ribNeg); // 'session established' is logged once, by the session
    this.host.established(this);
    this.host.scheduleFlush();
  }

  #onUpdate(m: UpdateMessage): void {
    // After we ended the session mid-slice (max-prefix), messages still queued behind it are dropped.
    if (!this.established) return;
    const r = this.host.rib().ingestUpdate(this.id, {
      withdrawn: m.withdrawn,
      attrs: m.rawAttributes,
      nlri: m.nlri,
      treatAsWithdraw: m.action === 'treat-as-withdraw',
    });
    if (r.endOfRib) {
      this.pendingEor.delete(r.endOfRib);
      if (this.pendingEor.size === 0 && this.#staleTimer) {
        this.#staleTimer.cancel();
        this.#staleTimer = undefined;
      }
      this.host.endOfRib(this, r.endOfRib);
    }
    if (r.maxPrefixExceeded) this.#onMaxPrefix(r.maxPrefixExceeded);
  }

  #onMaxPrefix(x: { readonly family: Family; readonly limit: number; readonly data: Uint8Array }): void {
    const mp = this.settings.maxPrefix;
    const action = mp?.action ?? 'restart';
    if (action === 'warn') {
      if (!this.#warnedMaxPrefix)
        this.log.warn({ family: x.family, limit: x.limit }, 'peer exceeded max-prefix (action warn)');
      this.#warnedMaxPrefix = true;
      return;
    }
    this.lastError = `max-prefix ${x.limit} exceeded (${x.family}): sent Cease 1`;
    this.log.warn({ family: x.family, limit: x.limit, action }, 'peer exceeded max-prefix: Cease 1');
    this.adminDown = 'max-prefix';
    this.maxPrefixUntil = action === 'restart' ? this.host.now() + (mp?.restartSeconds ?? 60) * 1000 : Infinity;
    this.session.stop({ code: ERR.CEASE, subcode: CEASE_SUBCODE.MAX_PREFIXES, data: Buffer.from(x.data) });
    this.lastErrorSnapshot = this.session.status().lastError;
    if (action === 'restart') {
      const seconds = mp?.restartSeconds ?? 60;
      this.#maxPrefixTimer = this.host.clock.setTimeout(() => {
        this.#maxPrefixTimer = undefined;
        this.adminDown = undefined;
        this.maxPrefixUntil = undefined;
        this.log.info({ seconds }, 'max-prefix back-off over: restarting session');
        this.session.start();
      }, seconds * 1000);
    }
  }

  #onRouteRefresh(m: RouteRefreshMessage): void {
    const family = familyOfKey(m.afi * 256 + m.safi);
    if (!family) return;
    const rib = this.host.rib();
    if (m.subtype === 0) {
      // RFC 7313 §4: with enhanced route refresh the re-advertisement is bracketed by BoRR and EoRR.
      if (this.negotiated?.enhancedRouteRefresh === true && this.session.sendRouteRefresh(m.afi, m.safi, 1))
        this.pendingEorr.add(family);
      rib.refreshOutbound(this.id, family);
    } else if (m.subtype === 1) {
      rib.beginRouteRefresh(this.id, family);
      // RFC 7313 §4: an EoRR that never comes must not keep stale routes forever.
      const old = this.#eorrTimers.get(family);
      old?.cancel();
      this.#eorrTimers.set(
        family,
        this.host.clock.setTimeout(() => {
          this.#eorrTimers.delete(family);
          this.log.warn(
            { family, seconds: this.host.stalePathSeconds },
            'no EoRR within the stale-path time: purging routes not re-advertised',
          );
          this.host.rib().endRouteRefresh(this.id, family);
          this.host.scheduleFlush();
        }, this.host.stalePathSeconds * 1000),
      );
    } else if (m.subtype === 2) {
      const t = this.#eorrTimers.get(family);
      t?.cancel();
      this.#eorrTimers.delete(family);
      rib.endRouteRefresh(this.id, family);
    }
    this.host.scheduleFlush();
  }

  /** Sends the EoRRs owed once the RIB has nothing more queued for this peer (RFC 7313 §4). */
  sendPendingEorr(): void {
    for (const f of this.pendingEorr) this.session.sendRouteRefresh(f === 'ipv4' ? 1 : 2, 1, 2);
    this.pendingEorr.clear();
  }

  #onDown(why: DownReason): void {
    const wasUp = this.established;
    this.established = false;
    this.pendingEorr.clear();
    for (const t of this.#eorrTimers.values()) t.cancel();
    this.#eorrTimers.clear();
    this.#sending = false;
    if (why.error || why.received) {
      this.lastError = describeDown(why);
      this.lastErrorSnapshot = this.session.status().lastError;
    }
    if (!wasUp) return;
    const n = this.negotiated;
    const peerGr = n?.peerGracefulRestart;
    const notified = why.sent !== undefined || why.received !== undefined;
    // RFC 4724: helper mode when the TCP session just ends; RFC 8538: also after a NOTIFICATION when
    // both sides set the N bit, except for Hard Reset. Our own max-prefix Cease is a hard stop.
    const helper =
      !this.#stopping &&
      !!n?.localGracefulRestart &&
      !!peerGr &&
      this.adminDown === undefined &&
      (!notified || (peerGr.notification && !isHardReset(why)));
    if (this.ribRegistered) this.host.rib().startPeerDown(this.id, { gracefulRestart: helper });
    // 'session down' itself is logged once, by the session; here only what the speaker decided.
    if (helper)
      this.log.info(
        { restartSeconds: peerGr?.restartTimeSeconds },
        'peer down: graceful-restart helper keeps its routes as stale',
      );
    if (helper && peerGr) {
      this.#gracefulHelper = true;
      const seconds = peerGr.restartTimeSeconds;
      this.#restartTimer?.cancel();
      this.#restartTimer = this.host.clock.setTimeout(() => {
        this.#restartTimer = undefined;
        this.#gracefulHelper = false;
        this.log.warn({ seconds }, 'peer did not come back within its restart time: sweeping stale routes');
        this.host.rib().startSweepStale(this.id);
        this.host.scheduleFlush();
        if (this.dynamic) this.host.dynamicDown(this);
      }, seconds * 1000);
    } else if (this.dynamic && !this.#stopping) {
      this.host.dynamicDown(this);
    }
    if (!this.#stopping) this.#renewSession();
    this.host.scheduleFlush();
  }
}
