import type { Clock } from '../../src/runtime/index.js';
import { EndpointWaitError } from './errors.js';

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (e: EndpointWaitError) => void;
}

/** Who waits for which endpoint to be programmed (Dataplane.waitForEndpoint): timeouts, aborts, settling. */
export class EndpointWaiters {
  readonly #waiters = new Map<string, Set<Waiter>>();

  constructor(private readonly clock: Clock) {}

  keys(): string[] {
    return [...this.#waiters.keys()];
  }

  /** Resolves at settle(key); rejects at settle(key, err), on timeout or on abort. */
  wait(key: string, opts: { readonly timeoutMs?: number; readonly signal?: AbortSignal }): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let timer: { cancel(): void } | undefined;
      const onAbort = (): void =>
        done(new EndpointWaitError(key, 'aborted', `waiting for endpoint ${key} was aborted`));
      const w: Waiter = {
        resolve: () => done(undefined),
        reject: (e) => done(e),
      };
      const done = (e: EndpointWaitError | undefined): void => {
        timer?.cancel();
        opts.signal?.removeEventListener('abort', onAbort);
        this.#waiters.get(key)?.delete(w);
        if (this.#waiters.get(key)?.size === 0) this.#waiters.delete(key);
        if (e === undefined) resolve();
        else reject(e);
      };
      if (opts.signal?.aborted) return onAbort();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      if (opts.timeoutMs !== undefined) {
        timer = this.clock.setTimeout(
          () =>
            done(new EndpointWaitError(key, 'timeout', `endpoint ${key} not programmed within ${opts.timeoutMs} ms`)),
          opts.timeoutMs,
        );
      }
      const set = this.#waiters.get(key) ?? new Set<Waiter>();
      set.add(w);
      this.#waiters.set(key, set);
    });
  }

  settle(key: string, err: EndpointWaitError | undefined): void {
    for (const w of [...(this.#waiters.get(key) ?? [])]) {
      if (err === undefined) w.resolve();
      else w.reject(err);
    }
  }
}
