/**
 * Connection collision detection (RFC 4271 §6.8). When an OPEN arrives on one connection while the other
 * connection to the same peer is also past the TCP handshake, one of them must go (Cease 7). Pure.
 *
 * The rule, as BIRD states it: the connection initiated by the speaker with the higher BGP Identifier
 * survives. If our identifier is lower than the peer's, we keep the connection the peer opened (incoming)
 * and close ours; otherwise we keep ours. A connection already Established always wins; a new one that
 * collides with it is closed. Connections still in Connect/Active are simply abandoned.
 */
import type { SessionState } from './types.js';

export type CollisionVerdict = 'none' | 'close-this' | 'close-other' | 'abandon-other';

/**
 * `thisIncoming`: the connection that just received an OPEN was opened by the peer.
 * `otherState`: the state of the other connection (undefined when there is none).
 */
export function resolveCollision(
  localId: number,
  peerId: number,
  thisIncoming: boolean,
  otherState: SessionState | undefined,
): CollisionVerdict {
  switch (otherState) {
    case undefined:
    case 'Idle':
      return 'none';
    case 'Connect':
    case 'Active':
      return 'abandon-other';
    case 'Established':
      return 'close-this';
    case 'OpenSent':
    case 'OpenConfirm': {
      const keepIncoming = localId >>> 0 < peerId >>> 0;
      return keepIncoming === thisIncoming ? 'close-other' : 'close-this';
    }
  }
}
