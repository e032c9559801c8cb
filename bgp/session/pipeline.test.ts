/**
 * The receive pipeline a Connection runs — Framer → decodeMessage → step() — fed random and mutated
 * bytes in every state: only BgpProtocolError may come out of the codec (turned into a ProtocolError
 * event), the FSM always answers with a valid state, and every way back to Idle from a connected state
 * closes the connection and says why. Pure: no sockets, no timers.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BgpProtocolError } from '../codec/errors.js';
import { Framer } from '../codec/framer.js';
import { decodeMessage, decodeOptions } from '../codec/message.js';
import { encodeOpen } from '../codec/open.js';
import { encodeKeepalive } from '../codec/route-refresh.js';
import type { BgpMessage } from '../codec/types.js';
import { negotiate } from '../fsm/negotiate.js';
import { step } from '../fsm/transitions.js';
import { STATES, type FsmConfig, type FsmEvent, type SessionState } from '../fsm/types.js';
import { makeSessionConfig } from './config.js';

const CONFIG: FsmConfig = makeSessionConfig({
  peerAddress: '192.0.2.2',
  localAs: 65001,
  peerAs: 65002,
  routerId: '192.0.2.1',
});
const OPEN = encodeOpen({
  asn: 65002,
  holdTime: 30,
  bgpId: 0xc0000202,
  capabilities: [
    { kind: 'four-octet-as', asn: 65002 },
    { kind: 'multiprotocol', afi: 1, safi: 1 },
  ],
});
const UPDATE = Buffer.from(
  'ffffffffffffffffffffffffffffffff002f0200000014400101004002060201 0000fdea400304c0000201 180a0000'.replace(/\s/g, ''),
  'hex',
);
const SEEDS = [OPEN, UPDATE, encodeKeepalive()];
const NEGOTIATED = negotiate(decodeMessage(OPEN, decodeOptions()) as Extract<BgpMessage, { type: 'open' }>, CONFIG);

function toEvent(m: BgpMessage): FsmEvent {
  switch (m.type) {
    case 'open':
      return { type: 'OpenReceived', open: m };
    case 'update':
      return { type: 'UpdateReceived', update: m };
    case 'keepalive':
      return { type: 'KeepaliveReceived' };
    case 'notification':
      return { type: 'NotificationReceived', notification: m };
    case 'route-refresh':
      return { type: 'RouteRefreshReceived', refresh: m };
  }
}

/** Run bytes through the pipeline from `state`; returns the states visited. Throws only on a bug. */
function feed(state: SessionState, bytes: Buffer, splitAt: number): SessionState[] {
  const framer = new Framer();
  const opts = decodeOptions({ localAs: 65001, peerAs: 65002 });
  const ctx = {
    config: CONFIG,
    negotiated: state === 'OpenConfirm' || state === 'Established' ? NEGOTIATED : undefined,
  };
  const seen: SessionState[] = [state];
  let s = state;
  const run = (ev: FsmEvent): boolean => {
    const r = step(s, ctx, ev);
    expect(STATES).toContain(r.next);
    if (r.next === 'Idle' && s !== 'Idle') {
      const kinds = r.actions.map((a) => a.do);
      expect(kinds).toContain('close');
      expect(kinds).toContain('down');
    }
    s = r.next;
    seen.push(s);
    return s !== 'Idle';
  };
  try {
    for (const chunk of [bytes.subarray(0, splitAt), bytes.subarray(splitAt)]) {
      for (const m of framer.push(chunk)) {
        let ev: FsmEvent;
        try {
          ev = toEvent(decodeMessage(m, opts));
        } catch (err) {
          if (!(err instanceof BgpProtocolError)) throw err;
          ev = { type: 'ProtocolError', error: err };
        }
        if (!run(ev)) return seen;
      }
    }
  } catch (err) {
    if (!(err instanceof BgpProtocolError)) throw err;
    run({ type: 'ProtocolError', error: err });
  }
  return seen;
}

const mutated = fc
  .tuple(
    fc.constantFrom(...SEEDS),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
  )
  .map(([seed, edits]) => {
    const b = Buffer.from(seed);
    for (const [at, v] of edits) b[19 + (at % Math.max(1, b.length - 19))] = v; // keep the marker: reach the decoders
    return b;
  });
const bytes = fc.oneof(
  mutated,
  fc.uint8Array({ maxLength: 200 }).map((u) => Buffer.from(u)),
);

describe('receive pipeline under random input', () => {
  it('never throws anything but a handled BgpProtocolError, in any connected state', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<SessionState>('OpenSent', 'OpenConfirm', 'Established'),
        fc.array(bytes, { minLength: 1, maxLength: 4 }),
        fc.nat(),
        (state, parts, split) => {
          const all = Buffer.concat(parts);
          feed(state, all, split % (all.length + 1));
        },
      ),
      { numRuns: 5_000 },
    );
  });
});
