/**
 * PrefixTable: prefix → dense index, an open-addressing hash (linear probing) on typed arrays (no
 * per-prefix objects, no string keys). IPv4 keys are one u32 word + length, IPv6 keys four words +
 * length. Indices are dense and stable (0..size-1, `size` is the high-water mark) so per-prefix state
 * elsewhere lives in parallel typed arrays indexed by them. `remove` frees an index (backward-shift
 * deletion, no tombstones) and the next insert reuses it, so churn does not grow the table; the
 * owner must only remove an index nothing else refers to (Rib.maybeFreePrefix checks that).
 */
import { MargayError } from '../../src/errors.js';

const EMPTY = -1;
const TOMB = -2;
/**
 * A used slot holds index | fingerprint: the index in the low IDX_BITS bits and 6 bits of a second
 * hash of the key above them. The locality hash packs sibling prefixes into full 16-slot groups, so a
 * new key probes ≈17 occupied slots on average at load 1/2; without fingerprints each is a key read
 * (a cache miss when prefixes arrive out of order), with them 1 in 64 is. Limits a family to 2^25
 * (33.5M) prefixes.
 */
const IDX_BITS = 25;
const IDX_MASK = (1 << IDX_BITS) - 1;
const fp1 = (w0: number, len: number): number => (Math.imul((w0 ^ (len << 26)) + len, 0x9e3779b1) >>> 26) << IDX_BITS;
const fp4 = (w: ArrayLike<number>, o: number, len: number): number =>
  (Math.imul(
    Math.imul(w[o]! ^ w[o + 2]!, 0x85ebca6b) ^ w[o + 1]! ^ Math.imul(w[o + 3]!, 0xc2b2ae35) ^ len,
    0x9e3779b1,
  ) >>>
    26) <<
  IDX_BITS;

export class PrefixTableFullError extends MargayError {
  readonly code = 'MGY_BGP_PREFIX_TABLE_FULL';
}

export class PrefixTable {
  readonly words: number;
  /** Key words, `words` per index. */
  keys: Uint32Array;
  lens: Uint8Array;
  /** High-water mark: indices in use are below it (freed ones have `lens` = FREE_LEN). */
  size = 0;
  /** Live entries (size minus freed indices). */
  count = 0;
  #slots: Int32Array;
  #mask: number;
  /** Slots holding TOMB (a removed entry). */
  #tombs = 0;
  /** Freed indices: a stack linked through the first key word of each freed index (-1: empty). */
  #free = -1;

  constructor(words: 1 | 4, initialCapacity = 1024) {
    this.words = words;
    let cap = 16;
    while (cap < initialCapacity) cap *= 2;
    this.keys = new Uint32Array(cap * words);
    this.lens = new Uint8Array(cap);
    this.#slots = new Int32Array(cap * 2).fill(EMPTY);
    this.#mask = cap * 2 - 1;
  }

  get capacity(): number {
    return this.lens.length;
  }

  /**
   * Slot of an IPv4 key. The 4 address bits just above the prefix length (bits 8–11 of a /24, 0–3
   * of a /32) pick the slot within a group of 16; everything else is mixed (murmur3 fmix32) to pick
   * the group. Neighbouring prefixes of one length (how tables arrive: UPDATEs are packed in prefix
   * order) then share a cache line of the slot array, while any other difference still spreads keys.
   */
  static hash1(w0: number, len: number): number {
    const shift = 32 - len;
    const low = len >= 4 ? (w0 >>> shift) & 15 : 0;
    let h = (len >= 4 ? w0 & ~(15 << shift) : w0) ^ Math.imul(len + 1, 0x9e3779b1);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return (h & ~15) | low;
  }

  /** IPv6 keys: like hash1, the 4 bits ending at the prefix length (within their word) pick the slot in a group. */
  static hash4(w: ArrayLike<number>, o: number, len: number): number {
    const k = len > 0 ? (len - 1) >>> 5 : 0;
    const shift = len > 0 ? 31 - ((len - 1) & 31) : 0;
    const low = len > 0 ? (w[o + k]! >>> shift) & 15 : 0;
    const clear = len > 0 ? ~(15 << shift) : -1;
    let h = Math.imul(len + 1, 0x9e3779b1);
    for (let i = 0; i < 4; i++) {
      const v = i === k ? w[o + i]! & clear : w[o + i]!;
      h = Math.imul(h ^ v, 0xcc9e2d51);
      h = (h << 15) | (h >>> 17);
      h = Math.imul(h, 0x1b873593);
    }
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return (h & ~15) | low;
  }

  /** IPv4: index of (addr, len), inserting when absent. */
  intern1(w0: number, len: number): number {
    const slots = this.#slots,
      keys = this.keys,
      lens = this.lens,
      mask = this.#mask,
      fp = fp1(w0, len);
    let s = PrefixTable.hash1(w0, len) & mask,
      tomb = -1;
    for (;;) {
      const v = slots[s]!;
      if (v === EMPTY) break;
      if (v >= 0) {
        if ((v & ~IDX_MASK) === fp) {
          const i = v & IDX_MASK;
          if (keys[i] === w0 && lens[i] === len) return i;
        }
      } else if (tomb < 0) tomb = s;
      s = (s + 1) & mask;
    }
    if (this.#free < 0 && this.size >= this.capacity) this.#grow();
    const i = this.#newIndex();
    this.keys[i] = w0;
    this.lens[i] = len;
    this.#place(tomb, s, fp | i);
    return i;
  }

  /** IPv4 lookup without insert; -1 when absent. */
  find1(w0: number, len: number): number {
    const slots = this.#slots,
      keys = this.keys,
      lens = this.lens,
      mask = this.#mask,
      fp = fp1(w0, len);
    let s = PrefixTable.hash1(w0, len) & mask;
    for (;;) {
      const v = slots[s]!;
      if (v === EMPTY) return -1;
      if (v >= 0 && (v & ~IDX_MASK) === fp) {
        const i = v & IDX_MASK;
        if (keys[i] === w0 && lens[i] === len) return i;
      }
      s = (s + 1) & mask;
    }
  }

  /** IPv6 (or any 4-word key): index of (w[o..o+3], len), inserting when `insert`. */
  lookup4(w: ArrayLike<number>, o: number, len: number, insert: boolean): number {
    const slots = this.#slots,
      keys = this.keys,
      lens = this.lens,
      mask = this.#mask,
      fp = fp4(w, o, len);
    let s = PrefixTable.hash4(w, o, len) & mask,
      tomb = -1;
    for (;;) {
      const v = slots[s]!;
      if (v === EMPTY) break;
      if (v < 0) {
        if (tomb < 0) tomb = s;
        s = (s + 1) & mask;
        continue;
      }
      if ((v & ~IDX_MASK) !== fp) {
        s = (s + 1) & mask;
        continue;
      }
      const i = v & IDX_MASK,
        k = i * 4;
      if (
        lens[i] === len &&
        keys[k] === w[o] &&
        keys[k + 1] === w[o + 1] &&
        keys[k + 2] === w[o + 2] &&
        keys[k + 3] === w[o + 3]
      )
        return i;
      s = (s + 1) & mask;
    }
    if (!insert) return -1;
    if (this.#free < 0 && this.size >= this.capacity) this.#grow();
    const i = this.#newIndex();
    for (let k = 0; k < 4; k++) this.keys[i * 4 + k] = w[o + k]!;
    this.lens[i] = len;
    this.#place(tomb, s, fp | i);
    return i;
  }

  /**
   * Puts slot value v (index | fingerprint) at the first tombstone of its probe run if there was one, else at empty slot s. When
   * live entries plus tombstones pass half the slots, rehashes: to twice the slots if live entries
   * alone fill 3/8, else at the same size to drop tombstones (so load stays ≤ 1/2 and probes end at an
   * empty slot). Removals alone never rehash: a peer going down stays sliceable.
   */
  #place(tomb: number, s: number, v: number): void {
    if (tomb >= 0) {
      this.#slots[tomb] = v;
      this.#tombs--;
      return;
    }
    const slots = this.#slots,
      n = slots.length;
    slots[s] = v;
    if ((this.count + this.#tombs) * 2 > n) this.#rehash(this.count * 8 > n * 3 ? n * 2 : n);
  }

  #newIndex(): number {
    this.count++;
    const i = this.#free;
    if (i < 0) return this.size++;
    this.#free = this.keys[i * this.words]! | 0;
    return i;
  }

  /** Home slot of index i's key. */
  #home(i: number): number {
    return (
      (this.words === 1
        ? PrefixTable.hash1(this.keys[i]!, this.lens[i]!)
        : PrefixTable.hash4(this.keys, i * 4, this.lens[i]!)) & this.#mask
    );
  }

  /** Slot value of index i: the index with its key's fingerprint. */
  #slotValue(i: number): number {
    return (this.words === 1 ? fp1(this.keys[i]!, this.lens[i]!) : fp4(this.keys, i * 4, this.lens[i]!)) | i;
  }

  /** True when index i holds a live prefix. */
  isLive(i: number): boolean {
    return i < this.size && this.lens[i] !== FREE_LEN;
  }

  /**
   * Frees index i (live, and referenced by nothing else); a later insert reuses it. The slot becomes a
   * tombstone (backward-shift deletion would read the key of every later entry of the probe run: a
   * cache miss each when prefixes arrived out of order); tombstones are reused by inserts and dropped
   * by the next rehash (see #place).
   */
  remove(i: number): void {
    const slots = this.#slots,
      mask = this.#mask;
    const v = this.#slotValue(i);
    let s = this.#home(i);
    while (slots[s] !== v) s = (s + 1) & mask;
    slots[s] = TOMB;
    this.lens[i] = FREE_LEN;
    this.keys[i * this.words] = this.#free;
    this.#free = i;
    this.count--;
    this.#tombs++;
  }

  /**
   * Resident bytes: the slot array plus keys and lengths up to the high-water mark (the rest of a
   * reserved array is untouched zero pages, see growTo).
   */
  get bytes(): number {
    return this.size * (this.words * 4 + 1) + this.#slots.byteLength;
  }

  /** Words of index i (a view for IPv6, a fresh one-element array for IPv4). */
  keyOf(i: number): Uint32Array {
    return this.keys.subarray(i * this.words, i * this.words + this.words);
  }

  /** More room for keys (the slot array grows on its own, see #place). */
  #grow(): void {
    if (this.size + 1 > IDX_MASK + 1)
      throw new PrefixTableFullError(`more than ${IDX_MASK + 1} prefixes in one address family`);
    this.lens = growTo(this.lens, this.size + 1);
    this.keys = growTo(this.keys, this.lens.length * this.words);
  }

  /**
   * New slot array of n slots (tombstones dropped), filled in old slot order, not index order: an old
   * slot's entries land near slot s or s + old length, so the rehash writes sequentially even when
   * prefixes arrived in random order (index order would touch a random slot per entry). The old array
   * is released at once (ArrayBuffer transfer(0) frees its memory): left to V8, the old arrays (4 MB
   * at 500k prefixes) stayed resident until its next full GC, which during an ingest did not come.
   */
  #rehash(n: number): void {
    const old = this.#slots;
    this.#slots = new Int32Array(n).fill(EMPTY);
    this.#mask = n - 1;
    this.#tombs = 0;
    const slots = this.#slots,
      mask = this.#mask;
    for (let s = 0; s < old.length; s++) {
      const v = old[s]!;
      if (v < 0) continue;
      let t = this.#home(v & IDX_MASK);
      while (slots[t] !== EMPTY) t = (t + 1) & mask;
      slots[t] = v;
    }
    release(old);
  }
}

/**
 * Frees a typed array's memory now (its buffer is detached: transfer(0)), instead of when V8 next
 * collects it. Only for arrays nothing else refers to.
 */
export function release(a: Int32Array | Uint32Array | Uint8Array | Uint16Array | Float64Array): void {
  (a.buffer as ArrayBuffer & { transfer(length: number): ArrayBuffer }).transfer(0);
}

/** `lens` value of a freed index (no prefix is 255 bits long). */
export const FREE_LEN = 255;

/** Arrays growing past RESERVE_FROM elements jump to RESERVE elements at once (see growTo). */
export const RESERVE_FROM = 1 << 11;
export const RESERVE = 1 << 22;

/**
 * Grows a typed array to at least n elements (doubling), keeping contents. Without `fill`, an array
 * passing RESERVE_FROM elements is reallocated once at RESERVE (4M) elements: a zeroed allocation that
 * large is fresh anonymous memory (glibc mmap) whose pages become resident only when written, so the
 * RIB pays in RSS only for what it uses, and a table growing to a full Internet table copies nothing
 * more and leaves no doubled-then-garbage arrays behind (they were 20+ MB at 1M prefixes, alive until
 * V8's next full GC). The jump comes early (2K elements, not 64K as before): each doubling copied into
 * fresh pages, and a first touch of a page is what costs here (a minor fault is 25–170 µs on the
 * benchmark VM; 100k-prefix ingest: ≈ 1000 of margay-bgpd's ≈ 4400 faults were these copies).
 * Virtual size is no cost: tables of ≤ 2K prefixes stay small, bigger ones reserve 4M elements per
 * array, of which only the pages written become resident. With `fill` the new part is written, so no
 * reserve.
 */
export function growTo<T extends Int32Array | Uint32Array | Uint8Array | Uint16Array | Float64Array>(
  a: T,
  n: number,
  fill?: number,
): T {
  if (a.length >= n) return a;
  let cap = Math.max(16, a.length);
  while (cap < n) cap *= 2;
  if (fill === undefined && cap >= RESERVE_FROM && cap < RESERVE) cap = RESERVE;
  const b = new (a.constructor as new (n: number) => T)(cap);
  b.set(a);
  if (fill !== undefined) b.fill(fill, a.length);
  return b;
}

/** A growable FIFO of int32 (dirty queues). */
export class IntQueue {
  #a = new Int32Array(64);
  #head = 0;
  #tail = 0;
  get length(): number {
    return this.#tail - this.#head;
  }
  get bytes(): number {
    return this.#a.byteLength;
  }
  push(v: number): void {
    if (this.#tail === this.#a.length) {
      if (this.#head > 0 && this.#head * 2 >= this.#a.length) {
        this.#a.copyWithin(0, this.#head, this.#tail);
        this.#tail -= this.#head;
        this.#head = 0;
      } else {
        const old = this.#a;
        this.#a = growTo(old, old.length * 2);
        release(old);
      }
    }
    this.#a[this.#tail++] = v;
  }
  shift(): number {
    const v = this.#a[this.#head++]!;
    if (this.#head === this.#tail) {
      this.#head = 0;
      this.#tail = 0;
    }
    return v;
  }
  clear(): void {
    this.#head = 0;
    this.#tail = 0;
    if (this.#a.length > 1 << 16) {
      release(this.#a);
      this.#a = new Int32Array(64);
    }
  }
}
