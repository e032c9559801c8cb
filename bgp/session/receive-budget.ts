/**
 * The process's one scheduler for sliced work: every Connection's receive pump and the speaker's flush
 * are tasks in one round-robin queue, run from one setImmediate per event-loop turn until the turn's
 * budget (SLICE_MS) is spent. Module state on purpose: the budget is the process's, like the event loop
 * it protects — between two turns the loop runs timers (our keepalives) and polls sockets (peers' bytes,
 * the control API), so a control request waits behind at most about one budget plus one unit of work.
 *
 * Why one queue and not a budget shared by independent setImmediate callbacks (the earlier design):
 * with N busy sessions each callback did at least one unit of work per turn to make progress, so a turn
 * held the loop for N units however small the budget (50 peers × one 4 KiB UPDATE with its best-path
 * and export marking: seconds); and the flush did a step for every peer before looking at the clock.
 * Here a turn runs at least one unit in all, tasks that still have work go to the back of the queue,
 * and tasks the turn did not reach run first in the next one — every task progresses, in order.
 */
import { performance } from 'node:perf_hooks';

/**
 * One slice of a task: does at least one unit of work (if it has any), keeps going while
 * `performance.now() < deadline`, and returns true while work remains.
 */
export type SlicedTask = (deadline: number) => boolean;

/** The budget per event-loop turn for all sliced work together. */
export const SLICE_MS = 5;

const queue: SlicedTask[] = [];
const queued = new Set<SlicedTask>();
let turnScheduled = false;
/**
 * The setImmediate the pending turn was scheduled with. A turn scheduled through one that has since
 * been replaced (a test installing or removing fake timers) may never run: then a new one is scheduled.
 */
let scheduledWith: typeof setImmediate | undefined;

function scheduleTurn(): void {
  turnScheduled = true;
  scheduledWith = globalThis.setImmediate;
  setImmediate(runTurn);
}

/** Queue `task` for the next turn (a no-op when it is already queued). */
export function scheduleSliced(task: SlicedTask): void {
  if (!queued.has(task)) {
    queued.add(task);
    queue.push(task);
  }
  if (!turnScheduled || scheduledWith !== globalThis.setImmediate) scheduleTurn();
}

/** Tasks waiting for a turn (tests and diagnostics). */
export function slicedPending(): number {
  return queue.length;
}

function runTurn(): void {
  turnScheduled = false;
  const deadline = performance.now() + SLICE_MS;
  // Each task at most once a turn: one re-queued during it waits for the next turn, so a turn is
  // bounded even if a task always has more. A task first queued during the turn (the flush after a
  // receive task ingested an UPDATE) runs in it while the budget lasts: the route is not held a turn.
  const ran = new Set<SlicedTask>();
  while (queue.length > 0 && !ran.has(queue[0]!)) {
    const task = queue.shift()!;
    queued.delete(task);
    ran.add(task);
    let more: boolean;
    try {
      more = task(deadline);
    } finally {
      // A throwing task is a bug that crashes the process; the others must not be lost before that.
      if (queue.length > 0 && !turnScheduled) scheduleTurn();
    }
    if (more) scheduleSliced(task);
    if (performance.now() >= deadline) break;
  }
  if (queue.length > 0 && !turnScheduled) scheduleTurn();
}
