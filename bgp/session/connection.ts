/**
 * One TCP connection of a BGP session and its FSM: the only I/O shell around `step()` (STYLE snippet 5).
 * A Session owns up to two (the one it opened, the one the peer opened) and resolves collisions.
 *
 * Receive path, built so keepalives and hold timers keep working while the consumer does heavy work:
 *   socket 'data' → Framer (views) → queue → pump: decode + FSM + deliver, a sliced task of the process's
 *   one scheduler (receive-budget.ts: all connections and the speaker's flush share a budget per
 *   event-loop turn, round-robin). Between turns the event loop runs timers (our keepalives go out)
 *   and reads sockets (peers, the control API).
 *   While more than `maxBacklogBytes` wait in the queue the socket is paused (TCP pushes back on the
 *   peer), and while all connections together hold more than the process's read-ahead budget
 *   (read-ahead.ts) every one of them is, resuming in turn. A hold timer that fires while messages wait, or when the poll phase right after it reads
 *   more bytes, is re-armed instead of expiring: the peer is talking, we are just behind. Expiry is
 *   decided one event loop turn later (setImmediate), after the poll phase has read whatever the kernel
 *   holds, so a long synchronous stall elsewhere in the process cannot fake a dead peer.
 * Send path: KEEPALIVEs are written straight to the socket, independent of any caller's UPDATE queue;
 *   callers honour `send()` returning false (backpressure) so a keepalive is never stuck behind more than
 *   one socket buffer. The RFC 9687 SendHoldTimer closes the connection (8/0) when nothing could be
 *   written for `sendHoldSeconds` while data was pending.
 */
import type { Clock } from '../../src/runtime/index.js';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { MAX_EXTENDED_MESSAGE_LEN, MSG_TYPE } from '../codec/index.js';
import { BgpProtocolError } from '../codec/index.js';
import { Framer } from '../codec/index.js';
import { decodeMessage, decodeOptions } from '../codec/index.js';
import { encodeNotification } from '../codec/index.js';
import { encodeKeepalive } from '../codec/index.js';
import type { BgpMessage, DecodeOptions, OpenMessage, RouteRefreshMessage, UpdateMessage } from '../codec/index.js';
import { step } from '../fsm/index.js';
import type { DownReason, FsmAction, FsmCtx, FsmEvent, Negotiated, SessionState, TimerName } from '../fsm/index.js';
import { ConnectionTimers } from './connection-timers.js';
import { capReceiveBuffer } from './transport.js';
import { logOwnNextHop, OwnNextHopWatch } from './own-next-hop.js';
import { scheduleSliced } from './receive-budget.js';
import { ReadGate } from './read-gate.js';
import { negotiatedDecodeOptions } from './config.js';
import type { SessionConfig } from './types.js';

/** Timers the driver uses: src/runtime's Clock, injectable so tests can drive time. */
export type { Clock } from '../../src/runtime/index.js';

/** What a Connection reports to its Session. */
export interface ConnectionOwner {
  /** Encoded OPEN to send. */
  openMessage(): Buffer;
  /** A new outgoing socket, connecting. */
  connectSocket(): Socket;
  /** Called when an OPEN arrives, before the FSM sees it: true means this connection lost a collision. */
  collides(conn: Connection, open: OpenMessage): boolean;
  transitioned(conn: Connection, from: SessionState, to: SessionState): void;
  negotiated(conn: Connection, n: Negotiated): void;
  up(conn: Connection): void;
  down(conn: Connection, why: DownReason): void;
  update(conn: Connection, msg: UpdateMessage): void;
  updatesDone(conn: Connection): void;
  routeRefresh(conn: Connection, msg: RouteRefreshMessage): void;
  drain(conn: Connection): void;
  counted(dir: 'in' | 'out', type: number): void;
}

const KEEPALIVE = encodeKeepalive();
/** How long a closing socket may take to flush its NOTIFICATION before it is destroyed. */
const CLOSE_FLUSH_MS = 2000;

type Queued = Buffer | BgpProtocolError;

export class Connection {
  #state: SessionState = 'Idle';
  #socket: Socket | undefined;
  #framer = new Framer();
  #decode: DecodeOptions = decodeOptions();
  #negotiated: Negotiated | undefined;
  readonly #timers: ConnectionTimers;
  #queue: Queued[] = [];
  #qHead = 0;
  #queueBytes = 0;
  /** Whether the socket reads: our backlog's marks and the process's read-ahead budget (read-gate.ts). */
  readonly #gate = new ReadGate();
  #maxBacklog = 0;
  #rxBytes = 0;
  #lastWriteProgress = 0;
  #pendingWrites = 0;
  #wasEstablished = false;
  /** The peer closed while messages were still queued: TcpFailed waits until they are processed. */
  #closedDetail: string | undefined;
  establishedAt = 0;
  #ownNextHop = new OwnNextHopWatch(undefined);

  constructor(
    readonly incoming: boolean,
    private readonly config: SessionConfig,
    private readonly owner: ConnectionOwner,
    private readonly log: Logger,
    private readonly clock: Clock,
    random: () => number = Math.random,
  ) {
    this.#timers = new ConnectionTimers(clock, random, (t, seconds) => this.#timerFired(t, seconds));
  }

  get state(): SessionState {
    return this.#state;
  }
  get negotiatedFacts(): Negotiated | undefined {
    return this.#negotiated;
  }
  get backlogBytes(): number {
    return this.#queueBytes;
  }
  get bytesRead(): number {
    return this.#rxBytes;
  }
  /** Receive back-pressure so far: times the socket was paused / resumed, the largest backlog seen. */
  get backPressure(): Readonly<{ paused: number; resumed: number; maxBacklog: number; pausedNow: boolean }> {
    const { paused, resumed } = this.#gate.counts;
    return { paused, resumed, maxBacklog: this.#maxBacklog, pausedNow: this.#gate.pausedNow };
  }
  get socket(): Socket | undefined {
    return this.#socket;
  }
  get wasEstablished(): boolean {
    return this.#wasEstablished;
  }

  /** Attach a socket the peer opened (incoming) and start the FSM on it. */
  adopt(socket: Socket): void {
    this.#attach(socket);
    this.dispatch({ type: 'Start', passive: true });
    this.dispatch({ type: 'TcpConnected' });
  }

  dispatch(ev: FsmEvent): void {
    const ctx: FsmCtx = {
      config: this.config,
      negotiated: this.#negotiated,
      delayOpenRunning: this.#timers.has('delayOpen'),
    };
    const { next, actions } = step(this.#state, ctx, ev);
    const from = this.#state;
    this.#state = next;
    if (next !== from) {
      this.log.info({ from, to: next, event: ev.type, incoming: this.incoming }, 'session state changed');
      this.owner.transitioned(this, from, next);
    }
    for (const a of actions) this.#run(a);
  }

  /** Send UPDATE (or other pre-encoded) messages. False: the socket buffer is full, wait for drain. */
  send(messages: readonly Buffer[], type: number = MSG_TYPE.UPDATE): boolean {
    const s = this.#socket;
    if (!s || this.#state !== 'Established' || s.destroyed) return false;
    s.cork();
    for (const m of messages) this.#write(m, type);
    s.uncork();
    const ka = this.#negotiated?.keepaliveSeconds ?? 0;
    if (ka > 0 && messages.length > 0 && type === MSG_TYPE.UPDATE) this.#timers.start('keepalive', ka); // an UPDATE counts as a keepalive
    return !s.writableNeedDrain;
  }

  /** Close without a NOTIFICATION and without telling the owner (collision loser still connecting). */
  abandon(): void {
    this.#timers.clear();
    this.#state = 'Idle';
    this.#destroySocket();
  }

  // ------------------------------------------------------------------------------------ actions

  #run(a: FsmAction): void {
    switch (a.do) {
      case 'connect':
        this.#attach(this.owner.connectSocket());
        return;
      case 'close':
        this.#close();
        return;
      case 'send':
        this.#sendOutbound(a.msg);
        return;
      case 'startTimer':
        this.#timers.start(a.timer, a.seconds);
        return;
      case 'stopTimer':
        this.#timers.stop(a.timer);
        return;
      case 'stopTimers':
        this.#timers.clear();
        return;
      case 'negotiated':
        this.#onNegotiated(a.negotiated);
        return;
      case 'deliverUpdate':
        this.owner.update(this, a.update);
        return;
      case 'deliverRouteRefresh':
        this.owner.routeRefresh(this, a.refresh);
        return;
      case 'up':
        this.#ownNextHop = new OwnNextHopWatch(this.#socket?.localAddress);
        this.#wasEstablished = true;
        this.establishedAt = this.clock.now();
        this.#lastWriteProgress = this.clock.now();
        if (this.config.sendHoldSeconds > 0 && (this.#negotiated?.holdTimeSeconds ?? 0) > 0) {
          this.#timers.start('sendHold', this.config.sendHoldSeconds);
        }
        this.owner.up(this);
        return;
      case 'down':
        this.owner.down(this, a.why);
        return;
    }
  }

  #onNegotiated(n: Negotiated): void {
    this.#negotiated = n;
    this.#decode = negotiatedDecodeOptions(n);
    if (n.extendedMessages) this.#framer.setMaxLength(MAX_EXTENDED_MESSAGE_LEN);
    this.owner.negotiated(this, n);
  }

  #sendOutbound(msg: Extract<FsmAction, { do: 'send' }>['msg']): void {
    switch (msg.kind) {
      case 'open':
        this.#write(this.owner.openMessage(), MSG_TYPE.OPEN);
        return;
      case 'keepalive':
        this.#write(KEEPALIVE, MSG_TYPE.KEEPALIVE);
        return;
      case 'notification': {
        const max = this.#negotiated?.extendedMessages === true ? MAX_EXTENDED_MESSAGE_LEN : 4096;
        this.log.warn({ code: msg.code, subcode: msg.subcode, data: msg.data.toString('hex') }, 'sending NOTIFICATION');
        this.#write(encodeNotification(msg.code, msg.subcode, msg.data, max), MSG_TYPE.NOTIFICATION);
        return;
      }
    }
  }

  #write(buf: Buffer, type: number): void {
    const s = this.#socket;
    if (!s || s.destroyed || !s.writable) return;
    this.#pendingWrites++;
    s.write(buf, () => {
      this.#pendingWrites--;
      this.#lastWriteProgress = this.clock.now();
    });
    this.owner.counted('out', type);
  }

  // ------------------------------------------------------------------------------------- timers

  #timerFired(t: TimerName, seconds: number): void {
    if (t === 'hold' && this.#timers.rearmHold(seconds)) return;
    if (t === 'hold') {
      // Decide after the poll phase has read what the kernel holds (see the design comment): messages
      // waiting, or bytes read in that very turn (we were behind, not the peer), re-arm it. Bytes of a
      // partial message read earlier do not: a peer that sends half a message and stalls, or trickles
      // bytes without ever completing one, still expires after one hold time.
      const rxAtFire = this.#rxBytes;
      setImmediate(() => {
        if (this.#state === 'Idle' || this.#timers.has('hold')) return;
        // Held back by the read-ahead budget: the peer's bytes wait in the kernel by our choice.
        if (this.#queueBytes > 0 || this.#rxBytes !== rxAtFire || this.#gate.pausedByBudget) {
          this.#timers.start('hold', seconds);
        } else this.dispatch({ type: 'TimerExpired', timer: 'hold' });
      });
      return;
    }
    if (t === 'sendHold') {
      // Expire only when data has been waiting with no write progress for the whole SendHoldTime.
      const limit = this.config.sendHoldSeconds;
      const s = this.#socket;
      const pending = s !== undefined && (s.writableLength > 0 || this.#pendingWrites > 0);
      if (!pending) this.#lastWriteProgress = this.clock.now();
      const stuckMs = this.clock.now() - this.#lastWriteProgress;
      if (stuckMs < limit * 1000) {
        this.#timers.start('sendHold', Math.max(0.001, limit - stuckMs / 1000));
        return;
      }
    }
    this.dispatch({ type: 'TimerExpired', timer: t });
  }

  // ------------------------------------------------------------------------------------- socket

  #attach(socket: Socket): void {
    this.#destroySocket();
    this.#socket = socket;
    this.#framer = new Framer();
    this.#gate.attach(socket);
    socket.setNoDelay(true);
    const connecting = socket.connecting;
    if (connecting) {
      socket.once('connect', () => {
        if (this.#socket !== socket) return;
        capReceiveBuffer(socket, this.config.receiveBufferBytes, this.log);
        this.dispatch({ type: 'TcpConnected' });
      });
    } else capReceiveBuffer(socket, this.config.receiveBufferBytes, this.log);
    socket.on('data', (chunk: Buffer) => this.#onData(socket, chunk));
    socket.on('drain', () => {
      if (this.#socket === socket) this.owner.drain(this);
    });
    socket.on('error', (err: Error) => {
      if (this.#socket !== socket) return;
      this.log.warn({ err }, 'BGP connection error');
      this.#lost(socket, err.message);
    });
    socket.on('close', () => this.#lost(socket, 'connection closed by peer'));
  }

  #lost(socket: Socket, detail: string): void {
    if (this.#socket !== socket) return;
    this.#socket = undefined;
    this.#gate.detach();
    socket.destroy();
    if (this.#state !== 'Idle' && this.#qHead < this.#queue.length) {
      // What the peer sent before closing still counts, in order — a trailing NOTIFICATION above all
      // (it decides the down reason and, with RFC 8538, whether routes are kept): drain, then fail.
      this.#closedDetail = detail;
      scheduleSliced(this.#pump);
      return;
    }
    this.#resetQueue();
    if (this.#state !== 'Idle') this.dispatch({ type: 'TcpFailed', detail });
  }

  #close(): void {
    const s = this.#socket;
    this.#socket = undefined;
    this.#gate.detach();
    this.#resetQueue();
    if (!s) return;
    s.removeAllListeners('data');
    s.on('error', (err: Error) => this.log.debug({ err }, 'error while closing BGP connection'));
    s.end();
    const t = setTimeout(() => s.destroy(), CLOSE_FLUSH_MS);
    t.unref();
    s.once('close', () => clearTimeout(t));
  }

  #destroySocket(): void {
    const s = this.#socket;
    this.#socket = undefined;
    this.#gate.detach();
    this.#resetQueue();
    if (s) {
      s.removeAllListeners('data');
      s.destroy();
    }
  }

  #resetQueue(): void {
    this.#closedDetail = undefined;
    this.#queue = [];
    this.#qHead = 0;
    this.#queueBytes = 0;
    this.#gate.hold(0);
    this.#gate.setOwnPaused(false); // nothing waits any more: a socket we paused (if still ours) reads again
  }

  #onData(socket: Socket, chunk: Buffer): void {
    if (this.#socket !== socket) return;
    this.#rxBytes += chunk.length;
    const framed: Buffer[] = [];
    let error: BgpProtocolError | undefined;
    try {
      this.#framer.push(chunk, framed);
    } catch (err) {
      if (!(err instanceof BgpProtocolError)) throw err; // not a protocol error: a bug, crash loudly
      error = err; // messages framed before the bad header are still processed first
    }
    for (const m of framed) {
      this.#queue.push(m);
      this.#queueBytes += m.length;
    }
    if (error) {
      this.#queue.push(error);
      this.#queueBytes += 1;
    }
    if (this.#queueBytes > this.config.maxBacklogBytes) this.#gate.setOwnPaused(true);
    if (this.#queueBytes > this.#maxBacklog) this.#maxBacklog = this.#queueBytes;
    this.#gate.hold(this.#queueBytes);
    scheduleSliced(this.#pump);
  }

  /**
   * Process queued messages until the turn's deadline (and for at most sliceMs of it), at least one;
   * true while messages remain (the scheduler runs it again next turn, see the design comment).
   */
  #pump = (turnDeadline: number): boolean => {
    const deadline = Math.min(turnDeadline, performance.now() + this.config.sliceMs);
    let updates = 0;
    const socket = this.#socket;
    const draining = socket === undefined && this.#closedDetail !== undefined;
    while (this.#qHead < this.#queue.length && (draining || (this.#socket === socket && socket !== undefined))) {
      const item = this.#queue[this.#qHead]!;
      this.#queue[this.#qHead++] = EMPTY_ITEM;
      this.#queueBytes -= item instanceof BgpProtocolError ? 1 : item.length;
      if (item instanceof BgpProtocolError) {
        this.#resetQueue();
        this.dispatch({ type: 'ProtocolError', error: item });
        break;
      }
      if (this.#handle(item)) updates++;
      // Every message counts toward the slice (at least one per slice, so it always progresses): a
      // flood of KEEPALIVEs or ROUTE-REFRESHes must not hold the loop any more than UPDATEs do.
      if (performance.now() >= deadline) break;
    }
    if (updates > 0 && this.#state === 'Established') this.owner.updatesDone(this);
    if (this.#qHead >= this.#queue.length) {
      const closed = this.#closedDetail;
      this.#resetQueue();
      if (closed !== undefined) {
        // Drained after the peer closed: now the connection fails.
        if (this.#state !== 'Idle') this.dispatch({ type: 'TcpFailed', detail: closed });
        return false;
      }
    } else if (this.#qHead > 4096) {
      this.#queue = this.#queue.slice(this.#qHead);
      this.#qHead = 0;
    }
    this.#gate.hold(this.#queueBytes);
    if (this.#queueBytes <= this.config.resumeBacklogBytes) this.#gate.setOwnPaused(false);
    return this.#queueBytes > 0 && (this.#socket !== undefined || this.#closedDetail !== undefined);
  };

  /** Decode one message and feed the FSM. Returns true for an UPDATE. */
  #handle(m: Buffer): boolean {
    let msg: BgpMessage;
    try {
      msg = decodeMessage(m, this.#decode);
    } catch (err) {
      if (!(err instanceof BgpProtocolError)) throw err;
      this.owner.counted('in', m[18] ?? 0);
      this.#resetQueue();
      this.dispatch({ type: 'ProtocolError', error: err });
      return false;
    }
    switch (msg.type) {
      case 'open':
        this.owner.counted('in', MSG_TYPE.OPEN);
        if ((this.#state === 'OpenSent' || this.#timers.has('delayOpen')) && this.owner.collides(this, msg)) {
          this.dispatch({ type: 'CollisionDump' });
        } else {
          this.dispatch({ type: 'OpenReceived', open: msg });
        }
        return false;
      case 'update':
        this.owner.counted('in', MSG_TYPE.UPDATE);
        // The one log line per RFC 7606 problem UPDATE (the speaker does not log them again).
        if (msg.problems.length > 0 && this.log.isLevelEnabled('warn')) {
          this.log.warn(
            { action: msg.action, problems: msg.problems.map((p) => p.message) },
            'UPDATE with RFC 7606 problems',
          );
        }
        if (this.#ownNextHop.check(msg, this.clock.now())) logOwnNextHop(this.log, this.#ownNextHop);
        this.dispatch({ type: 'UpdateReceived', update: msg });
        return true;
      case 'keepalive':
        this.owner.counted('in', MSG_TYPE.KEEPALIVE);
        this.dispatch({ type: 'KeepaliveReceived' });
        return false;
      case 'notification':
        this.owner.counted('in', MSG_TYPE.NOTIFICATION);
        this.log.warn(
          { code: msg.errorCode, subcode: msg.subcode, message: msg.shutdownMessage },
          'NOTIFICATION received',
        );
        this.dispatch({ type: 'NotificationReceived', notification: msg });
        return false;
      case 'route-refresh':
        this.owner.counted('in', MSG_TYPE.ROUTE_REFRESH);
        this.dispatch({ type: 'RouteRefreshReceived', refresh: msg });
        return false;
    }
  }
}

const EMPTY_ITEM: Queued = Buffer.alloc(0);
