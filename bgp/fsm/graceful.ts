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
import { CEASE_SUBCODE, ERR } from '../codec/index.js';
import type { DownReason, Negotiated, OutNotification } from './types.js';

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

/**
 * Cease subcodes that end a session for good (RFC 8538 §5, Table 1 "Hard"): Maximum Number of Prefixes
 * Reached, Administrative Shutdown, Peer De-configured. Administrative Reset and Other Configuration
 * Change are "Provisional" (the implementation's choice): we keep them graceful, like a restart.
 */
const HARD_CEASE_SUBCODES: ReadonlySet<number> = new Set([
  CEASE_SUBCODE.MAX_PREFIXES,
  CEASE_SUBCODE.ADMIN_SHUTDOWN,
  CEASE_SUBCODE.PEER_DECONFIGURED,
]);

/** Whether both sides exchanged the RFC 8538 N bit on this session. */
export function hasNotificationBit(n: Negotiated, localNotificationBit: boolean): boolean {
  return n.localGracefulRestart && localNotificationBit && n.peerGracefulRestart?.notification === true;
}

/**
 * The NOTIFICATION to actually send when ending an Established session with `out` (RFC 8538 §3, §5):
 * with the N bit exchanged, a Cease that must flush the peer's copy of our routes is wrapped in a Hard
 * Reset (Cease 9, data = code, subcode, data) — otherwise the peer would keep our routes as stale for the
 * whole restart time after, say, an administrative shutdown. Anything else goes out unchanged.
 */
export function withHardReset(
  out: OutNotification,
  n: Negotiated | undefined,
  localNotificationBit: boolean,
): OutNotification {
  if (!n || !hasNotificationBit(n, localNotificationBit)) return out;
  if (out.code !== ERR.CEASE || !HARD_CEASE_SUBCODES.has(out.subcode)) return out;
  return {
    code: ERR.CEASE,
    subcode: CEASE_SUBCODE.HARD_RESET,
    data: Buffer.concat([Buffer.from([out.code, out.subcode]), out.data]),
  };
}
