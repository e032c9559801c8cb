import { describe, expect, it } from 'vitest';
import type { OpenMessage } from '../codec/types.js';
import { isGracefulRestartDown, withHardReset } from './graceful.js';
import type { Negotiated } from './types.js';

function negotiated(peerGr: { notification: boolean } | undefined, local = true): Negotiated {
  return {
    holdTimeSeconds: 90,
    keepaliveSeconds: 30,
    peerAs: 2,
    localAs: 1,
    isIbgp: false,
    peerRouterId: 2,
    peerRouterIdText: '0.0.0.2',
    fourOctetAs: true,
    families: new Set([0x0101]),
    addPathReceive: new Set(),
    addPathSend: new Set(),
    extendedMessages: false,
    routeRefresh: true,
    enhancedRouteRefresh: false,
    localGracefulRestart: local,
    peerOpen: {} as OpenMessage,
    peerGracefulRestart: peerGr && {
      restarting: false,
      notification: peerGr.notification,
      restartTimeSeconds: 120,
      families: [],
    },
  };
}
const data = Buffer.alloc(0);

describe('graceful restart applies (RFC 4724, RFC 8538)', () => {
  it('TCP failure and hold timer expiry keep routes when both sides have GR', () => {
    expect(
      isGracefulRestartDown({ reason: 'tcp-failed: reset', error: true }, negotiated({ notification: false }), false),
    ).toBe(true);
    expect(
      isGracefulRestartDown(
        { reason: 'hold-timer-expired', sent: { code: 4, subcode: 0, data }, error: true },
        negotiated({ notification: true }),
        true,
      ),
    ).toBe(true);
  });
  it('a NOTIFICATION keeps routes only with the N bit on both sides', () => {
    const why = { reason: 'hold-timer-expired', sent: { code: 4, subcode: 0, data }, error: true };
    expect(isGracefulRestartDown(why, negotiated({ notification: false }), true)).toBe(false);
    expect(isGracefulRestartDown(why, negotiated({ notification: true }), false)).toBe(false);
  });
  it('Hard Reset, admin stop, or no GR on either side: flush', () => {
    const hard = { type: 'notification' as const, errorCode: 6, subcode: 9, data: Buffer.from([6, 2]) };
    expect(
      isGracefulRestartDown(
        { reason: 'notification-received', received: hard, error: true },
        negotiated({ notification: true }),
        true,
      ),
    ).toBe(false);
    expect(isGracefulRestartDown({ reason: 'stopped', error: false }, negotiated({ notification: true }), true)).toBe(
      false,
    );
    expect(isGracefulRestartDown({ reason: 'tcp-failed: x', error: true }, negotiated(undefined), true)).toBe(false);
    expect(
      isGracefulRestartDown({ reason: 'tcp-failed: x', error: true }, negotiated({ notification: true }, false), true),
    ).toBe(false);
  });
});

describe('Hard Reset when ending a session with the N bit (RFC 8538 §5)', () => {
  const shutdown = { code: 6, subcode: 2, data: Buffer.from([3, 0x62, 0x79, 0x65]) };
  it('Cease 1, 2, 3 are wrapped in Cease 9 (code, subcode, data) when both sides set N', () => {
    expect(withHardReset(shutdown, negotiated({ notification: true }), true)).toEqual({
      code: 6,
      subcode: 9,
      data: Buffer.from([6, 2, 3, 0x62, 0x79, 0x65]),
    });
    for (const subcode of [1, 3]) {
      expect(withHardReset({ code: 6, subcode, data }, negotiated({ notification: true }), true)).toMatchObject({
        subcode: 9,
        data: Buffer.from([6, subcode]),
      });
    }
  });
  it('provisional and graceful subcodes, other errors, or no N bit on either side: unchanged', () => {
    for (const subcode of [4, 6, 7, 8])
      expect(withHardReset({ code: 6, subcode, data }, negotiated({ notification: true }), true).subcode).toBe(subcode);
    expect(withHardReset({ code: 4, subcode: 0, data }, negotiated({ notification: true }), true)).toEqual({
      code: 4,
      subcode: 0,
      data,
    });
    expect(withHardReset(shutdown, negotiated({ notification: false }), true)).toBe(shutdown);
    expect(withHardReset(shutdown, negotiated({ notification: true }), false)).toBe(shutdown);
    expect(withHardReset(shutdown, negotiated({ notification: true }, false), true)).toBe(shutdown);
    expect(withHardReset(shutdown, undefined, true)).toBe(shutdown);
  });
});
