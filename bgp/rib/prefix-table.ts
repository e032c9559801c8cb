/**
 * PrefixTable: prefix → dense index, an open-addressing hash on typed arrays (no per-prefix objects,
 * no string keys). IPv4 keys are one u32 word + length, IPv6 keys four words + length. Indices are
 * dense and stable (0..size-1) so per-prefix state elsewhere lives in parallel typed arrays indexed by
 * them. Entries are never removed: a withdrawn prefix keeps its index (a few bytes) for reuse.
 */
export class PrefixTable {
  readonly words: number;
  /** Key words, `words` per index. */
  keys: Uint32Array;
  lens: Uint8Array;
  size = 0;
  #slots: Int32Array;
  #mask: number;

  constructor(words: 1 | 4, initialCapacity = 1024) {
    this.words = words;
    let cap = 16;
    while (cap < initialCapacity) cap *= 2;
    this.keys = new Uint32Array(cap * words);
    this.lens = new Uint8Array(cap);
    this.#slots = new Int32Array(cap * 2).fill(-1);
    this.#mask = cap * 2 - 1;
  }

  get capacity(): number { return this.lens.length; }

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
    h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35);
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
      h = Math.imul(h ^ v, 0xcc9e2d51); h = (h << 15) | (h >>> 17); h = Math.imul(h, 0x1b873593);
    }
    h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return (h & ~15) | low;
  }

  /** IPv4: index of (addr, len), inserting when absent. */
  intern1(w0: number, len: number): number {
    const slots = this.#slots, keys = this.keys, lens = this.lens, mask = this.#mask;
    let s = PrefixTable.hash1(w0, len) & mask;
    for (;;) {
      const i = slots[s]!;
      if (i < 0) break;
      if (keys[i] === w0 && lens[i] === len) return i;
      s = (s + 1) & mask;
    }
    if (this.size >= this.capacity) { this.#grow(); return this.intern1(w0, len); }
    const i = this.size++;
    this.keys[i] = w0;
    this.lens[i] = len;
    slots[s] = i;
    return i;
  }

  /** IPv4 lookup without insert; -1 when absent. */
  find1(w0: number, len: number): number {
    const slots = this.#slots, keys = this.keys, lens = this.lens, mask = this.#mask;
    let s = PrefixTable.hash1(w0, len) & mask;
    for (;;) {
      const i = slots[s]!;
      if (i < 0) return -1;
      if (keys[i] === w0 && lens[i] === len) return i;
      s = (s + 1) & mask;
    }
  }

  /** IPv6 (or any 4-word key): index of (w[o..o+3], len), inserting when `insert`. */
  lookup4(w: ArrayLike<number>, o: number, len: number, insert: boolean): number {
    const slots = this.#slots, keys = this.keys, lens = this.lens, mask = this.#mask;
    let s = PrefixTable.hash4(w, o, len) & mask;
    for (;;) {
      const i = slots[s]!;
      if (i < 0) break;
      const k = i * 4;
      if (lens[i] === len && keys[k] === w[o] && keys[k + 1] === w[o + 1] && keys[k + 2] === w[o + 2] && keys[k + 3] === w[o + 3]) return i;
      s = (s + 1) & mask;
    }
    if (!insert) return -1;
    if (this.size >= this.capacity) { this.#grow(); return this.lookup4(w, o, len, true); }
    const i = this.size++;
    for (let k = 0; k < 4; k++) this.keys[i * 4 + k] = w[o + k]!;
    this.lens[i] = len;
    slots[s] = i;
    return i;
  }

  /** Words of index i (a view for IPv6, a fresh one-element array for IPv4). */
  keyOf(i: number): Uint32Array {
    return this.keys.subarray(i * this.words, i * this.words + this.words);
  }

  #grow(): void {
    const cap = this.capacity * 2, w = this.words;
    const keys = new Uint32Array(cap * w); keys.set(this.keys); this.keys = keys;
    const lens = new Uint8Array(cap); lens.set(this.lens); this.lens = lens;
    this.#slots = new Int32Array(cap * 2).fill(-1);
    this.#mask = cap * 2 - 1;
    const slots = this.#slots, mask = this.#mask;
    for (let i = 0; i < this.size; i++) {
      let s = (w === 1 ? PrefixTable.hash1(keys[i]!, lens[i]!) : PrefixTable.hash4(keys, i * 4, lens[i]!)) & mask;
      while (slots[s]! >= 0) s = (s + 1) & mask;
      slots[s] = i;
    }
  }
}

/** Grows a typed array to at least n elements (doubling), keeping contents. */
export function growTo<T extends Int32Array | Uint32Array | Uint8Array | Uint16Array | Float64Array>(a: T, n: number, fill?: number): T {
  if (a.length >= n) return a;
  let cap = Math.max(16, a.length);
  while (cap < n) cap *= 2;
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
  get length(): number { return this.#tail - this.#head; }
  push(v: number): void {
    if (this.#tail === this.#a.length) {
      if (this.#head > 0 && this.#head * 2 >= this.#a.length) {
        this.#a.copyWithin(0, this.#head, this.#tail); this.#tail -= this.#head; this.#head = 0;
      } else this.#a = growTo(this.#a, this.#a.length * 2);
    }
    this.#a[this.#tail++] = v;
  }
  shift(): number {
    const v = this.#a[this.#head++]!;
    if (this.#head === this.#tail) { this.#head = 0; this.#tail = 0; }
    return v;
  }
  clear(): void { this.#head = 0; this.#tail = 0; if (this.#a.length > 1 << 16) this.#a = new Int32Array(64); }
}
