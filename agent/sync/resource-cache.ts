import type { Logger } from 'pino';
import type { Datastore, WatchEvent, WatchHandle } from '../../src/datastore/index.js';
import { VersionExpiredError } from '../../src/datastore/index.js';
import type { KindId, Resource } from '../../src/model/index.js';
import type { ResourceOf } from '../../src/model/index.js';
import {
  Backoff,
  type BackoffPolicy,
  type Clock,
  Lifecycle,
  realClock,
  type Service,
  type Timer,
} from '../../src/runtime/index.js';
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
/**
 * What a consumer receives: the kind and the object typed for that kind. The arguments are a
 * union of tuples keyed by kind, so `switch (kind)` narrows `obj` and no consumer ever casts:
 *
 *   upserted: (kind, obj) => { if (kind === 'IPPool') use(obj.spec.cidr); }
 *
 * (A callback must declare every parameter of the tuple, `(kind, key, _last)`, for TypeScript to
 * accept it against a union of tuples.)
 */
export type UpsertArgs<K extends KindId> = { [k in K]: [kind: k, obj: ResourceOf<k>] }[K];
export type RemoveArgs<K extends KindId> = { [k in K]: [kind: k, key: string, last: ResourceOf<k>] }[K];

/** Return values are ignored (typed `unknown` so expression-bodied arrows fit). */
export interface CacheConsumer<K extends KindId = KindId> {
  upserted(...args: UpsertArgs<K>): unknown;
  removed(...args: RemoveArgs<K>): unknown;
  /** Every kind has delivered its initial state (called once). */
  inSync(): void;
}

export interface ResourceCacheOptions {
  readonly clock?: Clock;
  /** Random source for back-off jitter, in [0, 1). */
  readonly random?: () => number;
  /** Watch restart back-off in milliseconds (default 250 ms doubling to 30 s, jitter [0.5, 1]). */
  readonly backoff?: BackoffPolicy;
}

export const WATCH_BACKOFF: BackoffPolicy = Object.freeze({ initial: 250, max: 30_000, jitter: [0.5, 1] as const });

export function objectKey(obj: Resource): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name;
}

/** The consumer as the cache calls it internally (kind and object not yet correlated by type). */
interface UntypedConsumer {
  upserted(kind: KindId, obj: Resource): void;
  removed(kind: KindId, key: string, last: Resource): void;
  inSync(): void;
}

interface KindState {
  readonly objects: Map<string, Resource>;
  /** Keys seen since the current watch started, until its in-sync: anything else is gone. */
  seenInResync: Set<string> | undefined;
  synced: boolean;
  handle: WatchHandle | undefined;
  readonly backoff: Backoff;
  timer: Timer | undefined;
}

export class ResourceCache<K extends KindId = KindId> implements Service {
  readonly name = 'resource-cache';
  readonly #kinds = new Map<K, KindState>();
  readonly #life = new Lifecycle(this.name);
  readonly #clock: Clock;
  readonly #consumer: UntypedConsumer;
  #inSyncSent = false;

  constructor(
    private readonly store: Datastore,
    kinds: readonly K[],
    consumer: CacheConsumer<K>,
    private readonly log: Logger,
    opts: ResourceCacheOptions = {},
  ) {
    this.#clock = opts.clock ?? realClock;
    // The datastore validated every object it delivers (its contract), so an object under kind k is a
    // ResourceOf<k>: this is the one place that relies on it, and consumers get the typed union.
    this.#consumer = consumer as unknown as UntypedConsumer;
    for (const k of kinds) {
      const backoff = new Backoff(opts.backoff ?? WATCH_BACKOFF, opts.random ?? Math.random);
      this.#kinds.set(k, {
        objects: new Map(),
        seenInResync: undefined,
        synced: false,
        handle: undefined,
        backoff,
        timer: undefined,
      });
    }
  }

  /** Opens one watch per kind. Idempotent. */
  start(): Promise<void> {
    return this.#life.start(() => {
      for (const kind of this.#kinds.keys()) this.#startWatch(kind);
    });
  }

  /** Closes the watches and cancels pending restarts; the last known state stays readable. Idempotent. */
  stop(): Promise<void> {
    return this.#life.stop(() => {
      for (const s of this.#kinds.values()) {
        s.handle?.stop();
        s.timer?.cancel();
      }
    });
  }

  get isInSync(): boolean {
    return this.#inSyncSent;
  }

  get<k extends K>(kind: k, key: string): ResourceOf<k> | undefined {
    return this.#kinds.get(kind)?.objects.get(key) as ResourceOf<k> | undefined;
  }

  list<k extends K>(kind: k): ResourceOf<k>[] {
    return [...(this.#kinds.get(kind)?.objects.values() ?? [])] as ResourceOf<k>[];
  }

  /** Per-kind object counts and sync state, for status output. */
  status(): { kind: K; objects: number; synced: boolean; failures: number }[] {
    return [...this.#kinds].map(([kind, s]) => ({
      kind,
      objects: s.objects.size,
      synced: s.synced,
      failures: s.backoff.attempt,
    }));
  }

  #startWatch(kind: K): void {
    const s = this.#kinds.get(kind)!;
    s.seenInResync = new Set();
    s.handle = this.store.watch(kind, {}, (ev) => this.#onEvent(kind, s, ev));
  }

  #onEvent(kind: K, s: KindState, ev: WatchEvent): void {
    if (!this.#life.accepting) return;
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
        this.#consumer.upserted(kind, ev.object);
        return;
      }
      case 'deleted': {
        const key = objectKey(ev.object);
        const prev = s.objects.get(key);
        if (!prev) return;
        s.objects.delete(key);
        this.#consumer.removed(kind, key, prev);
        return;
      }
      case 'in-sync': {
        const seen = s.seenInResync;
        s.seenInResync = undefined;
        if (seen) {
          for (const [key, prev] of [...s.objects]) {
            if (!seen.has(key)) {
              s.objects.delete(key);
              this.#consumer.removed(kind, key, prev);
            }
          }
        }
        s.backoff.reset();
        s.synced = true;
        this.#maybeInSync();
        return;
      }
      case 'error': {
        s.handle?.stop();
        s.handle = undefined;
        const wait = s.backoff.next();
        const delay = ev.error instanceof VersionExpiredError ? 0 : wait;
        this.log.warn(
          { err: ev.error, kind, failures: s.backoff.attempt, retryInMs: delay },
          'watch ended; restarting from a fresh list',
        );
        s.timer = this.#clock.setTimeout(() => {
          s.timer = undefined;
          if (this.#life.accepting) this.#startWatch(kind);
        }, delay);
        return;
      }
    }
  }

  #maybeInSync(): void {
    if (this.#inSyncSent) return;
    for (const s of this.#kinds.values()) if (!s.synced) return;
    this.#inSyncSent = true;
    this.#consumer.inSync();
  }
}
