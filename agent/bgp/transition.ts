/**
 * Make-before-break for peer changes (mesh → route reflectors, a ToR replaced): a peer the new plan
 * drops keeps its session ("retiring") until the routes learned over it are also learned over a peer
 * that stays, every peer of the new plan is Established, and a short settle time passed — or it is not
 * Established anyway, or the longest wait passed. Pure: the caller supplies the facts and the clock.
 */
import type { PlannedPeer } from './planner.js';

export interface RetiringPeer {
  readonly peer: PlannedPeer;
  readonly sinceMs: number;
}

export interface PeerFacts {
  readonly established: boolean;
  /** Every route learned from this peer is also learned, with the same next hop, from a peer that stays. */
  readonly covered: boolean;
}

export interface TransitionInput {
  readonly desired: readonly PlannedPeer[];
  /** Peers the speaker runs now (desired of the last plan plus those retiring). */
  readonly current: readonly PlannedPeer[];
  readonly retiring: ReadonlyMap<string, RetiringPeer>;
  readonly facts: (address: string) => PeerFacts;
  readonly nowMs: number;
  readonly settleMs: number;
  readonly maxWaitMs: number;
}

export interface TransitionStep {
  /** What the speaker should run now. */
  readonly peers: readonly PlannedPeer[];
  readonly retiring: ReadonlyMap<string, RetiringPeer>;
  /** Addresses removed by this step, and why. */
  readonly dropped: readonly { readonly address: string; readonly why: string }[];
}

export function stepTransition(i: TransitionInput): TransitionStep {
  const desired = new Map(i.desired.map((p) => [p.address, p] as const));
  const retiring = new Map<string, RetiringPeer>();
  for (const p of i.current) {
    if (desired.has(p.address)) continue;
    retiring.set(p.address, i.retiring.get(p.address) ?? { peer: p, sinceMs: i.nowMs });
  }
  for (const [a, r] of i.retiring) if (!desired.has(a) && !retiring.has(a)) retiring.set(a, r);
  // Asked only while a peer is retiring: facts read the speaker's RIB (every plan of a quiet cluster
  // would pay for it, and a new block's plan is on the route path).
  let up: boolean | undefined;
  const desiredUp = () => (up ??= i.desired.every((p) => i.facts(p.address).established));
  const dropped: { address: string; why: string }[] = [];
  for (const [a, r] of retiring) {
    const f = i.facts(a);
    const waited = i.nowMs - r.sinceMs;
    let why: string | undefined;
    if (!f.established) why = 'not established';
    else if (waited >= i.maxWaitMs) why = 'longest wait passed';
    else if (waited >= i.settleMs && f.covered && desiredUp()) why = 'routes learned over the new peers';
    if (why !== undefined) {
      dropped.push({ address: a, why });
      retiring.delete(a);
    }
  }
  return { peers: [...i.desired, ...[...retiring.values()].map((r) => r.peer)], retiring, dropped };
}
