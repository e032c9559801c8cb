import type { MargayError } from '../../errors.js';

/**
 * Shared by the Fake* adapters: records every operation as a string (`replace 10.0.0.0/26`) and
 * throws an injected error on the next operation, or on the next one matching a pattern.
 */
export class FailureInjector {
  readonly ops: string[] = [];
  readonly #pending: { readonly match: RegExp | undefined; readonly err: MargayError }[] = [];

  /** The next operation (or the next whose description matches `match`) throws `err`. */
  failNext(err: MargayError, match?: RegExp): void {
    this.#pending.push({ match, err });
  }

  /** Records `op`, then throws if a failure was injected for it. */
  record(op: string): void {
    this.ops.push(op);
    const i = this.#pending.findIndex((p) => p.match === undefined || p.match.test(op));
    if (i < 0) return;
    const [hit] = this.#pending.splice(i, 1);
    throw hit!.err;
  }
}
