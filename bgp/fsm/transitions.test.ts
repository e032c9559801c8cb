import { describe, expect, it } from 'vitest';
import type { NotificationMessage, OpenMessage, RouteRefreshMessage, UpdateMessage } from '../codec/types.js';
import { BgpProtocolError } from '../codec/errors.js';
import { FAMILY } from '../codec/constants.js';
import { negotiate } from './negotiate.js';
import { step } from './transitions.js';
import { STATES, type FsmAction, type FsmConfig, type FsmCtx, type FsmEvent, type SessionState } from './types.js';

const CONFIG: FsmConfig = {
  localAs: 65001,
  peerAs: 65002,
  routerId: 0x0a000001,
  holdTimeSeconds: 90,
  connectRetrySeconds: 30,
  delayOpenSeconds: 0,
  openHoldSeconds: 240,
  sendHoldSeconds: 480,
  families: [FAMILY.IPV4_UNICAST],
  addPath: new Map(),
  extendedMessages: true,
};
const ctx = (over: Partial<FsmCtx> = {}, cfg: Partial<FsmConfig> = {}): FsmCtx => ({
  config: { ...CONFIG, ...cfg },
  ...over,
});

function open(over: Partial<OpenMessage> = {}): OpenMessage {
  return {
    type: 'open',
    version: 4,
    myAs: 65002,
    asn: 65002,
    holdTime: 30,
    bgpId: 0x0a000002,
    capabilities: [
      { kind: 'four-octet-as', asn: 65002 },
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'route-refresh' },
    ],
    extendedParams: false,
    ...over,
  };
}
const NEGOTIATED = negotiate(open(), CONFIG);
const EST = ctx({ negotiated: NEGOTIATED });
const notif = (code: number, subcode: number, data: Buffer = Buffer.alloc(0)): FsmAction => ({
  do: 'send',
  msg: { kind: 'notification', code, subcode, data },
});
const sentNotifications = (actions: readonly FsmAction[]) =>
  actions.flatMap((a) => (a.do === 'send' && a.msg.kind === 'notification' ? [[a.msg.code, a.msg.subcode]] : []));
const kinds = (actions: readonly FsmAction[]) => actions.map((a) => (a.do === 'send' ? `send:${a.msg.kind}` : a.do));

const KEEPALIVE: FsmEvent = { type: 'KeepaliveReceived' };
const UPDATE = { type: 'update' } as unknown as UpdateMessage;
const NOTIFICATION: NotificationMessage = { type: 'notification', errorCode: 6, subcode: 2, data: Buffer.alloc(0) };

describe('Idle', () => {
  it('Start (active) connects and starts ConnectRetry', () => {
    expect(step('Idle', ctx(), { type: 'Start', passive: false })).toEqual({
      next: 'Connect',
      actions: [{ do: 'connect' }, { do: 'startTimer', timer: 'connectRetry', seconds: 30 }],
    });
  });
  it('Start (passive) waits in Active without connecting', () => {
    expect(step('Idle', ctx(), { type: 'Start', passive: true })).toEqual({ next: 'Active', actions: [] });
  });
  it.each<FsmEvent>([KEEPALIVE, { type: 'TimerExpired', timer: 'hold' }, { type: 'TcpFailed', detail: 'x' }])(
    'ignores %o',
    (ev) => expect(step('Idle', ctx(), ev)).toEqual({ next: 'Idle', actions: [] }),
  );
});

describe('Connect and Active', () => {
  it('TCP up without DelayOpen sends OPEN with the large hold timer', () => {
    expect(step('Connect', ctx(), { type: 'TcpConnected' })).toEqual({
      next: 'OpenSent',
      actions: [
        { do: 'stopTimer', timer: 'connectRetry' },
        { do: 'send', msg: { kind: 'open' } },
        { do: 'startTimer', timer: 'hold', seconds: 240 },
      ],
    });
    expect(step('Active', ctx(), { type: 'TcpConnected' }).next).toBe('OpenSent');
  });
  it('TCP up with DelayOpen waits, then sends OPEN when it expires', () => {
    const c = ctx({}, { delayOpenSeconds: 5 });
    expect(step('Connect', c, { type: 'TcpConnected' })).toEqual({
      next: 'Connect',
      actions: [
        { do: 'stopTimer', timer: 'connectRetry' },
        { do: 'startTimer', timer: 'delayOpen', seconds: 5 },
      ],
    });
    const s = step('Connect', { ...c, delayOpenRunning: true }, { type: 'TimerExpired', timer: 'delayOpen' });
    expect(s.next).toBe('OpenSent');
    expect(kinds(s.actions)).toEqual(['send:open', 'startTimer']);
  });
  it('an OPEN during DelayOpen gets OPEN + KEEPALIVE and goes to OpenConfirm', () => {
    const s = step('Active', ctx({ delayOpenRunning: true }, { delayOpenSeconds: 5 }), {
      type: 'OpenReceived',
      open: open(),
    });
    expect(s.next).toBe('OpenConfirm');
    expect(kinds(s.actions)).toEqual([
      'stopTimer',
      'stopTimer',
      'negotiated',
      'send:open',
      'send:keepalive',
      'startTimer',
      'startTimer',
    ]);
  });
  it('a failed outgoing connect waits in Active for ConnectRetry, which connects again', () => {
    expect(step('Connect', ctx(), { type: 'TcpFailed', detail: 'ECONNREFUSED' })).toEqual({
      next: 'Active',
      actions: [{ do: 'close' }],
    });
    expect(step('Active', ctx(), { type: 'TimerExpired', timer: 'connectRetry' })).toEqual({
      next: 'Connect',
      actions: [
        { do: 'close' },
        { do: 'stopTimer', timer: 'delayOpen' },
        { do: 'connect' },
        { do: 'startTimer', timer: 'connectRetry', seconds: 30 },
      ],
    });
  });
  it('ConnectRetry in Connect abandons the attempt and starts a new one', () => {
    expect(step('Connect', ctx(), { type: 'TimerExpired', timer: 'connectRetry' }).next).toBe('Connect');
  });
  it('Stop before TCP is up just goes Idle, no NOTIFICATION', () => {
    const s = step('Connect', ctx(), { type: 'Stop', notification: { code: 6, subcode: 2, data: Buffer.alloc(0) } });
    expect(s.next).toBe('Idle');
    expect(sentNotifications(s.actions)).toEqual([]);
  });
  it('an unexpected message with TCP up (DelayOpen) is FSM error 5/0', () => {
    const s = step('Connect', ctx({ delayOpenRunning: true }), KEEPALIVE);
    expect(s.next).toBe('Idle');
    expect(s.actions).toContainEqual(notif(5, 0));
  });
});

describe('OpenSent', () => {
  it('a good OPEN negotiates, sends KEEPALIVE, starts hold and keepalive with the smaller hold time', () => {
    const s = step('OpenSent', ctx(), { type: 'OpenReceived', open: open() });
    expect(s.next).toBe('OpenConfirm');
    expect(s.actions).toContainEqual({ do: 'send', msg: { kind: 'keepalive' } });
    expect(s.actions).toContainEqual({ do: 'startTimer', timer: 'hold', seconds: 30 });
    expect(s.actions).toContainEqual({ do: 'startTimer', timer: 'keepalive', seconds: 10 });
  });
  it('hold time 0 means no hold and no keepalive timers', () => {
    const s = step('OpenSent', ctx(), { type: 'OpenReceived', open: open({ holdTime: 0 }) });
    expect(s.next).toBe('OpenConfirm');
    expect(s.actions.filter((a) => a.do === 'startTimer')).toEqual([]);
  });
  it.each([1, 2])('hold time %i is rejected with 2/6 carrying it', (h) => {
    const s = step('OpenSent', ctx(), { type: 'OpenReceived', open: open({ holdTime: h }) });
    expect(s.next).toBe('Idle');
    expect(s.actions).toContainEqual(notif(2, 6, Buffer.from([0, h])));
    expect(kinds(s.actions).slice(-2)).toEqual(['close', 'down']);
  });
  it('a wrong peer AS is 2/2 with the My AS field as data', () => {
    const s = step('OpenSent', ctx(), {
      type: 'OpenReceived',
      open: open({ myAs: 65099, asn: 65099, capabilities: [{ kind: 'four-octet-as', asn: 65099 }] }),
    });
    expect(s.actions).toContainEqual(notif(2, 2, Buffer.from([0xfe, 0x4b])));
  });
  it('AS 0 is 2/2 (RFC 7607) even for an "external" peer', () => {
    const s = step('OpenSent', ctx({}, { peerAs: 'external' }), {
      type: 'OpenReceived',
      open: open({ myAs: 0, asn: 0, capabilities: [] }),
    });
    expect(s.actions).toContainEqual(notif(2, 2, Buffer.from([0, 0])));
  });
  it('BGP identifier 0, or our own on iBGP, is 2/3', () => {
    expect(step('OpenSent', ctx(), { type: 'OpenReceived', open: open({ bgpId: 0 }) }).actions).toContainEqual(
      notif(2, 3, Buffer.alloc(4)),
    );
    const ibgp = ctx({}, { peerAs: 65001 });
    const own = open({
      myAs: 65001,
      asn: 65001,
      bgpId: CONFIG.routerId,
      capabilities: [{ kind: 'four-octet-as', asn: 65001 }],
    });
    expect(sentNotifications(step('OpenSent', ibgp, { type: 'OpenReceived', open: own }).actions)).toEqual([[2, 3]]);
  });
  it('hold timer expiry sends 4/0', () => {
    const s = step('OpenSent', ctx(), { type: 'TimerExpired', timer: 'hold' });
    expect(s).toEqual({
      next: 'Idle',
      actions: [
        { do: 'stopTimers' },
        notif(4, 0),
        { do: 'close' },
        {
          do: 'down',
          why: { reason: 'hold-timer-expired', sent: { code: 4, subcode: 0, data: Buffer.alloc(0) }, error: true },
        },
      ],
    });
  });
  it('collision dump sends Cease 7 and does not count as an error', () => {
    const s = step('OpenSent', ctx(), { type: 'CollisionDump' });
    expect(sentNotifications(s.actions)).toEqual([[6, 7]]);
    expect(s.actions.at(-1)).toMatchObject({ do: 'down', why: { reason: 'collision', error: false } });
  });
});

describe('OpenConfirm', () => {
  it('KEEPALIVE establishes and restarts the hold timer', () => {
    expect(step('OpenConfirm', EST, KEEPALIVE)).toEqual({
      next: 'Established',
      actions: [{ do: 'startTimer', timer: 'hold', seconds: 30 }, { do: 'up' }],
    });
  });
  it('keepalive timer sends a KEEPALIVE and restarts', () => {
    expect(step('OpenConfirm', EST, { type: 'TimerExpired', timer: 'keepalive' })).toEqual({
      next: 'OpenConfirm',
      actions: [
        { do: 'send', msg: { kind: 'keepalive' } },
        { do: 'startTimer', timer: 'keepalive', seconds: 10 },
      ],
    });
  });
  it('a NOTIFICATION received closes without answering', () => {
    const s = step('OpenConfirm', EST, { type: 'NotificationReceived', notification: NOTIFICATION });
    expect(s.next).toBe('Idle');
    expect(sentNotifications(s.actions)).toEqual([]);
    expect(s.actions.at(-1)).toMatchObject({ do: 'down', why: { received: NOTIFICATION } });
  });
});

describe('Established', () => {
  it('an UPDATE restarts hold and is delivered', () => {
    expect(step('Established', EST, { type: 'UpdateReceived', update: UPDATE })).toEqual({
      next: 'Established',
      actions: [
        { do: 'startTimer', timer: 'hold', seconds: 30 },
        { do: 'deliverUpdate', update: UPDATE },
      ],
    });
  });
  it('ROUTE-REFRESH is delivered for a negotiated family and ignored otherwise', () => {
    const v4: RouteRefreshMessage = { type: 'route-refresh', afi: 1, safi: 1, subtype: 0 };
    const v6: RouteRefreshMessage = { type: 'route-refresh', afi: 2, safi: 1, subtype: 0 };
    expect(step('Established', EST, { type: 'RouteRefreshReceived', refresh: v4 }).actions).toContainEqual({
      do: 'deliverRouteRefresh',
      refresh: v4,
    });
    expect(kinds(step('Established', EST, { type: 'RouteRefreshReceived', refresh: v6 }).actions)).toEqual([
      'startTimer',
    ]);
    // RFC 7313: unknown subtypes are ignored; BoRR/EoRR only count with enhanced route refresh negotiated.
    const sub = (subtype: number): RouteRefreshMessage => ({ type: 'route-refresh', afi: 1, safi: 1, subtype });
    const delivered = (c: FsmCtx, m: RouteRefreshMessage): boolean =>
      step('Established', c, { type: 'RouteRefreshReceived', refresh: m }).actions.some(
        (a) => a.do === 'deliverRouteRefresh',
      );
    const ENH = ctx({ negotiated: { ...NEGOTIATED, enhancedRouteRefresh: true } });
    expect([0, 1, 2, 3, 255].map((t) => delivered(EST, sub(t)))).toEqual([true, false, false, false, false]);
    expect([0, 1, 2, 3, 255].map((t) => delivered(ENH, sub(t)))).toEqual([true, true, true, false, false]);
  });
  it('send hold timer expiry closes with 8/0 (RFC 9687)', () => {
    const s = step('Established', EST, { type: 'TimerExpired', timer: 'sendHold' });
    expect(s.next).toBe('Idle');
    expect(sentNotifications(s.actions)).toEqual([[8, 0]]);
  });
  it('a protocol error sends its exact NOTIFICATION', () => {
    const err = new BgpProtocolError(3, 11, Buffer.from([1, 2]), 'session-reset', 'malformed AS_PATH');
    const s = step('Established', EST, { type: 'ProtocolError', error: err });
    expect(s.actions).toContainEqual(notif(3, 11, Buffer.from([1, 2])));
  });
  it('Stop sends the given Cease', () => {
    const n = { code: 6, subcode: 2, data: Buffer.from('bye') };
    const s = step('Established', EST, { type: 'Stop', notification: n });
    expect(s.actions).toContainEqual(notif(6, 2, Buffer.from('bye')));
    expect(s.actions.at(-1)).toMatchObject({ do: 'down', why: { reason: 'stopped', error: false } });
  });
  it('hold time 0: a keepalive timer event sends nothing', () => {
    const zero = ctx({ negotiated: negotiate(open({ holdTime: 0 }), CONFIG) });
    expect(step('Established', zero, { type: 'TimerExpired', timer: 'keepalive' })).toEqual({
      next: 'Established',
      actions: [],
    });
  });
});

describe('FSM errors use the RFC 6608 subcode of the state', () => {
  const cases: [SessionState, FsmEvent, number][] = [
    ['OpenSent', KEEPALIVE, 1],
    ['OpenSent', { type: 'UpdateReceived', update: UPDATE }, 1],
    ['OpenConfirm', { type: 'OpenReceived', open: open() }, 2],
    ['OpenConfirm', { type: 'UpdateReceived', update: UPDATE }, 2],
    ['Established', { type: 'OpenReceived', open: open() }, 3],
    ['Established', { type: 'TimerExpired', timer: 'connectRetry' }, 3],
  ];
  it.each(cases)('%s + %o → 5/%i', (state, ev, sub) => {
    const s = step(state, state === 'OpenSent' ? ctx() : EST, ev);
    expect(s.next).toBe('Idle');
    expect(sentNotifications(s.actions)).toEqual([[5, sub]]);
  });
});

describe('collision during DelayOpen', () => {
  it.each(['Connect', 'Active'] as const)('%s with DelayOpen running: Cease 7, not an FSM error', (state) => {
    const s = step(state, ctx({ delayOpenRunning: true }, { delayOpenSeconds: 5 }), { type: 'CollisionDump' });
    expect(s.next).toBe('Idle');
    expect(sentNotifications(s.actions)).toEqual([[6, 7]]);
    expect(s.actions.at(-1)).toMatchObject({ do: 'down', why: { reason: 'collision', error: false } });
  });
});

describe('Start outside Idle (RFC 4271 §8.2.2: ignored)', () => {
  it.each(STATES.filter((s) => s !== 'Idle'))('%s ignores Start', (state) => {
    for (const passive of [false, true])
      expect(step(state, EST, { type: 'Start', passive })).toEqual({ next: state, actions: [] });
  });
});

describe('totality', () => {
  const events: FsmEvent[] = [
    { type: 'Start', passive: false },
    { type: 'Start', passive: true },
    { type: 'Stop', notification: { code: 6, subcode: 2, data: Buffer.alloc(0) } },
    { type: 'TcpConnected' },
    { type: 'TcpFailed', detail: 'x' },
    { type: 'OpenReceived', open: open() },
    KEEPALIVE,
    { type: 'UpdateReceived', update: UPDATE },
    { type: 'NotificationReceived', notification: NOTIFICATION },
    { type: 'RouteRefreshReceived', refresh: { type: 'route-refresh', afi: 1, safi: 1, subtype: 0 } },
    { type: 'ProtocolError', error: new BgpProtocolError(1, 1, Buffer.alloc(0), 'session-reset', 'x') },
    ...(['connectRetry', 'hold', 'keepalive', 'delayOpen', 'sendHold'] as const).map(
      (timer) => ({ type: 'TimerExpired', timer }) as const,
    ),
    { type: 'CollisionDump' },
  ];
  it('every (state, event) pair yields a state, and going Idle from a connected state always closes', () => {
    for (const state of STATES) {
      for (const ev of events) {
        for (const c of [ctx(), EST, ctx({ delayOpenRunning: true })]) {
          const s = step(state, c, ev);
          expect(STATES).toContain(s.next);
          if (s.next === 'Idle' && state !== 'Idle') expect(kinds(s.actions)).toContain('close');
        }
      }
    }
  });
});
