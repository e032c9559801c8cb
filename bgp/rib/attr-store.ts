/**
 * AttrStore: interned attribute sets. Every distinct set of path attributes exists once (one copy of
 * its bytes, one parsed RouteAttrs), referenced by a small integer id from the per-path typed arrays
 * and refcounted; a set whose count drops to zero is forgotten (its id reused). Like gobgp's attrsHash
 * and BIRD's rta cache. Two key spaces share the table: received sets keyed by the raw bytes as the
 * peer sent them (tag byte = session flavour), and canonical sets (policy output, originated, export)
 * keyed by `canonicalKey`. Derived best-path fields are computed once per set.
 */
import { canonicalKey, asPathLength, hashBytes, SEG, type RouteAttrs } from './attrs.js';
import { WELL_KNOWN } from '../attrs/index.js';

export interface AttrSet {
  id: number;
  readonly hash: number;
  readonly key: Uint8Array;
  readonly attrs: RouteAttrs;
  refs: number;
  readonly localPref: number | undefined;
  readonly asPathLen: number;
  readonly med: number;
  /** First AS of the path (0 when the path is empty). */
  readonly neighborAs: number;
  readonly noExport: boolean;
  readonly noAdvertise: boolean;
  readonly noExportSubconfed: boolean;
  /** Encoded attribute blocks per flavour (bit 0: 4-octet AS, bit 1: NEXT_HOP attribute). */
  readonly wire: Map<number, Uint8Array>;
  /** Peers (indices) for which this Loc-RIB set's routes were reported too big (Rib.takeUnsendable). */
  unsendableTo: number[] | undefined;
}

export const TAG_CANONICAL = 0xff;

function bytesEqual(a: Uint8Array, aStart: number, b: Uint8Array, bStart: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[aStart + i] !== b[bStart + i]) return false;
  return true;
}

function makeSet(hash: number, key: Uint8Array, attrs: RouteAttrs): AttrSet {
  let neighborAs = 0;
  const first = attrs.asPath[0];
  if (first && first.type === SEG.AS_SEQUENCE && first.asns.length > 0) neighborAs = first.asns[0]!;
  const c = attrs.communities;
  return {
    id: -1,
    hash,
    key,
    attrs,
    refs: 0,
    localPref: attrs.localPref,
    asPathLen: asPathLength(attrs.asPath),
    med: attrs.med ?? 0,
    neighborAs,
    noExport: c.includes(WELL_KNOWN['no-export']),
    noAdvertise: c.includes(WELL_KNOWN['no-advertise']),
    noExportSubconfed: c.includes(WELL_KNOWN['no-export-subconfed']),
    wire: new Map(),
    unsendableTo: undefined,
  };
}

export class AttrStore {
  readonly #byHash = new Map<number, AttrSet | AttrSet[]>();
  readonly #byId: (AttrSet | undefined)[] = [];
  readonly #freeIds: number[] = [];
  /** Called with an id when its set is forgotten (callers drop caches keyed by it). */
  onFree: ((id: number) => void) | undefined;

  get size(): number {
    return this.#byId.length - this.#freeIds.length;
  }

  get(id: number): AttrSet {
    return this.#byId[id]!;
  }

  #find(hash: number, match: (s: AttrSet) => boolean): AttrSet | undefined {
    const e = this.#byHash.get(hash);
    if (e === undefined) return undefined;
    if (!Array.isArray(e)) return match(e) ? e : undefined;
    for (const s of e) if (match(s)) return s;
    return undefined;
  }

  #insert(s: AttrSet): AttrSet {
    s.id = this.#freeIds.length > 0 ? this.#freeIds.pop()! : this.#byId.length;
    this.#byId[s.id] = s;
    const e = this.#byHash.get(s.hash);
    if (e === undefined) this.#byHash.set(s.hash, s);
    else if (Array.isArray(e)) e.push(s);
    else this.#byHash.set(s.hash, [e, s]);
    return s;
  }

  /**
   * A received attribute block. `hash` covers the block minus MP_REACH/MP_UNREACH (see scanAttrs);
   * `keyBytes` (from `rawKey`) are what identifies the set. Parses only on a miss.
   */
  internRaw(
    tag: number,
    hash: number,
    keyBytes: Uint8Array,
    keyStart: number,
    keyEnd: number,
    parse: () => RouteAttrs,
  ): AttrSet {
    const h = (hash ^ Math.imul(tag + 1, 0x9e3779b1)) >>> 0;
    const n = keyEnd - keyStart;
    const hit = this.#find(
      h,
      (s) => s.key.length === n + 1 && s.key[0] === tag && bytesEqual(s.key, 1, keyBytes, keyStart, n),
    );
    if (hit) return hit;
    const key = new Uint8Array(n + 1);
    key[0] = tag;
    key.set(keyBytes.subarray(keyStart, keyEnd), 1);
    return this.#insert(makeSet(h, key, parse()));
  }

  /** An attribute set built in code (policy output, originated, exported). */
  intern(attrs: RouteAttrs): AttrSet {
    const ck = canonicalKey(attrs);
    const h = (hashBytes(0x811c9dc5, ck, 0, ck.length) ^ Math.imul(TAG_CANONICAL + 1, 0x9e3779b1)) >>> 0;
    const hit = this.#find(
      h,
      (s) => s.key.length === ck.length + 1 && s.key[0] === TAG_CANONICAL && bytesEqual(s.key, 1, ck, 0, ck.length),
    );
    if (hit) return hit;
    const key = new Uint8Array(ck.length + 1);
    key[0] = TAG_CANONICAL;
    key.set(ck, 1);
    return this.#insert(makeSet(h, key, attrs));
  }

  /** A cached set may have been forgotten since: return the live equal set (re-inserting if needed). */
  revive(s: AttrSet): AttrSet {
    if (s.id >= 0 && this.#byId[s.id] === s) return s;
    const live = this.#find(
      s.hash,
      (x) => x.key.length === s.key.length && bytesEqual(x.key, 0, s.key, 0, s.key.length),
    );
    return live ?? this.#insert(s);
  }

  /** Forget a set nothing references (e.g. interned for an UPDATE whose routes were all rejected). */
  dropIfUnused(s: AttrSet): void {
    if (s.id >= 0 && s.refs === 0 && this.#byId[s.id] === s) {
      s.refs = 1;
      this.release(s.id);
    }
  }

  acquire(id: number): void {
    this.#byId[id]!.refs++;
  }

  release(id: number): void {
    const s = this.#byId[id]!;
    if (--s.refs > 0) return;
    this.#byId[id] = undefined;
    this.#freeIds.push(id);
    s.id = -1;
    const e = this.#byHash.get(s.hash)!;
    if (!Array.isArray(e)) this.#byHash.delete(s.hash);
    else {
      e.splice(e.indexOf(s), 1);
      if (e.length === 1) this.#byHash.set(s.hash, e[0]!);
    }
    this.onFree?.(id);
  }
}
