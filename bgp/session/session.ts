/**
 * A BGP session with one peer: up to two Connections (ours and theirs, each running the pure FSM),
 * collision resolution between them (RFC 4271 §6.8), back-off between attempts, counters, and the
 * narrow interface the speaker uses:
 *
 *   start() / stop(n?) / reset(n?)         lifecycle (stop stays down; reset reconnects after back-off)
 *   acceptIncoming(socket)                 the listener hands over a connection from this peer
 *   send(updates) → boolean, 'drain'       UPDATEs out with backpressure
 *   sendRouteRefresh(afi, safi, subtype)
 *   events: stateChange, established(negotiated), update(msg), updatesDone, routeRefresh(msg), down(why)
 *   status                                 counters for `margayctl bgp peers`
 *
 * Reported state: the most advanced of the connections; 'Active' while a passive session waits; 'Idle'
 * when stopped or backing off. Back-off (backoff.ts) grows with consecutive failures and resets only
 * after a session stayed up for `backoff.stableSeconds`. While backing off, the peer's connections are
 * refused (Cease 5) — except after the peer refused ours that way: then its call is taken, or two
 * speakers that each back off would keep missing each other.
 */
import type { Timer } from '../../src/runtime/index.js';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { CEASE_SUBCODE, ERR, MSG_TYPE } from '../codec/index.js';
import { shutdownData } from '../codec/index.js';
import { encodeOpen } from '../codec/index.js';
import { encodeRouteRefresh } from '../codec/index.js';
import type { OpenMessage, RouteRefreshMessage, UpdateMessage } from '../codec/index.js';
import { backoffSeconds, nextFailureCount } from '../fsm/index.js';
import { resolveCollision } from '../fsm/index.js';
import { withHardReset } from '../fsm/index.js';
import { STATES, type DownReason, type Negotiated, type OutNotification, type SessionState } from '../fsm/index.js';
import { openCapabilities } from './config.js';
import { realClock } from '../../src/runtime/index.js';
import { Connection, type Clock, type ConnectionOwner } from './connection.js';
import { childWithout } from './log-bindings.js';
import type { PeerStatus, SessionConfig, SessionEvents, Transport } from './types.js';

export interface SessionDeps {
  readonly log: Logger;
  readonly transport: Transport;
  readonly clock?: Clock | undefined;
  /** Random numbers in [0, 1) for jitter; injectable for tests. */
  readonly random?: (() => number) | undefined;
}

/** How to end a session: a Cease subcode with an optional RFC 9003 message, or any NOTIFICATION. */
export type StopReason = { readonly subcode?: number; readonly message?: string } | OutNotification;

function toNotification(r: StopReason | undefined): OutNotification {
  if (r && 'code' in r) return r;
  const subcode = r?.subcode ?? CEASE_SUBCODE.ADMIN_SHUTDOWN;
  const withText =
    r?.message !== undefined && (subcode === CEASE_SUBCODE.ADMIN_SHUTDOWN || subcode === CEASE_SUBCODE.ADMIN_RESET);
  return { code: ERR.CEASE, subcode, data: withText ? shutdownData(r.message!) : Buffer.alloc(0) };
}

const RANK: Readonly<Record<SessionState, number>> = Object.fromEntries(STATES.map((s, i) => [s, i])) as Record<
  SessionState,
  number
>;

interface Counters {
  messagesIn: number;
  messagesOut: number;
  updatesIn: number;
  updatesOut: number;
  keepalivesIn: number;
  keepalivesOut: number;
  notificationsIn: number;
  notificationsOut: number;
}

export class Session extends EventEmitter<SessionEvents> {
  readonly config: SessionConfig;
  readonly #log: Logger;
  readonly #transport: Transport;
  readonly #clock: Clock;
  readonly #random: () => number;
  #phase: 'stopped' | 'backoff' | 'running' = 'stopped';
  #outgoing: Connection | undefined;
  #incoming: Connection | undefined;
  #established: Connection | undefined;
  #reported: SessionState = 'Idle';
  #stateSince: number;
  #backoffTimer: Timer | undefined;
  #failures = 0;
  #flaps = 0;
  #lastDown: DownReason | undefined;
  #lastError: string | undefined;
  /** The last connection ended with the peer refusing it (Cease 5): it was backing off itself. */
  #rejectedByPeer = false;
  #ending = false;
  readonly #counters: Counters = {
    messagesIn: 0,
    messagesOut: 0,
    updatesIn: 0,
    updatesOut: 0,
    keepalivesIn: 0,
    keepalivesOut: 0,
    notificationsIn: 0,
    notificationsOut: 0,
  };

  constructor(config: SessionConfig, deps: SessionDeps) {
    super();
    this.config = config;
    // The speaker's logger already names the peer: bind only what it lacks (no repeated JSON keys).
    this.#log = childWithout(deps.log, { peer: config.peerAddress, peerAs: config.peerAs });
    this.#transport = deps.transport;
    this.#clock = deps.clock ?? realClock;
    this.#random = deps.random ?? Math.random;
    this.#stateSince = this.#clock.now();
  }

  get state(): SessionState {
    return this.#reported;
  }

  get negotiated(): Negotiated | undefined {
    return this.#established?.negotiatedFacts;
  }

  /** Our address on the Established connection (undefined when not Established). */
  get localAddress(): string | undefined {
    const a = this.#established?.socket?.localAddress;
    return a === undefined ? undefined : a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
  }

  get status(): PeerStatus {
    const est = this.#established;
    return {
      peerAddress: this.config.peerAddress,
      state: this.#reported,
      stateSince: this.#stateSince,
      establishedAt: est?.establishedAt,
      negotiated: est?.negotiatedFacts,
      localAddress: this.localAddress,
      openedBy: est ? (est.incoming ? 'peer' : 'us') : undefined,
      ...this.#counters,
      flaps: this.#flaps,
      failures: this.#failures,
      lastError: this.#lastError,
      lastDown: this.#lastDown,
      backlogBytes: (this.#outgoing?.backlogBytes ?? 0) + (this.#incoming?.backlogBytes ?? 0),
      receivePauses: est?.backPressure.paused ?? 0,
      bytesIn: est?.bytesRead ?? 0,
      backlogMaxBytes: est?.backPressure.maxBacklog ?? 0,
    };
  }

  /** Start (or restart after stop): connect out unless passive, and accept the peer's connections. */
  start(): void {
    if (this.#phase !== 'stopped') return;
    this.#phase = 'running';
    this.#launch();
  }

  /** Administrative stop (default Cease 2): sends the NOTIFICATION if connected and stays down. */
  stop(reason?: StopReason): void {
    this.#phase = 'stopped';
    this.#cancelBackoff();
    this.#quietly(() => this.#endConnections(toNotification(reason)));
    this.#refresh();
  }

  /**
   * Ends the current session with `reason` (default Cease 4, administrative reset) and reconnects after
   * the back-off. `error: true` (e.g. max-prefix Cease 1) counts as a failure so the back-off grows.
   */
  reset(reason?: StopReason, opts: { readonly error?: boolean; readonly minDelaySeconds?: number } = {}): void {
    if (this.#phase === 'stopped') return;
    this.#quietly(() => this.#endConnections(toNotification(reason ?? { subcode: CEASE_SUBCODE.ADMIN_RESET })));
    if (opts.error === true) this.#failures += 1;
    this.#scheduleRestart(opts.minDelaySeconds ?? 0);
  }

  /** The listener's hand-over. Returns false (and closes the socket with Cease 5) when refused. */
  acceptIncoming(socket: Socket): boolean {
    const est = this.#established;
    const n = est?.negotiatedFacts;
    if (est && n?.peerGracefulRestart !== undefined && n.localGracefulRestart) {
      // RFC 4724 §4.2: a graceful-restart peer that reconnects has restarted; the old session is gone.
      this.#quietly(() => est.dispatch({ type: 'TcpFailed', detail: 'peer reconnected (graceful restart)' }));
      this.#phase = 'running';
    }
    if (this.#phase === 'backoff' && this.#rejectedByPeer) {
      // Our last attempt met the peer backing off (Cease 5); now the peer, its back-off over, calls us.
      // Refusing it would leave the two sides alternating — each attempt landing in the other's
      // back-off, both delays growing — so the session never comes up: take it, back-off over.
      this.#log.info('the peer that refused our connection connects: accepting it during our back-off');
      this.#cancelBackoff();
      this.#phase = 'running';
    }
    const stale = this.#incoming;
    if (
      this.#phase === 'running' &&
      stale &&
      stale !== est &&
      (stale.state === 'OpenSent' || stale.state === 'Active')
    ) {
      // The peer opened a new connection while its previous one never got an OPEN through (e.g. GTSM or
      // a firewall ate it): the peer has given up on that one, so do we.
      this.#log.info({ state: stale.state }, 'replacing a stale incoming connection');
      this.#incoming = undefined;
      stale.abandon();
    }
    if (this.#phase !== 'running' || this.#incoming !== undefined) {
      this.#log.info({ phase: this.#phase, busy: this.#incoming !== undefined }, 'refusing incoming connection');
      socket.on('error', (err) => this.#log.debug({ err }, 'refused connection error'));
      socket.end(connectionRejectedNotification());
      setTimeout(() => socket.destroy(), 1000).unref();
      return false;
    }
    const conn = new Connection(
      true,
      this.config,
      this.#owner,
      this.#log.child({ conn: 'in' }),
      this.#clock,
      this.#random,
    );
    this.#incoming = conn;
    conn.adopt(socket);
    return true;
  }

  /** UPDATE messages (already packed). False: wait for 'drain' before sending more. */
  send(messages: readonly Buffer[]): boolean {
    const c = this.#established;
    return c ? c.send(messages) : false;
  }

  /** RFC 2918 / RFC 7313 ROUTE-REFRESH (subtype 0 normal, 1 BoRR, 2 EoRR). */
  sendRouteRefresh(afi: number, safi: number, subtype = 0): boolean {
    const c = this.#established;
    if (c?.negotiatedFacts?.routeRefresh !== true) return false;
    return c.send([encodeRouteRefresh(afi, safi, subtype)], MSG_TYPE.ROUTE_REFRESH);
  }

  // ------------------------------------------------------------------------------ internals

  #launch(): void {
    if (!this.config.passive && this.#outgoing === undefined) {
      const conn = new Connection(
        false,
        this.config,
        this.#owner,
        this.#log.child({ conn: 'out' }),
        this.#clock,
        this.#random,
      );
      this.#outgoing = conn;
      conn.dispatch({ type: 'Start', passive: false });
    }
    this.#refresh();
  }

  #endConnections(n: OutNotification): void {
    const conns = [this.#outgoing, this.#incoming];
    const est = this.#established;
    // RFC 8538: with the N bit exchanged, a Cease that ends the session for good goes out as Hard Reset.
    const hard = withHardReset(n, est?.negotiatedFacts, this.config.gracefulRestart?.notification === true);
    for (const c of conns) if (c) c.dispatch({ type: 'Stop', notification: c === est ? hard : n });
    this.#outgoing = undefined;
    this.#incoming = undefined;
    this.#established = undefined;
  }

  /** Run `fn` with down handling not counting failures nor scheduling a restart (the caller does). */
  #quietly(fn: () => void): void {
    this.#ending = true;
    try {
      fn();
    } finally {
      this.#ending = false;
    }
  }

  #cancelBackoff(): void {
    this.#backoffTimer?.cancel();
    this.#backoffTimer = undefined;
  }

  #scheduleRestart(minDelaySeconds = 0): void {
    if (this.#phase === 'stopped' || this.#outgoing || this.#incoming) return;
    const delay = Math.max(minDelaySeconds, backoffSeconds(this.#failures, this.config.backoff, this.#random()));
    this.#cancelBackoff();
    if (delay <= 0) {
      this.#phase = 'running';
      this.#launch();
      return;
    }
    this.#phase = 'backoff';
    this.#log.info(
      { seconds: Math.round(delay * 10) / 10, failures: this.#failures },
      'backing off before reconnecting',
    );
    this.#backoffTimer = this.#clock.setTimeout(() => {
      this.#backoffTimer = undefined;
      if (this.#phase !== 'backoff') return;
      this.#phase = 'running';
      this.#launch();
    }, delay * 1000);
    this.#refresh();
  }

  #refresh(): void {
    let s: SessionState = this.#phase === 'running' && this.config.passive ? 'Active' : 'Idle';
    for (const c of [this.#outgoing, this.#incoming]) if (c && RANK[c.state] > RANK[s]) s = c.state;
    if (s === this.#reported) return;
    const from = this.#reported;
    this.#reported = s;
    this.#stateSince = this.#clock.now();
    this.emit('stateChange', from, s);
  }

  #other(conn: Connection): Connection | undefined {
    return conn === this.#outgoing ? this.#incoming : this.#outgoing;
  }

  #remove(conn: Connection): void {
    if (this.#outgoing === conn) this.#outgoing = undefined;
    if (this.#incoming === conn) this.#incoming = undefined;
  }

  readonly #owner: ConnectionOwner = {
    openMessage: () =>
      encodeOpen({
        asn: this.config.localAs,
        holdTime: this.config.holdTimeSeconds,
        bgpId: this.config.routerId,
        capabilities: openCapabilities(this.config),
      }),
    connectSocket: () =>
      this.#transport.connect({
        peerAddress: this.config.peerAddress,
        peerPort: this.config.peerPort,
        localAddress: this.config.localAddress,
        md5Password: this.config.md5Password,
        ttlSecurityHops: this.config.ttlSecurityHops,
      }),
    collides: (conn: Connection, open: OpenMessage): boolean => {
      const other = this.#other(conn);
      const verdict = resolveCollision(
        this.config.routerId,
        open.bgpId,
        conn.incoming,
        other?.state,
        this.config.localAs,
        open.asn,
      );
      if (verdict === 'none') return false;
      this.#log.info({ verdict, incoming: conn.incoming, other: other?.state }, 'connection collision');
      if (verdict === 'close-this') return true;
      if (other) {
        this.#remove(other);
        if (verdict === 'abandon-other') other.abandon();
        else other.dispatch({ type: 'CollisionDump' });
      }
      return false;
    },
    transitioned: () => this.#refresh(),
    negotiated: () => undefined,
    up: (conn: Connection) => {
      const other = this.#other(conn);
      if (other) {
        // The session is up on `conn`: anything else still trying is redundant.
        this.#remove(other);
        if (RANK[other.state] >= RANK.OpenSent) other.dispatch({ type: 'CollisionDump' });
        else other.abandon();
      }
      this.#established = conn;
      this.#refresh();
      const n = conn.negotiatedFacts!;
      // The one 'session established' / 'session down' line per session (the speaker logs neither).
      this.#log.info(
        {
          holdTime: n.holdTimeSeconds,
          peerRouterId: n.peerRouterIdText,
          remoteAs: n.peerAs,
          families: [...n.families],
        },
        'session established',
      );
      this.emit('established', n);
    },
    down: (conn: Connection, why: DownReason) => {
      this.#remove(conn);
      const wasUp = this.#established === conn;
      if (wasUp) this.#established = undefined;
      if (why.error || wasUp) this.#lastDown = why;
      if (why.error) this.#lastError = describe(why);
      this.#rejectedByPeer =
        why.received?.errorCode === ERR.CEASE && why.received.subcode === CEASE_SUBCODE.CONNECTION_REJECTED;
      const upSeconds = wasUp ? (this.#clock.now() - conn.establishedAt) / 1000 : 0;
      const collisionLoser = why.reason === 'collision' || (!wasUp && (this.#outgoing || this.#incoming));
      if (!collisionLoser && !this.#ending)
        this.#failures = nextFailureCount(this.#failures, why.error, upSeconds, this.config.backoff);
      this.#refresh();
      if (wasUp) {
        this.#flaps += 1;
        this.#log.warn({ reason: describe(why), upSeconds: Math.round(upSeconds) }, 'session down');
        this.emit('down', why);
      }
      if (!this.#ending) this.#scheduleRestart();
    },
    update: (_conn: Connection, msg: UpdateMessage) => {
      this.emit('update', msg);
    },
    updatesDone: () => {
      this.emit('updatesDone');
    },
    routeRefresh: (_conn: Connection, msg: RouteRefreshMessage) => {
      this.emit('routeRefresh', msg);
    },
    drain: (conn: Connection) => {
      if (conn === this.#established) this.emit('drain');
    },
    counted: (dir: 'in' | 'out', type: number) => {
      const c = this.#counters;
      if (dir === 'in') {
        c.messagesIn++;
        if (type === MSG_TYPE.UPDATE) c.updatesIn++;
        else if (type === MSG_TYPE.KEEPALIVE) c.keepalivesIn++;
        else if (type === MSG_TYPE.NOTIFICATION) c.notificationsIn++;
      } else {
        c.messagesOut++;
        if (type === MSG_TYPE.UPDATE) c.updatesOut++;
        else if (type === MSG_TYPE.KEEPALIVE) c.keepalivesOut++;
        else if (type === MSG_TYPE.NOTIFICATION) c.notificationsOut++;
      }
    },
  };
}

/** A NOTIFICATION Cease 5 (connection rejected) for connections we refuse. */
export function connectionRejectedNotification(): Buffer {
  const b = Buffer.alloc(21, 0xff);
  b.writeUInt16BE(21, 16);
  b[18] = MSG_TYPE.NOTIFICATION;
  b[19] = ERR.CEASE;
  b[20] = CEASE_SUBCODE.CONNECTION_REJECTED;
  return b;
}

/** A one-line description of why a session ended, for `margayctl bgp peers`. */
export function describe(why: DownReason): string {
  const n = why.sent ?? (why.received ? { code: why.received.errorCode, subcode: why.received.subcode } : undefined);
  const dir = why.sent ? 'sent' : why.received ? 'received' : '';
  const text = why.received?.shutdownMessage ? ` "${why.received.shutdownMessage}"` : '';
  return n ? `${why.reason} (${dir} ${n.code}/${n.subcode}${text})` : why.reason;
}
