import type { Logger } from 'pino';
import type { Datastore, WatchEvent, WatchHandle } from '../../src/datastore/types.js';
import { VersionExpiredError } from '../../src/datastore/types.js';
import type { KindId, Resource } from '../../src/model/kinds.js';

/**
 * ResourceCache keeps an in-memory copy of the kinds the agent reads, fed by one datastore watch per
 * kind, and tells its consumer about every change. It is the boundary between the datastore (I/O,
 * failures, relists) and the calculation graph (pure, synchronous): the graph only ever sees a
 * consistent stream of upserts and removals, and one `inSync` once every kind has delivered its
 * initial state. Nothing is written to the kernel before that (ARCHITECTURE.md §1).
 *
 * Failure handling: a watch that ends with an error (version expired = 410 Gone, backend down) is
 * restarted from scratch after a capped, jittered back-off. The restart delivers the whole current
 * state again; the cache diffs it against what it holds and emits only real changes, including
 * removals of objects that vanished while the watch was down. The cache stays "in sync" across
 * such restarts from the consumer's point of view (the dataplane keeps its last good state).
 */
export interface CacheConsumer {
  upserted(kind: KindId, obj: Resource): void;
  removed(kind: KindId, key: string, last: Resource): void;
  /** Every kind has delivered its initial state (called once). */
  inSync(): void;
}

export interface Scheduler {
  setTimeout(fn: () => void, ms: number): { cancel(): void };
  random(): number;
}

export const realScheduler: Scheduler = {
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
  random: Math.random,
};

export function objectKey(obj: Resource): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name;
}

interface KindState {
  readonly objects: Map<string, Resource>;
  /** Keys seen since the current watch started, until its in-sync: anything else is gone. */
  seenInResync: Set<string> | undefined;
  synced: boolean;
  handle: WatchHandle | undefined;
  failures: number;
  timer: { cancel(): void } | undefined;
}

export class ResourceCache {
  readonly #kinds = new Map<KindId, KindState>();
  #inSyncSent = false;
  #stopped = false;

  constructor(
    private readonly store: Datastore,
    kinds: readonly KindId[],
    private readonly consumer: CacheConsumer,
    private readonly log: Logger,
    private readonly scheduler: Scheduler = realScheduler,
    private readonly backoff = { initialMs: 250, maxMs: 30_000 },
  ) {
    for (const k of kinds) {
      this.#kinds.set(k, { objects: new Map(), seenInResync: undefined, synced: false, handle: undefined, failures: 0, timer: undefined });
    }
  }

  start(): void {
    for (const kind of this.#kinds.keys()) this.#startWatch(kind);
  }

  stop(): void {
    this.#stopped = true;
    for (const s of this.#kinds.values()) {
      s.handle?.stop();
      s.timer?.cancel();
    }
  }

  get isInSync(): boolean {
    return this.#inSyncSent;
  }

  get(kind: KindId, key: string): Resource | undefined {
    return this.#kinds.get(kind)?.objects.get(key);
  }

  list(kind: KindId): Resource[] {
    return [...(this.#kinds.get(kind)?.objects.values() ?? [])];
  }

  /** Per-kind object counts and sync state, for status output. */
  status(): { kind: KindId; objects: number; synced: boolean; failures: number }[] {
    return [...this.#kinds].map(([kind, s]) => ({ kind, objects: s.objects.size, synced: s.synced, failures: s.failures }));
  }

  #startWatch(kind: KindId): void {
    const s = this.#kinds.get(kind)!;
    s.seenInResync = new Set();
    s.handle = this.store.watch(kind, {}, (ev) => this.#onEvent(kind, s, ev));
  }

  #onEvent(kind: KindId, s: KindState, ev: WatchEvent): void {
    if (this.#stopped) return;
    switch (ev.type) {
      case 'added':
      case 'modified': {
        const key = objectKey(ev.object);
        s.seenInResync?.add(key);
        const prev = s.objects.get(key);
        // The same object version again (a relist): nothing changed. The uid counts too: a store whose
        // history was recreated (file index rebuilt) can reuse a version number for other content.
        const m = ev.object.metadata;
        if (prev && prev.metadata.resourceVersion === m.resourceVersion && prev.metadata.uid === m.uid) return;
        s.objects.set(key, ev.object);
        this.consumer.upserted(kind, ev.object);
        return;
      }
      case 'deleted': {
        const key = objectKey(ev.object);
        const prev = s.objects.get(key);
        if (!prev) return;
        s.objects.delete(key);
        this.consumer.removed(kind, key, prev);
        return;
      }
      case 'in-sync': {
        const seen = s.seenInResync;
        s.seenInResync = undefined;
        if (seen) {
          for (const [key, prev] of [...s.objects]) {
            if (!seen.has(key)) {
              s.objects.delete(key);
              this.consumer.removed(kind, key, prev);
            }
          }
        }
        s.failures = 0;
        s.synced = true;
        this.#maybeInSync();
        return;
      }
      case 'error': {
        s.handle?.stop();
        s.handle = undefined;
        s.failures += 1;
        const base = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** Math.min(s.failures - 1, 16));
        const delay = ev.error instanceof VersionExpiredError ? 0 : Math.round(base * (0.5 + this.scheduler.random() / 2));
        this.log.warn({ err: ev.error, kind, failures: s.failures, retryInMs: delay }, 'watch ended; restarting from a fresh list');
        s.timer = this.scheduler.setTimeout(() => {
          s.timer = undefined;
          if (!this.#stopped) this.#startWatch(kind);
        }, delay);
        return;
      }
    }
  }

  #maybeInSync(): void {
    if (this.#inSyncSent) return;
    for (const s of this.#kinds.values()) if (!s.synced) return;
    this.#inSyncSent = true;
    this.consumer.inSync();
  }
}
