/**
 * What a cold start defers until this node's routes are in (issue 10: all agents spawned → every
 * node has every other node's block in its kernel; three agents share two cores there, so every
 * millisecond of CPU spent before the last route is in delays it):
 *
 *   in-sync ─▶ routes programmed, learned ones included ─▶ release(): the dataplane's chains, ipsets,
 *              (or HOLD_LATEST_MS after in-sync)              neighbours, sysctls and MTUs
 *                                                          ─▶ dataplane programmed ─(1 s)─▶ `deferred`:
 *              (or DEFER_LATEST_MS after in-sync, + 1 s)        CNI co-processes, lock-probe thread,
 *                                                               default metrics
 *
 * Both gates are bounded, so a peer that never comes up delays nothing for long; a pod's CNI ADD
 * releases the dataplane at once (Dataplane.waitForEndpoint). No timers before in-sync.
 */

/** The held dataplane work starts this long after in-sync at the latest. */
export const HOLD_LATEST_MS = 2000;
/** `deferred` resolves this long (+ 1 s) after in-sync at the latest. */
export const DEFER_LATEST_MS = 3000;
const DEFER_AFTER_MS = 1000;
/** The file datastore's lock-probe thread starts with `deferred`, or this long after open. */
export const LOCK_GUARD_LATEST_MS = 6000;

export interface ApplyState {
  /** Every desired route is in the kernel. */
  readonly routesProgrammed: boolean;
  /** Everything desired is in the kernel. */
  readonly programmed: boolean;
  /** BGP off, or every peer Established and routes learned (none expected without peers). */
  readonly routesLearned: boolean;
}

export class StartupGates {
  /** Resolves 1 s after the first full programming with the routes learned, or DEFER_LATEST_MS + 1 s after in-sync. */
  readonly deferred: Promise<void>;
  #deferNow: () => void = () => undefined;
  #released = false;

  /** `release` runs once: the routes are in (`reason` 'routes') or HOLD_LATEST_MS passed ('time'). */
  constructor(private readonly release: (reason: 'routes' | 'time') => void) {
    this.deferred = new Promise<void>((r) => (this.#deferNow = r)).then(
      () => new Promise<void>((r) => setTimeout(r, DEFER_AFTER_MS).unref()),
    );
  }

  inSync(): void {
    setTimeout(() => this.#release('time'), HOLD_LATEST_MS).unref();
    setTimeout(() => this.#deferNow(), DEFER_LATEST_MS).unref();
  }

  /** After every apply pass. */
  applied(s: ApplyState): void {
    if (s.routesProgrammed && s.routesLearned) this.#release('routes');
    if (s.programmed && s.routesLearned) this.#deferNow();
  }

  #release(reason: 'routes' | 'time'): void {
    if (this.#released) return;
    this.#released = true;
    this.release(reason);
  }
}
