/**
 * DeltaTracker: desired versus actual state of one kind of kernel object, keyed by string (Map
 * compares objects by identity; use keys like `${table}|${cidr}`). Reconcilers set what they want,
 * read back what the kernel holds (`replaceActual`, on resync), and apply the pending differences.
 *
 * Incremental like Felix's delta_tracker.go: only keys touched since they were last applied are
 * looked at, so an apply costs O(changes), not O(everything); `replaceActual` marks every key.
 */
export class DeltaTracker<V> {
  readonly #desired = new Map<string, V>();
  readonly #actual = new Map<string, V>();
  readonly #dirty = new Set<string>();

  constructor(private readonly equal: (a: V, b: V) => boolean) {}

  setDesired(k: string, v: V): void {
    this.#desired.set(k, v);
    this.#dirty.add(k);
  }

  deleteDesired(k: string): void {
    if (this.#desired.delete(k) || this.#actual.has(k)) this.#dirty.add(k);
  }

  getDesired(k: string): V | undefined {
    return this.#desired.get(k);
  }

  getActual(k: string): V | undefined {
    return this.#actual.get(k);
  }

  desiredKeys(): IterableIterator<string> {
    return this.#desired.keys();
  }

  get desiredSize(): number {
    return this.#desired.size;
  }

  /** What the kernel holds now (a resync): every key on either side is looked at again. */
  replaceActual(entries: Iterable<readonly [string, V]>): void {
    this.#actual.clear();
    for (const [k, v] of entries) {
      this.#actual.set(k, v);
      this.#dirty.add(k);
    }
    for (const k of this.#desired.keys()) this.#dirty.add(k);
  }

  /** Keys whose desired value differs from (or is missing in) the actual state. */
  *pendingUpdates(): Generator<[string, V]> {
    for (const k of this.#dirty) {
      const v = this.#desired.get(k);
      if (v === undefined) continue;
      const a = this.#actual.get(k);
      if (a === undefined || !this.equal(a, v)) yield [k, v];
    }
  }

  /** Keys the kernel holds (ours) that nobody wants any more. */
  *pendingDeletions(): Generator<[string, V]> {
    for (const k of this.#dirty) {
      if (this.#desired.has(k)) continue;
      const a = this.#actual.get(k);
      if (a !== undefined) yield [k, a];
    }
  }

  get hasPending(): boolean {
    for (const _ of this.pendingUpdates()) return true;
    for (const _ of this.pendingDeletions()) return true;
    return false;
  }

  isPending(k: string): boolean {
    if (!this.#dirty.has(k)) return false;
    const v = this.#desired.get(k);
    const a = this.#actual.get(k);
    if (v === undefined) return a !== undefined;
    return a === undefined || !this.equal(a, v);
  }

  markApplied(k: string, v: V): void {
    this.#actual.set(k, v);
    if (this.#desired.get(k) === v || (this.#desired.has(k) && this.equal(this.#desired.get(k)!, v)))
      this.#dirty.delete(k);
  }

  markDeleted(k: string): void {
    this.#actual.delete(k);
    if (!this.#desired.has(k)) this.#dirty.delete(k);
  }

  /** Looks at `k` again on the next pass (a difference kept deliberately so far). */
  touch(k: string): void {
    if (this.#desired.has(k) || this.#actual.has(k)) this.#dirty.add(k);
  }

  /** Stops looking at `k` until it is set, deleted or read back again (a deliberately kept difference). */
  clearDirty(k: string): void {
    this.#dirty.delete(k);
  }

  /** Drops dirty marks of keys that are in sync (after an apply pass). */
  settle(): void {
    for (const k of this.#dirty) if (!this.isPending(k)) this.#dirty.delete(k);
  }
}
