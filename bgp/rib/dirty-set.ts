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
  /** Bit i % 32 of word i >>> 5: prefix i is dirty. */
  #bits = new Uint32Array(0);
  /** Number of dirty prefixes. */
  count = 0;
  readonly #queue = new IntQueue();
  /** Overflow range [lo, hi) still to scan; empty when lo >= hi. */
  #lo = 0;
  #hi = 0;

  /** True when prefix i is dirty. */
  has(i: number): boolean {
    const w = i >>> 5;
    return w < this.#bits.length && (this.#bits[w]! & (1 << (i & 31))) !== 0;
  }

  /** Marks prefix i dirty (no-op when it already is). `capacity`: flags grow to it at once. */
  mark(i: number, capacity: number): void {
    const w = i >>> 5,
      bit = 1 << (i & 31);
    if (w >= this.#bits.length) this.#bits = growTo(this.#bits, (Math.max(i + 1, capacity) + 31) >>> 5);
    if ((this.#bits[w]! & bit) !== 0) return;
    this.#bits[w] = this.#bits[w]! | bit;
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
    const b = this.#bits;
    while (this.#queue.length > 0) {
      const i = this.#queue.shift();
      // A queued index may have been taken by the range scan already.
      const w = i >>> 5,
        bit = 1 << (i & 31);
      if ((b[w]! & bit) !== 0) {
        b[w] = b[w]! & ~bit;
        this.count--;
        return i;
      }
    }
    let i = this.#lo;
    const hi = this.#hi;
    while (i < hi) {
      const word = b[i >>> 5]!;
      if (word === 0)
        i = (i | 31) + 1; // skip a clear word
      else if ((word & (1 << (i & 31))) === 0) i++;
      else break;
    }
    if (i >= hi) {
      this.#lo = this.#hi = 0;
      return -1;
    }
    this.#lo = i + 1;
    b[i >>> 5] = b[i >>> 5]! & ~(1 << (i & 31));
    this.count--;
    return i;
  }

  /** Bytes of the flag bits covering the first `prefixes` prefixes (what is resident of them). */
  flagBytes(prefixes: number): number {
    return Math.min(this.#bits.byteLength, ((prefixes + 31) >>> 5) * 4);
  }

  /** Bytes held in typed arrays beyond the flag bits (the queue is at most QUEUE_MAX entries). */
  get queueBytes(): number {
    return Math.min(this.#queue.length, QUEUE_MAX) * 4;
  }
}
