import { describe, expect, it } from 'vitest';
import { isPeerDominant, resolveCollision } from './collision.js';

/**
 * Both speakers run the same rule on their own view. The connection A opened is "outgoing" at A and
 * "incoming" at B; whichever connection receives the deciding OPEN, both sides must agree on one survivor.
 */
function survivorSeenBy(localId: number, peerId: number, localAs: number, peerAs: number): 'mine' | 'theirs' {
  // An OPEN arrives on the connection we opened while the peer's is in OpenConfirm.
  const v = resolveCollision(localId, peerId, false, 'OpenConfirm', localAs, peerAs);
  return v === 'close-other' ? 'mine' : 'theirs';
}

describe('collision tie-break on equal BGP identifiers (RFC 6286 §2.3)', () => {
  const ID = 0x0a000001;
  it('the connection opened by the speaker with the larger ASN survives', () => {
    expect(isPeerDominant(ID, ID, 65001, 65002)).toBe(true);
    expect(isPeerDominant(ID, ID, 65002, 65001)).toBe(false);
    expect(resolveCollision(ID, ID, true, 'OpenConfirm', 65001, 65002)).toBe('close-other'); // keep theirs
    expect(resolveCollision(ID, ID, false, 'OpenSent', 65001, 65002)).toBe('close-this');
    expect(resolveCollision(ID, ID, true, 'OpenConfirm', 65002, 65001)).toBe('close-this'); // keep ours
  });
  it('both sides agree on the survivor, for equal and for different identifiers', () => {
    const cases: [number, number, number, number][] = [
      [ID, ID, 65001, 65002],
      [ID, ID, 4_200_000_000, 65002],
      [0x01010101, 0xc0000001, 65001, 65002],
      [0xc0000001, 0x01010101, 65001, 65002],
    ];
    for (const [a, b, asA, asB] of cases) {
      const atA = survivorSeenBy(a, b, asA, asB); // 'mine' = the connection A opened
      const atB = survivorSeenBy(b, a, asB, asA); // 'mine' = the connection B opened
      expect(atA === 'mine').toBe(atB === 'theirs');
    }
  });
});
