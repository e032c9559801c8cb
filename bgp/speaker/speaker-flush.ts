/**
 * One flush slice of the speaker: a slice of pending peer-down work, outbound UPDATEs in steps of
 * FLUSH_STEP bytes for one peer at a time (round-robin across slices) while this event-loop turn's
 * budget lasts, then best-path changes in steps of BEST_STEP, published to the FIB and subscribers.
 * BgpSpeaker runs the slices as a task of the sessions' scheduler (bgp/session/receive-budget.ts).
 */
import type { Logger } from '../../src/log.js';
import type { FibSyncLoop } from '../fib/index.js';
import type { Family } from '../rib/index.js';
import { fibChanges } from './interfaces.js';
import type { SpeakerPeer } from './peer.js';
import type { RibPort } from './ports.js';
import type { BestPathChange } from './types.js';

/** Outbound bytes per peer per flush step, and best-path changes per step. */
const FLUSH_STEP = 32 * 1024;
const BEST_STEP = 4096;
/** Paths a lost session gives up per flush slice (≈ 10–25 ms at 1M paths, docs/bgp-rib.md). */
const PEER_DOWN_BUDGET = 20_000;

type RibChanges = ReturnType<RibPort['takeBestPathChanges']>;

/** Where the next slice's outbound round starts (peers are served round-robin across slices). */
export interface FlushCursor {
  next: number;
}

/**
 * Runs one slice until `deadline` (performance.now() time; at least one step); true while work remains
 * (the caller schedules another).
 */
export function flushSlice(
  rib: RibPort,
  peers: ReadonlyMap<string, SpeakerPeer>,
  deferOutbound: () => boolean,
  publish: (changes: RibChanges) => void,
  deadline: number,
  cursor: FlushCursor,
): boolean {
  let more = false;
  // A lost session's paths go in slices; withdrawals each slice queues are sent below, and keepalives
  // and hold timers run between slices.
  if (rib.peerDownPending) {
    rib.peerDownStep(PEER_DOWN_BUDGET);
    more = true;
  }
  // Time-sliced (issue 8 §5): one FLUSH_STEP for one peer at a time, the clock read after each, so a
  // slice is bounded by one step whatever the number of peers (a round over 50 peers was ≈ 1.6 MB of
  // UPDATEs between two looks at the clock); the cursor carries the round over to the next slice.
  const order = [...peers.values()];
  const n = order.length;
  let idleRun = 0; // consecutive peers with nothing to send: a full lap of them ends the rounds
  let stepped = false;
  while (n > 0 && idleRun < n) {
    if (stepped && performance.now() >= deadline) {
      more = true;
      break;
    }
    const p = order[cursor.next % n]!;
    cursor.next = (cursor.next + 1) % n;
    if (deferOutbound() || !p.writable) {
      idleRun++;
      continue;
    }
    if (rib.hasOutbound(p.id)) {
      stepped = true;
      idleRun = 0;
      const bufs = rib.takeOutbound(p.id, FLUSH_STEP);
      if (bufs.length > 0 && !p.send(bufs)) continue; // resumes on 'drain'
      if (rib.hasOutbound(p.id)) more = true;
      else if (p.pendingEorr.size > 0) p.sendPendingEorr();
    } else {
      idleRun++;
      if (p.pendingEorr.size > 0) p.sendPendingEorr();
    }
  }
  if (rib.peerDownPending) more = true;
  let changes = rib.takeBestPathChanges(BEST_STEP);
  while (changes.length > 0) {
    publish(changes);
    if (changes.length < BEST_STEP) break;
    if (performance.now() >= deadline) {
      more = true;
      break;
    }
    changes = rib.takeBestPathChanges(BEST_STEP);
  }
  return more;
}

/** Best-path changes to the FIB (link-local next hops resolved by `deviceFor`) and to subscribers. */
export function publishChanges(
  changes: RibChanges,
  fib: FibSyncLoop | undefined,
  subscribers: Iterable<(changes: readonly BestPathChange[]) => void>,
  deviceFor: (prefix: string, family: Family, hop: string) => string | undefined,
  log: Logger,
): void {
  const out: BestPathChange[] = changes.map((c) => ({
    prefix: c.prefix,
    family: c.family,
    nextHops: c.nextHops ?? [],
    local: c.local,
  }));
  if (fib)
    fib.push(
      fibChanges(out, deviceFor, (prefix, hop) =>
        log.warn({ prefix, nextHop: hop }, 'link-local next hop on no known device: not installed'),
      ),
    );
  for (const s of subscribers) s(out);
}
