/**
 * A datastore backend's service lifecycle: src/runtime's Lifecycle, started when the store opens, with
 * the datastore contract's errors. Operations run as tracked work; close() refuses new ones at once
 * (DatastoreUnavailableError naming the store), waits for those in flight, then releases the backend
 * (sockets, watches, the database handle). Closing twice returns the same promise.
 */
import { Lifecycle } from '../runtime/index.js';
import { DatastoreUnavailableError } from './types.js';

export class StoreLife {
  readonly #life: Lifecycle;

  /** `what` names the store in errors, e.g. `file datastore /var/lib/margay`. */
  constructor(readonly what: string) {
    this.#life = new Lifecycle(what);
    void this.#life.start();
  }

  /** Open: operations are accepted. False from the moment close() is called. */
  get open(): boolean {
    return this.#life.accepting;
  }

  /** Closed and released: nothing may touch the backend's handles any more. */
  get released(): boolean {
    return this.#life.state === 'stopped';
  }

  /** Aborted when close() begins: loops that wait (lock retries, back-off) give up. */
  get signal(): AbortSignal {
    return this.#life.signal;
  }

  /** Throws DatastoreUnavailableError once close() was called. */
  check(): void {
    if (!this.open) throw new DatastoreUnavailableError(`${this.what} is closed`);
  }

  /** Runs one operation as tracked work (close() waits for it); refused once closing. */
  run<T>(op: () => Promise<T>): Promise<T> {
    if (!this.open) return Promise.reject(new DatastoreUnavailableError(`${this.what} is closed`));
    return this.#life.track(op());
  }

  /** Refuses new work, waits for work in flight, then runs `release` once. Idempotent. */
  close(release: () => Promise<void> | void): Promise<void> {
    return this.#life.stop(release);
  }
}
