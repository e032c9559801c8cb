/**
 * The one time seam. Code that waits or reads the time takes a `Clock`; production passes
 * `realClock`, tests pass a `FakeClock` and move time by hand, so no unit test sleeps.
 */
import { InvariantError } from '../errors.js';

export interface Timer {
  /** Idempotent; a timer that already fired ignores it. */
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch (Date.now for the real clock). */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): Timer;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
};

/** Resolves after `ms` on `clock`; rejects with the signal's reason when aborted first. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      timer.cancel();
      reject(signal!.reason);
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

interface Pending {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
}

/**
 * A clock that only moves when told. Timers fire in due order (ties in creation order) during
 * `advance`, each seeing `now()` equal to its due time; a timer set by a firing timer fires in the
 * same `advance` when it falls due inside it.
 */
export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  #pending: Pending[] = [];

  constructor(startMs = 0) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const p: Pending = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn };
    this.#pending.push(p);
    return { cancel: () => (this.#pending = this.#pending.filter((x) => x !== p)) };
  }

  /** Delays of the timers still pending, from now, in due order. */
  get pendingDelays(): number[] {
    return this.#sorted().map((p) => p.at - this.#now);
  }

  /** Moves time forward by `ms`, firing every timer that falls due. */
  advance(ms: number): void {
    const until = this.#now + ms;
    for (;;) {
      const next = this.#sorted()[0];
      if (!next || next.at > until) break;
      this.#pending = this.#pending.filter((x) => x !== next);
      this.#now = next.at;
      next.fn();
    }
    this.#now = until;
  }

  /** Fires timers until none is left (bounded, so a self-rearming timer cannot hang a test). */
  runAll(maxTimers = 10_000): void {
    for (let i = 0; i < maxTimers; i++) {
      const next = this.#sorted()[0];
      if (!next) return;
      this.advance(next.at - this.#now);
    }
    throw new InvariantError(`FakeClock.runAll: still ${this.#pending.length} timer(s) after ${maxTimers}`);
  }

  #sorted(): Pending[] {
    return [...this.#pending].sort((a, b) => a.at - b.at || a.seq - b.seq);
  }
}
