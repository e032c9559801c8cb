import { describe, expect, it } from 'vitest';
import type { PlannedPeer } from './planner.js';
import { stepTransition, type PeerFacts, type RetiringPeer } from './transition.js';

function p(address: string): PlannedPeer {
  return {
    address,
    asn: 64512,
    port: 179,
    families: ['ipv4'],
    routeReflectorClient: false,
    nextHopSelf: false,
    allowasIn: 0,
    gracefulRestart: { enabled: true, restartTime: 120 },
    import: 'i',
    export: 'e',
    description: address,
  };
}
const MESH = [p('10.0.0.2'), p('10.0.0.3')];
const RR = [p('10.0.0.9')];

function step(
  facts: Record<string, Partial<PeerFacts>>,
  nowMs: number,
  retiring: ReadonlyMap<string, RetiringPeer> = new Map(),
  current = MESH,
) {
  return stepTransition({
    desired: RR,
    current,
    retiring,
    nowMs,
    settleMs: 2000,
    maxWaitMs: 60_000,
    facts: (a) => ({ established: false, covered: false, ...facts[a] }),
  });
}

describe('stepTransition (mesh → route reflector, make-before-break)', () => {
  const up = { established: true, covered: true };
  it('keeps the old peers while the new one is not up', () => {
    const s = step({ '10.0.0.2': up, '10.0.0.3': up }, 0);
    expect(s.peers.map((x) => x.address)).toEqual(['10.0.0.9', '10.0.0.2', '10.0.0.3']);
    expect(s.dropped).toEqual([]);
  });
  it('keeps them while their routes are not covered, then drops after the settle time', () => {
    const r0 = step({ '10.0.0.2': up, '10.0.0.3': up }, 0).retiring;
    const s1 = step(
      { '10.0.0.9': { established: true }, '10.0.0.2': { established: true }, '10.0.0.3': up },
      3000,
      r0,
      [...RR, ...MESH],
    );
    expect(s1.dropped).toEqual([{ address: '10.0.0.3', why: 'routes learned over the new peers' }]);
    expect(s1.peers.map((x) => x.address)).toEqual(['10.0.0.9', '10.0.0.2']);
    const s2 = step({ '10.0.0.9': { established: true }, '10.0.0.2': up }, 1000, r0, [...RR, ...MESH]);
    expect(s2.dropped).toEqual([{ address: '10.0.0.3', why: 'not established' }]); // nothing to lose
    expect(s2.retiring.has('10.0.0.2')).toBe(true); // covered but settle time not passed
  });
  it('gives up waiting after the longest wait', () => {
    const r0 = step({ '10.0.0.2': { established: true }, '10.0.0.3': { established: true } }, 0).retiring;
    expect(r0.size).toBe(2);
    const s = step({ '10.0.0.2': { established: true }, '10.0.0.3': { established: true } }, 60_000, r0, [
      ...RR,
      ...MESH,
    ]);
    expect(s.dropped.map((d) => d.why)).toEqual(['longest wait passed', 'longest wait passed']);
  });
  it('a peer back in the plan stops retiring', () => {
    const r0 = step({ '10.0.0.2': up }, 0).retiring;
    const s = stepTransition({
      desired: [...RR, p('10.0.0.2')],
      current: [...RR, ...MESH],
      retiring: r0,
      nowMs: 1,
      settleMs: 2000,
      maxWaitMs: 60_000,
      facts: () => ({ established: true, covered: false }),
    });
    expect([...s.retiring.keys()]).toEqual(['10.0.0.3']);
  });

  it('a plan with no peer retiring asks no facts (they read the speaker’s RIB)', () => {
    const asked: string[] = [];
    const r = stepTransition({
      desired: MESH,
      current: MESH,
      retiring: new Map(),
      nowMs: 0,
      settleMs: 2000,
      maxWaitMs: 60_000,
      facts: (a) => {
        asked.push(a);
        return { established: true, covered: true };
      },
    });
    expect(r.peers).toEqual(MESH);
    expect(asked).toEqual([]);
  });
});
