/**
 * Whether a session that just ended should have its routes kept as stale (graceful restart, receiving
 * speaker role: RFC 4724 §4.2, with RFC 8538 for sessions that end with a NOTIFICATION). Pure.
 *
 *  - Both sides must have exchanged the graceful-restart capability.
 *  - A TCP failure or hold-timer expiry: routes are kept (RFC 4724).
 *  - A NOTIFICATION (sent or received): kept only when both sides set the N bit (RFC 8538) and it is not
 *    a Hard Reset (Cease 9); an administrative stop or de-configuration by us is the caller's decision and
 *    is reported as not graceful here.
 */
import { CEASE_SUBCODE, ERR } from '../codec/constants.js';
import type { DownReason, Negotiated } from './types.js';

export function isGracefulRestartDown(why: DownReason, n: Negotiated, localNotificationBit: boolean): boolean {
  const peer = n.peerGracefulRestart;
  if (!peer || !n.localGracefulRestart) return false;
  if (why.reason === 'stopped' || why.reason === 'collision') return false;
  const code = why.sent?.code ?? why.received?.errorCode;
  const subcode = why.sent?.subcode ?? why.received?.subcode;
  if (code === undefined) return true;
  if (code === ERR.CEASE && subcode === CEASE_SUBCODE.HARD_RESET) return false;
  return peer.notification && localNotificationBit;
}
