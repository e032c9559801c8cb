/**
 * One flush slice of the speaker: a slice of pending peer-down work, outbound UPDATEs in steps of
 * FLUSH_STEP bytes per peer while this event-loop turn's budget lasts, then best-path changes in steps
 * of BEST_STEP, published to the FIB and subscribers. BgpSpeaker schedules the slices (speaker.ts).
 */
import type { Logger } from '../../src/log.js';
import type { FibSyncLoop } from '../fib/index.js';
import type { Family } from '../rib/index.js';
import { flushDeadline } from '../session/index.js';
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

/** Runs one slice; true while work remains (the caller yields and schedules another). */
export function flushSlice(
  rib: RibPort,
  peers: ReadonlyMap<string, SpeakerPeer>,
  deferOutbound: () => boolean,
  publish: (changes: RibChanges) => void,
): boolean {
  let more = false;
  // A lost session's paths go in slices; withdrawals each slice queues are sent below, and keepalives
  // and hold timers run between slices.
  if (rib.peerDownPending) {
    rib.peerDownStep(PEER_DOWN_BUDGET);
    more = true;
  }
  // Time-sliced (issue 8 §5): steps of FLUSH_STEP bytes per peer while this event-loop turn's budget
  // (shared with the sessions' receive pumps, bgp/session) lasts, at least one round per call.
  const deadline = flushDeadline();
  let round: boolean;
  do {
    round = false;
    more = false;
    for (const p of peers.values()) {
      if (deferOutbound() || !p.writable) continue;
      if (rib.hasOutbound(p.id)) {
        const bufs = rib.takeOutbound(p.id, FLUSH_STEP);
        if (bufs.length > 0 && !p.send(bufs)) continue; // resumes on 'drain'
      }
      if (rib.hasOutbound(p.id)) round = more = true;
      else if (p.pendingEorr.size > 0) p.sendPendingEorr();
    }
  } while (round && performance.now() < deadline);
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
