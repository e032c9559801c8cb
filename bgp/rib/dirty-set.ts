/**
 * DirtySet: the prefixes of one Adj-RIB-Out (peer, family) waiting to be sent, as a byte flag per
 * prefix plus a bounded FIFO. While few prefixes are dirty the FIFO keeps their order and `take` is
 * O(1); once more than QUEUE_MAX are pending (a full table after peer up, a session loss) the rest are
 * found by scanning the flags over the range that overflowed, so the queue never holds a million
 * entries (4 MB per peer) and never grows by copying. Flags grow lazily up to the highest index marked.
 */
import { IntQueue, growTo } from './prefix-table.js';

const QUEUE_MAX = 1 << 15;

export class DirtySet {
  flags = new Uint8Array(0);
  /** Number of dirty prefixes. */
  count = 0;
  readonly #queue = new IntQueue();
  /** Overflow range [lo, hi) still to scan; empty when lo >= hi. */
  #lo = 0;
  #hi = 0;

  /** True when prefix i is dirty. */
  has(i: number): boolean {
    return i < this.flags.length && this.flags[i] !== 0;
  }

  /** Marks prefix i dirty (no-op when it already is). `capacity`: flags grow to it at once. */
  mark(i: number, capacity: number): void {
    if (i >= this.flags.length) this.flags = growTo(this.flags, Math.max(i + 1, capacity));
    if (this.flags[i] !== 0) return;
    this.flags[i] = 1;
    this.count++;
    if (this.#lo >= this.#hi && this.#queue.length < QUEUE_MAX) {
      this.#queue.push(i);
      return;
    }
    if (this.#lo >= this.#hi) {
      this.#lo = i;
      this.#hi = i + 1;
      return;
    }
    if (i < this.#lo) this.#lo = i;
    if (i >= this.#hi) this.#hi = i + 1;
  }

  /** Next dirty prefix (cleared), or -1 when none. Queue first (arrival order), then the overflow range. */
  take(): number {
    if (this.count === 0) return -1;
    const f = this.flags;
    while (this.#queue.length > 0) {
      const i = this.#queue.shift();
      // A queued index may have been taken by the range scan already.
      if (f[i] !== 0) {
        f[i] = 0;
        this.count--;
        return i;
      }
    }
    let i = this.#lo;
    const hi = this.#hi;
    while (i < hi && f[i] === 0) i++;
    if (i >= hi) {
      this.#lo = this.#hi = 0;
      return -1;
    }
    this.#lo = i + 1;
    f[i] = 0;
    this.count--;
    return i;
  }

  /** Bytes held in typed arrays (flags; the queue is at most QUEUE_MAX entries). */
  get bytes(): number {
    return this.flags.byteLength + Math.min(this.#queue.length, QUEUE_MAX) * 4;
  }
}
