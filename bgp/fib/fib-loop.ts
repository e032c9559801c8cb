/**
 * Drives a FibSync: applies soon after changes arrive (one apply at a time, changes arriving meanwhile
 * are picked up by the next one), and after a failure logs it and retries with capped back-off.
 */
import type { Logger } from '../../src/log.js';
import { Backoff, type Clock, realClock, type Timer } from '../../src/runtime/index.js';
import type { FibChange, FibSync } from './fib-sync.js';

export class FibSyncLoop {
  #running = false;
  #again = false;
  #timer: Timer | undefined;
  readonly #backoff: Backoff;
  #stopped = false;
  #idle: (() => void)[] = [];

  constructor(
    readonly fib: FibSync,
    private readonly log: Logger,
    maxBackoffMs = 30_000,
    private readonly clock: Clock = realClock,
  ) {
    this.#backoff = new Backoff({ initial: 500, max: maxBackoffMs, jitter: [1, 1] });
  }

  push(changes: readonly FibChange[]): void {
    if (changes.length === 0) return;
    this.fib.setBestPaths(changes);
    this.kick();
  }

  markInSync(): void {
    if (this.fib.inSync) return;
    this.log.info(
      { routes: this.fib.desiredCount },
      'FIB in sync: stale routes from before the restart may now be removed',
    );
    this.fib.markInSync();
    this.kick();
  }

  kick(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    if (this.#timer === undefined) this.#timer = this.clock.setTimeout(() => void this.#run(), 0);
  }

  /** Resolves once no apply is running or scheduled (tests, shutdown). */
  async whenIdle(): Promise<void> {
    if (!this.#running && this.#timer === undefined) return;
    await new Promise<void>((r) => this.#idle.push(r));
  }

  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    if (!this.#running) this.#settle();
  }

  async #run(): Promise<void> {
    this.#timer = undefined;
    this.#running = true;
    this.#again = false;
    let delay: number | undefined;
    try {
      const stats = await this.fib.apply();
      this.#backoff.reset();
      if (stats.replaced + stats.removed > 0) this.log.info(stats, 'FIB updated');
    } catch (err) {
      delay = this.#backoff.next();
      this.log.warn(
        { err, failures: this.#backoff.attempt, retryInMs: delay },
        'FIB apply failed; will resync and retry',
      );
    } finally {
      this.#running = false;
    }
    if (this.#stopped) return this.#settle();
    if (delay !== undefined) this.#timer = this.clock.setTimeout(() => void this.#run(), delay);
    else if (this.#again) this.#timer = this.clock.setTimeout(() => void this.#run(), 0);
    else this.#settle();
  }

  #settle(): void {
    const w = this.#idle;
    this.#idle = [];
    for (const r of w) r();
  }
}
