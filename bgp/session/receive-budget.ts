/**
 * The per-turn work budget the Connections' pumps share (see connection.ts), and the speaker's flush
 * with them (flushDeadline). Module state on purpose: the budget is the process's, like the event loop
 * it protects — a control API request waits behind at most about one budget per event-loop phase.
 */
import { performance } from 'node:perf_hooks';

/**
 * One receive budget per event-loop turn for the whole process, shared by every connection: per-
 * connection slices alone let N busy sessions hold the loop for N × sliceMs before timers (our
 * keepalives) run. A pump works until the shared deadline (always at least one message, so each makes
 * progress), then yields; the first to yield schedules the renewal, which runs first in the next check
 * phase — after that turn's timers and poll phases — and the yielded pumps follow it. While nobody has
 * yielded, a window older than the slice is simply renewed on entry.
 */
const turn = { start: 0, renewPending: false };
function renewTurn(): void {
  turn.start = performance.now();
  turn.renewPending = false;
}
export function turnDeadline(sliceMs: number): number {
  const now = performance.now();
  if (!turn.renewPending && now - turn.start >= sliceMs) turn.start = now;
  return turn.start + sliceMs;
}
export function yieldTurn(): void {
  if (turn.renewPending) return;
  turn.renewPending = true;
  setImmediate(renewTurn);
}

/** The budget per turn for work outside a session (the speaker's flush): the sessions' default slice. */
export const FLUSH_SLICE_MS = 5;
/** Deadline of the current turn's budget for the speaker's flush (shared with the receive pumps). */
export function flushDeadline(): number {
  return turnDeadline(FLUSH_SLICE_MS);
}
/** The flush ran out of budget: renew it after this turn's timers and I/O. */
export function yieldFlushTurn(): void {
  yieldTurn();
}
