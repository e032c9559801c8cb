/**
 * The BGP FSM of one connection as a table of pure transitions (RFC 4271 §8.2.2, with DelayOpen,
 * RFC 6608 FSM-error subcodes and the RFC 9687 SendHoldTimer). `step()` maps (state, ctx, event) to the
 * next state and a list of actions for the session driver to carry out; it never does I/O.
 *
 * Deviations from the RFC text, deliberate and documented in docs/bgp-fsm.md:
 *  - a connection that fails after the TCP handshake goes to Idle (never straight back to Active); the
 *    driver restarts after an exponential back-off, so a broken peer cannot make us flap at line rate;
 *  - a failed outgoing connect in Connect goes to Active and waits for ConnectRetry (as BIRD does);
 *  - an event a state does not expect is an FSM error (5/<RFC 6608 subcode>) once TCP is up, else ignored.
 */
import { CEASE_SUBCODE, ERR, FSM_SUBCODE, familyKey } from '../codec/index.js';
import { negotiate, validateOpen } from './negotiate.js';
import type {
  DownReason,
  FsmAction,
  FsmCtx,
  FsmEvent,
  OutNotification,
  SessionState,
  Step,
  TimerName,
} from './types.js';

type Handler<T extends FsmEvent['type']> = (ctx: FsmCtx, ev: Extract<FsmEvent, { type: T }>) => Step;
type StateTable = { [T in FsmEvent['type']]?: Handler<T> };

const EMPTY = Buffer.alloc(0);

// ------------------------------------------------------------------------------------- step builders

const go = (next: SessionState, ...actions: FsmAction[]): Step => ({ next, actions });
const send = (msg: { kind: 'open' } | { kind: 'keepalive' }): FsmAction => ({ do: 'send', msg });
const sendNotification = (n: OutNotification): FsmAction => ({ do: 'send', msg: { kind: 'notification', ...n } });
const startTimer = (timer: TimerName, seconds: number): FsmAction => ({ do: 'startTimer', timer, seconds });
const stopTimer = (timer: TimerName): FsmAction => ({ do: 'stopTimer', timer });
const down = (why: DownReason): FsmAction => ({ do: 'down', why });

export function notification(code: number, subcode: number, data: Buffer = EMPTY): OutNotification {
  return { code, subcode, data };
}

/** Send `n`, close, go Idle: an error we detected. */
function fail(n: OutNotification, reason: string): Step {
  return go('Idle', { do: 'stopTimers' }, sendNotification(n), { do: 'close' }, down({ reason, sent: n, error: true }));
}

/** Close without a NOTIFICATION, go Idle. */
function drop(reason: string, error: boolean, extra?: Partial<DownReason>): Step {
  return go('Idle', { do: 'stopTimers' }, { do: 'close' }, down({ reason, error, ...extra }));
}

const FSM_SUBCODE_BY_STATE: Readonly<Record<SessionState, number>> = {
  Idle: FSM_SUBCODE.UNSPECIFIED,
  Connect: FSM_SUBCODE.UNSPECIFIED,
  Active: FSM_SUBCODE.UNSPECIFIED,
  OpenSent: FSM_SUBCODE.IN_OPEN_SENT,
  OpenConfirm: FSM_SUBCODE.IN_OPEN_CONFIRM,
  Established: FSM_SUBCODE.IN_ESTABLISHED,
};

/** An event this state does not expect (RFC 6608): 5/<subcode> once TCP is up. */
export function fsmError(state: SessionState, ctx: FsmCtx, ev: FsmEvent): Step {
  if (state === 'Idle') return go('Idle');
  const tcpUp =
    state === 'OpenSent' || state === 'OpenConfirm' || state === 'Established' || ctx.delayOpenRunning === true;
  if (!tcpUp) return go(state); // a stray message or timer with no connection: nothing to tell anyone
  return fail(notification(ERR.FSM, FSM_SUBCODE_BY_STATE[state]), `fsm-error:${ev.type}`);
}

// ------------------------------------------------------------------------------------- shared cells

/** TCP is up (ours or theirs): send OPEN now, or wait DelayOpen. */
function onTcpConnected(state: 'Connect' | 'Active', ctx: FsmCtx): Step {
  const c = ctx.config;
  if (c.delayOpenSeconds > 0) return go(state, stopTimer('connectRetry'), startTimer('delayOpen', c.delayOpenSeconds));
  return go('OpenSent', stopTimer('connectRetry'), send({ kind: 'open' }), startTimer('hold', c.openHoldSeconds));
}

/** An OPEN arrived: validate, negotiate, answer with KEEPALIVE (and OPEN first if DelayOpen held it back). */
function onOpen(ctx: FsmCtx, ev: Extract<FsmEvent, { type: 'OpenReceived' }>, openFirst: boolean): Step {
  const bad = validateOpen(ev.open, ctx.config);
  if (bad) {
    // With DelayOpen our OPEN is not out yet; RFC 4271 §6.2 still wants the NOTIFICATION.
    return go(
      'Idle',
      { do: 'stopTimers' },
      ...(openFirst ? [send({ kind: 'open' })] : []),
      sendNotification(bad),
      { do: 'close' },
      down({ reason: 'open-rejected', sent: bad, error: true }),
    );
  }
  const n = negotiate(ev.open, ctx.config);
  const actions: FsmAction[] = [stopTimer('connectRetry'), stopTimer('delayOpen'), { do: 'negotiated', negotiated: n }];
  if (openFirst) actions.push(send({ kind: 'open' }));
  actions.push(send({ kind: 'keepalive' }));
  if (n.holdTimeSeconds > 0)
    actions.push(startTimer('hold', n.holdTimeSeconds), startTimer('keepalive', n.keepaliveSeconds));
  else actions.push(stopTimer('hold'));
  return go('OpenConfirm', ...actions);
}

function onStop(ctx: FsmCtx, ev: Extract<FsmEvent, { type: 'Stop' }>, connected: boolean): Step {
  void ctx;
  if (!connected) return drop('stopped', false);
  return go(
    'Idle',
    { do: 'stopTimers' },
    sendNotification(ev.notification),
    { do: 'close' },
    down({ reason: 'stopped', sent: ev.notification, error: false }),
  );
}

function onNotification(ev: Extract<FsmEvent, { type: 'NotificationReceived' }>): Step {
  return drop('notification-received', true, { received: ev.notification });
}

function onProtocolError(ev: Extract<FsmEvent, { type: 'ProtocolError' }>): Step {
  const e = ev.error;
  return fail(notification(e.errorCode, e.subcode, e.data), 'protocol-error');
}

const holdExpired = (): Step => fail(notification(ERR.HOLD_TIMER_EXPIRED, 0), 'hold-timer-expired');
const sendHoldExpired = (): Step => fail(notification(ERR.SEND_HOLD_TIMER_EXPIRED, 0), 'send-hold-timer-expired');
const collision = (): Step => {
  const n = notification(ERR.CEASE, CEASE_SUBCODE.COLLISION_RESOLUTION);
  return go(
    'Idle',
    { do: 'stopTimers' },
    sendNotification(n),
    { do: 'close' },
    down({ reason: 'collision', sent: n, error: false }),
  );
};

/** Keepalive timer in OpenConfirm/Established: send one and restart. */
function keepaliveTick(state: SessionState, ctx: FsmCtx): Step {
  const ka = ctx.negotiated?.keepaliveSeconds ?? 0;
  return ka > 0 ? go(state, send({ kind: 'keepalive' }), startTimer('keepalive', ka)) : go(state);
}

function restartHold(ctx: FsmCtx): FsmAction[] {
  const hold = ctx.negotiated?.holdTimeSeconds ?? 0;
  return hold > 0 ? [startTimer('hold', hold)] : [];
}

// ------------------------------------------------------------------------------------- the table

/** Connect and Active share most cells (RFC 4271 §8.2.2). */
function waitingState(state: 'Connect' | 'Active'): StateTable {
  return {
    Stop: (c, ev) => onStop(c, ev, c.delayOpenRunning === true),
    TcpConnected: (c) => onTcpConnected(state, c),
    TcpFailed: (c, ev) =>
      c.delayOpenRunning === true || state === 'Active'
        ? drop(`tcp-failed: ${ev.detail}`, true)
        : go('Active', { do: 'close' }), // our connect failed: wait for ConnectRetry (or for the peer)
    OpenReceived: (c, ev) => (c.delayOpenRunning === true ? onOpen(c, ev, true) : fsmError(state, c, ev)),
    NotificationReceived: (_c, ev) => onNotification(ev),
    ProtocolError: (c, ev) => (c.delayOpenRunning === true ? onProtocolError(ev) : drop('protocol-error', true)),
    // An OPEN during DelayOpen lost the collision (§6.8): Cease 7, as in OpenSent.
    CollisionDump: (c) => (c.delayOpenRunning === true ? collision() : drop('collision', false)),
    TimerExpired: (c, ev) => {
      switch (ev.timer) {
        case 'connectRetry': // drop any attempt in progress and try again
          return go(
            'Connect',
            { do: 'close' },
            stopTimer('delayOpen'),
            { do: 'connect' },
            startTimer('connectRetry', c.config.connectRetrySeconds),
          );
        case 'delayOpen':
          return go('OpenSent', send({ kind: 'open' }), startTimer('hold', c.config.openHoldSeconds));
        default:
          return fsmError(state, c, ev);
      }
    },
  };
}

const TABLE: { readonly [S in SessionState]: StateTable } = {
  Idle: {
    Start: (c, ev) =>
      ev.passive
        ? go('Active')
        : go('Connect', { do: 'connect' }, startTimer('connectRetry', c.config.connectRetrySeconds)),
    Stop: () => go('Idle'),
  },
  Connect: waitingState('Connect'),
  Active: waitingState('Active'),
  OpenSent: {
    Stop: (c, ev) => onStop(c, ev, true),
    OpenReceived: (c, ev) => onOpen(c, ev, false),
    TcpFailed: (_c, ev) => drop(`tcp-failed: ${ev.detail}`, true),
    NotificationReceived: (_c, ev) => onNotification(ev),
    ProtocolError: (_c, ev) => onProtocolError(ev),
    CollisionDump: () => collision(),
    TimerExpired: (c, ev) =>
      ev.timer === 'hold' ? holdExpired() : ev.timer === 'sendHold' ? sendHoldExpired() : fsmError('OpenSent', c, ev),
  },
  OpenConfirm: {
    Stop: (c, ev) => onStop(c, ev, true),
    KeepaliveReceived: (c) => go('Established', ...restartHold(c), { do: 'up' }),
    TcpFailed: (_c, ev) => drop(`tcp-failed: ${ev.detail}`, true),
    NotificationReceived: (_c, ev) => onNotification(ev),
    ProtocolError: (_c, ev) => onProtocolError(ev),
    CollisionDump: () => collision(),
    TimerExpired: (c, ev) => {
      if (ev.timer === 'hold') return holdExpired();
      if (ev.timer === 'keepalive') return keepaliveTick('OpenConfirm', c);
      if (ev.timer === 'sendHold') return sendHoldExpired();
      return fsmError('OpenConfirm', c, ev);
    },
  },
  Established: {
    Stop: (c, ev) => onStop(c, ev, true),
    KeepaliveReceived: (c) => go('Established', ...restartHold(c)),
    UpdateReceived: (c, ev) => go('Established', ...restartHold(c), { do: 'deliverUpdate', update: ev.update }),
    RouteRefreshReceived: (c, ev) => {
      const n = c.negotiated;
      // RFC 2918 §4 / RFC 7313: a family we did not negotiate is ignored; so is a subtype other than 0, 1
      // or 2 (RFC 7313 §5), and BoRR/EoRR (1, 2) unless enhanced route refresh was negotiated.
      const sub = ev.refresh.subtype;
      const known =
        n?.families.has(familyKey(ev.refresh.afi, ev.refresh.safi)) &&
        (sub === 0 || ((sub === 1 || sub === 2) && n.enhancedRouteRefresh));
      return go(
        'Established',
        ...restartHold(c),
        ...(known ? [{ do: 'deliverRouteRefresh', refresh: ev.refresh } as const] : []),
      );
    },
    TcpFailed: (_c, ev) => drop(`tcp-failed: ${ev.detail}`, true),
    NotificationReceived: (_c, ev) => onNotification(ev),
    ProtocolError: (_c, ev) => onProtocolError(ev),
    TimerExpired: (c, ev) => {
      if (ev.timer === 'hold') return holdExpired();
      if (ev.timer === 'keepalive') return keepaliveTick('Established', c);
      if (ev.timer === 'sendHold') return sendHoldExpired();
      return fsmError('Established', c, ev);
    },
  },
};

/** One FSM transition. Pure: same input, same output. */
export function step(state: SessionState, ctx: FsmCtx, ev: FsmEvent): Step {
  // RFC 4271 §8.2.2: ManualStart/AutomaticStart in any state but Idle is ignored (not an FSM error).
  if (ev.type === 'Start' && state !== 'Idle') return go(state);
  const h = TABLE[state][ev.type] as Handler<FsmEvent['type']> | undefined;
  return h ? h(ctx, ev as never) : fsmError(state, ctx, ev);
}
