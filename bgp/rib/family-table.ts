/**
 * FamilyTable: all routing state of one address family in parallel typed arrays.
 *   prefixes         PrefixTable (prefix → dense index)
 *   head[p]          first path of prefix p (-1: none), paths linked through path.next
 *   best path        kept first in its prefix's list with PATH_BEST set (bestOf(p); no best[] array:
 *                    4 bytes per prefix saved), reason[p] the BestPathReason index
 *   path pool        peer, pathId (allocated only once an ADD-PATH id ≠ 0 arrives), inAttr (pre-policy
 *                    set; allocated only once a path's pre- and post-policy sets differ, read through
 *                    inAttrOf), attr (post-policy set, -1 = rejected), next (stored + 1, read through nextOf),
 *                    prefix, flags (stale), seq
 *                    (arrival order, only for oldest-path)
 *   fib queue        prefixes whose best/multipath set changed, for the best-path change stream
 * Adj-RIB-In of a peer is the set of pool paths with that peer; keeping pre-policy sets makes import
 * policy re-application possible without a route refresh (soft reconfiguration for 4 bytes per path).
 */
import { IntQueue, PrefixTable, growTo, release } from './prefix-table.js';
import type { Family } from './types.js';

export const PATH_STALE = 1;
/** The Loc-RIB best path of its prefix (always the head of the prefix's list). */
export const PATH_BEST = 2;

export class FamilyTable {
  readonly prefixes: PrefixTable;
  head: Int32Array;
  reason: Uint8Array;
  /** 1: queued in fibQueue. 2: a best path was last reported (so a later 'none' must be reported). */
  fibState: Uint8Array;
  readonly fibQueue = new IntQueue();

  /**
   * Peer index per path. 8-bit while every peer index is below 255 (a free path's 0xffff then reads
   * 0xff, still no peer's): 1 byte per path instead of 2 (0.5 MB at 500k paths); widened to 16-bit in
   * place by the first path from a peer index ≥ 255.
   */
  pathPeer: Uint8Array | Uint16Array = new Uint8Array(1024);
  /** ADD-PATH ids; empty while every id is 0 (no ADD-PATH): read through pathIdOf. */
  pathId = new Uint32Array(0);
  /**
   * Pre-policy sets; empty while every path's pre-policy set is its post-policy set (no import policy
   * or rule changed anything: eBGP routes without LOCAL_PREF, accepted as received), which saves 4 bytes
   * per path (2 MB at 500k routes). Read through inAttrOf, written through setAttrs / setAttr.
   */
  pathInAttr = new Int32Array(0);
  pathAttr = new Int32Array(1024);
  /**
   * Next path of the same prefix (or of the free list) plus one; 0 ends the list. Stored + 1 so that
   * the last path of a list, which every single-path prefix's path is, reads 0 from a page never
   * written: allocPath then writes nothing, and those pages stay untouched (not resident: 4 bytes per
   * path, 2 MB at 500k single-path prefixes). Read through nextOf.
   */
  pathNext1 = new Int32Array(1024);
  pathPrefix = new Int32Array(1024);
  pathFlags = new Uint8Array(1024);
  /** Arrival order, kept only when `trackAge` (oldest-path tie-break): 4 bytes per path otherwise saved. */
  pathSeq: Uint32Array;
  #pathTop = 0;
  /** head[] is initialised (-1) below this prefix index. */
  #headInit = 0;
  #freePath = -1;
  pathCount = 0;
  #seq = 0;

  constructor(
    readonly family: Family,
    initialPrefixes = 1024,
    readonly trackAge = false,
  ) {
    this.pathSeq = new Uint32Array(trackAge ? 1024 : 0);
    this.prefixes = new PrefixTable(family === 'ipv4' ? 1 : 4, initialPrefixes);
    const n = this.prefixes.capacity;
    this.head = new Int32Array(n);
    this.reason = new Uint8Array(n);
    this.fibState = new Uint8Array(n);
  }

  /**
   * Keeps per-prefix arrays as large as the prefix table after an insert, and sets head = -1 for new
   * indices as they appear (not for the whole array: reserved capacity stays untouched, see growTo).
   */
  syncCapacity(): void {
    const n = this.prefixes.capacity;
    if (this.head.length < n) {
      this.head = growTo(this.head, n);
      this.reason = growTo(this.reason, n);
      this.fibState = growTo(this.fibState, n);
    }
    const size = this.prefixes.size,
      head = this.head;
    while (this.#headInit < size) head[this.#headInit++] = -1;
  }

  /** Loc-RIB best path of prefix p, -1 for none. */
  bestOf(p: number): number {
    const h = this.head[p]!;
    return h >= 0 && (this.pathFlags[h]! & PATH_BEST) !== 0 ? h : -1;
  }

  /** Makes q (a path of prefix p, or -1) the best path: flagged and moved to the head of the list. */
  setBest(p: number, q: number): void {
    const h = this.head[p]!,
      flags = this.pathFlags;
    if (h >= 0) flags[h] = flags[h]! & ~PATH_BEST;
    if (q < 0) return;
    flags[q] = flags[q]! | PATH_BEST;
    if (h === q) return;
    const next = this.pathNext1;
    let r = h;
    while (next[r]! - 1 !== q) r = next[r]! - 1;
    next[r] = next[q]!;
    next[q] = h + 1;
    this.head[p] = q;
  }

  /** The path after q in its prefix's list, -1 at the end. */
  nextOf(q: number): number {
    return this.pathNext1[q]! - 1;
  }

  /** Sets q's successor (encoded value v = successor + 1); a 0 over a 0 is not written (see pathNext1). */
  #setNext1(q: number, v: number): void {
    if (v !== 0 || this.pathNext1[q] !== 0) this.pathNext1[q] = v;
  }

  /** Pre-policy attribute set of path q. */
  inAttrOf(q: number): number {
    return q < this.pathInAttr.length ? this.pathInAttr[q]! : this.pathAttr[q]!;
  }

  /** Sets both attribute sets of path q (pre-policy `inAttr`, post-policy `attr`, -1 = rejected). */
  setAttrs(q: number, inAttr: number, attr: number): void {
    if (this.pathInAttr.length === 0) {
      if (inAttr === attr) {
        this.pathAttr[q] = attr;
        return;
      }
      this.#materializeInAttr();
    }
    this.pathInAttr[q] = inAttr;
    this.pathAttr[q] = attr;
  }

  /** Sets the post-policy set of path q, keeping its pre-policy set (policy re-applied). */
  setAttr(q: number, attr: number): void {
    if (this.pathInAttr.length === 0 && attr !== this.pathAttr[q]) this.#materializeInAttr();
    this.pathAttr[q] = attr;
  }

  /** From now on pre-policy sets are stored: a copy of the post-policy ones, which they equalled. */
  #materializeInAttr(): void {
    const a = new Int32Array(this.pathAttr.length);
    a.set(this.pathAttr.subarray(0, this.#pathTop));
    this.pathInAttr = a;
  }

  pathIdOf(q: number): number {
    return q < this.pathId.length ? this.pathId[q]! : 0;
  }

  /** Index of the path of (peer, pathId) under prefix p, or -1. */
  findPath(p: number, peer: number, pid: number): number {
    const peers = this.pathPeer,
      next = this.pathNext1;
    for (let q = this.head[p]!; q >= 0; q = next[q]! - 1) if (peers[q] === peer && this.pathIdOf(q) === pid) return q;
    return -1;
  }

  allocPath(p: number, peer: number, pid: number, inAttr: number, attr: number): number {
    let q = this.#freePath;
    if (q >= 0) this.#freePath = this.pathNext1[q]! - 1;
    else {
      q = this.#pathTop++;
      if (q >= this.pathPeer.length) this.#growPaths(q + 1);
    }
    if (peer >= 0xff && this.pathPeer instanceof Uint8Array) this.#widenPeers();
    this.pathPeer[q] = peer;
    if (pid !== 0 && this.pathId.length < this.pathPeer.length) this.pathId = growTo(this.pathId, this.pathPeer.length);
    if (this.pathId.length > 0) this.pathId[q] = pid;
    this.setAttrs(q, inAttr, attr);
    this.pathPrefix[q] = p;
    if (this.pathFlags[q] !== 0) this.pathFlags[q] = 0;
    if (this.trackAge) this.pathSeq[q] = ++this.#seq;
    const h = this.head[p]!;
    // The best path stays first: a new path goes right after it.
    if (h >= 0 && (this.pathFlags[h]! & PATH_BEST) !== 0) {
      this.#setNext1(q, this.pathNext1[h]!);
      this.pathNext1[h] = q + 1;
    } else {
      this.#setNext1(q, h + 1);
      this.head[p] = q;
    }
    this.pathCount++;
    return q;
  }

  /** Unlinks and frees path q (caller releases its attribute references). */
  freePath(q: number): void {
    const p = this.pathPrefix[q]!;
    const next = this.pathNext1;
    if (this.head[p] === q) this.head[p] = next[q]! - 1;
    else {
      let r = this.head[p]!;
      while (next[r]! - 1 !== q) r = next[r]! - 1;
      next[r] = next[q]!;
    }
    this.pathPeer[q] = 0xffff;
    this.pathPrefix[q] = -1;
    next[q] = this.#freePath + 1;
    this.#freePath = q;
    this.pathCount--;
  }

  /** Number of pool slots ever used (iterate 0..pathTop and skip pathPrefix < 0). */
  get pathTop(): number {
    return this.#pathTop;
  }

  touchSeq(q: number): void {
    if (this.trackAge) this.pathSeq[q] = ++this.#seq;
  }

  queueFib(p: number): void {
    if ((this.fibState[p]! & 1) !== 0) return;
    this.fibState[p] = this.fibState[p]! | 1;
    this.fibQueue.push(p);
  }

  /** Resident bytes of the typed arrays: per prefix and per path up to their high-water marks. */
  get bytes(): number {
    const perPath =
      13 +
      this.pathPeer.BYTES_PER_ELEMENT +
      (this.pathInAttr.length > 0 ? 4 : 0) +
      (this.pathId.length > 0 ? 4 : 0) +
      (this.trackAge ? 4 : 0);
    return this.prefixes.bytes + this.prefixes.size * 6 + this.#pathTop * perPath + this.fibQueue.bytes;
  }

  #widenPeers(): void {
    const narrow = this.pathPeer,
      wide = new Uint16Array(narrow.length);
    for (let q = 0; q < this.#pathTop; q++) {
      const v = narrow[q]!;
      wide[q] = v === 0xff ? 0xffff : v;
    }
    release(narrow);
    this.pathPeer = wide;
  }

  #growPaths(n: number): void {
    this.pathPeer = growTo(this.pathPeer, n);
    if (this.pathId.length > 0) this.pathId = growTo(this.pathId, n);
    if (this.pathInAttr.length > 0) this.pathInAttr = growTo(this.pathInAttr, n);
    this.pathAttr = growTo(this.pathAttr, n);
    this.pathNext1 = growTo(this.pathNext1, n);
    this.pathPrefix = growTo(this.pathPrefix, n);
    this.pathFlags = growTo(this.pathFlags, n);
    if (this.trackAge) this.pathSeq = growTo(this.pathSeq, n);
  }
}
