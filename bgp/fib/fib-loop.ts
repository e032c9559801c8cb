/**
 * Drives a FibSync: applies soon after changes arrive (one apply at a time, changes arriving meanwhile
 * are picked up by the next one), and after a failure logs it and retries with capped back-off.
 * Runs from construction on src/runtime's Lifecycle: stop() is idempotent, cancels what is only
 * scheduled and waits for an apply in flight to finish (the routes it writes stay in the kernel).
 */
import type { Logger } from '../../src/log.js';
import { Backoff, type Clock, Lifecycle, realClock, type Timer } from '../../src/runtime/index.js';
import type { FibChange, FibSync } from './fib-sync.js';

export class FibSyncLoop {
  #running = false;
  #again = false;
  #timer: Timer | undefined;
  readonly #backoff: Backoff;
  readonly #life = new Lifecycle('fib-sync');
  #idle: (() => void)[] = [];

  constructor(
    readonly fib: FibSync,
    private readonly log: Logger,
    maxBackoffMs = 30_000,
    private readonly clock: Clock = realClock,
  ) {
    this.#backoff = new Backoff({ initial: 500, max: maxBackoffMs, jitter: [1, 1] });
    void this.#life.start();
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
    if (!this.#life.accepting) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    if (this.#timer === undefined) this.#schedule(0);
  }

  #schedule(ms: number): void {
    this.#timer = this.clock.setTimeout(() => void this.#life.track(this.#run()).catch(() => undefined), ms);
  }

  /** Resolves once no apply is running or scheduled (tests, shutdown). */
  async whenIdle(): Promise<void> {
    if (!this.#running && this.#timer === undefined) return;
    await new Promise<void>((r) => this.#idle.push(r));
  }

  /** Stops applying; resolves once an apply in flight has finished. Idempotent. */
  stop(): Promise<void> {
    this.#timer?.cancel();
    this.#timer = undefined;
    return this.#life.stop(() => this.#settle());
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
    if (!this.#life.accepting) return this.#settle();
    if (delay !== undefined) this.#schedule(delay);
    else if (this.#again) this.#schedule(0);
    else this.#settle();
  }

  #settle(): void {
    const w = this.#idle;
    this.#idle = [];
    for (const r of w) r();
  }
}
