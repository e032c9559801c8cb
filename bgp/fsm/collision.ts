/**
 * Connection collision detection (RFC 4271 §6.8). When an OPEN arrives on one connection while the other
 * connection to the same peer is also past the TCP handshake, one of them must go (Cease 7). Pure.
 *
 * The rule, as BIRD states it: the connection initiated by the speaker with the higher BGP Identifier
 * survives. If our identifier is lower than the peer's, we keep the connection the peer opened (incoming)
 * and close ours; otherwise we keep ours. Equal identifiers (allowed between different ASes, RFC 6286
 * §2.3): the connection opened by the speaker with the larger AS number survives — without this both
 * sides would keep their own connection and close the other's, and neither would ever come up.
 * A connection already Established always wins; a new one that collides with it is closed. Connections
 * still in Connect/Active are simply abandoned.
 */
import type { SessionState } from './types.js';

export type CollisionVerdict = 'none' | 'close-this' | 'close-other' | 'abandon-other';

/** Whether the peer is the dominant speaker: higher BGP Identifier, or on a tie the larger ASN (RFC 6286). */
export function isPeerDominant(localId: number, peerId: number, localAs: number, peerAs: number): boolean {
  const l = localId >>> 0;
  const p = peerId >>> 0;
  return l === p ? localAs < peerAs : l < p;
}

/**
 * `thisIncoming`: the connection that just received an OPEN was opened by the peer.
 * `otherState`: the state of the other connection (undefined when there is none).
 * `localAs`/`peerAs` break a tie between equal identifiers (the peer's ASN from the OPEN just received).
 */
export function resolveCollision(
  localId: number,
  peerId: number,
  thisIncoming: boolean,
  otherState: SessionState | undefined,
  localAs = 0,
  peerAs = 0,
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
      const keepIncoming = isPeerDominant(localId, peerId, localAs, peerAs);
      return keepIncoming === thisIncoming ? 'close-other' : 'close-this';
    }
  }
}
