/**
 * Dynamic neighbours are forgotten with their session, but a max-prefix back-off (RFC 4486) must
 * outlive it: address → until (ms since the epoch; Infinity for `action: shutdown`). Bounded: expired
 * entries are dropped first, then the oldest. Pure (the caller passes the time).
 */
export class DynamicBackoff {
  readonly #until = new Map<string, number>();

  constructor(private readonly max = 4096) {}

  /** The time until which the address is refused, or undefined (an expired entry is dropped). */
  refusedUntil(address: string, now: number): number | undefined {
    const until = this.#until.get(address);
    if (until === undefined) return undefined;
    if (until > now) return until;
    this.#until.delete(address);
    return undefined;
  }

  remember(address: string, until: number, now: number): void {
    for (const [a, u] of this.#until) if (u <= now) this.#until.delete(a);
    this.#until.delete(address);
    while (this.#until.size >= this.max) {
      const oldest = this.#until.keys().next().value;
      if (oldest === undefined) break;
      this.#until.delete(oldest);
    }
    this.#until.set(address, until);
  }

  clear(): void {
    this.#until.clear();
  }

  get size(): number {
    return this.#until.size;
  }
}
