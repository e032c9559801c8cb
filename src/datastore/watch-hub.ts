import type { KindId, Resource } from '../model/index.js';
import { MargayError } from '../errors.js';
import { evaluateSelector, parseK8sLabelSelectorString } from '../selector/index.js';
import type { ListOptions, WatchEvent, WatchHandle, WatchOptions } from './types.js';
import { changesSince, parseRevision, type JournalEntry, type StoreSnapshot } from './store-state.js';
import { VersionExpiredError } from './types.js';

/** A compiled ListOptions: namespace and label selector as predicates. */
export interface ObjectFilter {
  readonly namespace?: string;
  readonly matchLabels: (labels: Readonly<Record<string, string>>) => boolean;
}

/** Compiles list/watch options; a bad label selector throws the selector's typed error. */
export function compileFilter(opts: ListOptions | undefined): ObjectFilter {
  const selector = opts?.labelSelector?.trim() ? parseK8sLabelSelectorString(opts.labelSelector) : undefined;
  return {
    ...(opts?.namespace ? { namespace: opts.namespace } : {}),
    matchLabels: selector ? (labels) => evaluateSelector(selector, labels) : () => true,
  };
}

export function matchesFilter(f: ObjectFilter, obj: Resource): boolean {
  if (f.namespace !== undefined && obj.metadata.namespace !== f.namespace) return false;
  return f.matchLabels(obj.metadata.labels ?? {});
}

/**
 * The event a journal entry means to a watch with this filter, as the Kubernetes API server does it:
 * a modification that makes an object start matching a label selector is 'added', one that makes it
 * stop matching is 'deleted'.
 */
export function eventFor(kind: KindId, f: ObjectFilter, e: JournalEntry): WatchEvent | undefined {
  if (e.kind !== kind) return undefined;
  if (f.namespace !== undefined && e.object.metadata.namespace !== f.namespace) return undefined;
  const now = f.matchLabels(e.object.metadata.labels ?? {});
  if (e.type !== 'modified') return now ? { type: e.type, object: structuredClone(e.object) } : undefined;
  const before = f.matchLabels(e.prevLabels ?? {});
  if (now) return { type: before ? 'modified' : 'added', object: structuredClone(e.object) };
  return before ? { type: 'deleted', object: structuredClone(e.object) } : undefined;
}

export interface Watcher {
  readonly kind: KindId;
  readonly filter: ObjectFilter;
  readonly onEvent: (ev: WatchEvent) => void;
  /** Journal entries up to this revision are already covered by the initial events. */
  fromRev: number;
  started: boolean;
  stopped: boolean;
  readonly queue: WatchEvent[];
  scheduled: boolean;
}

/**
 * Fan-out of journal entries to watch callbacks. Events are queued per watcher and delivered from a
 * microtask, in journal order, never re-entrantly inside the datastore call that caused them. A
 * watcher is created pending (its handle exists at once) and started when its backend has computed
 * its initial events, so no change between the two is lost or doubled.
 */
export class WatchHub {
  readonly #watchers = new Set<Watcher>();

  /** Registers a pending watcher; `start` it with its initial events. */
  create(
    kind: KindId,
    filter: ObjectFilter,
    onEvent: (ev: WatchEvent) => void,
  ): { handle: WatchHandle; watcher: Watcher } {
    const w: Watcher = {
      kind,
      filter,
      onEvent,
      fromRev: 0,
      started: false,
      stopped: false,
      queue: [],
      scheduled: false,
    };
    this.#watchers.add(w);
    const handle: WatchHandle = {
      stop: () => {
        w.stopped = true;
        w.queue.length = 0;
        this.#watchers.delete(w);
      },
    };
    return { handle, watcher: w };
  }

  start(w: Watcher, initial: readonly WatchEvent[], fromRev: number): void {
    if (w.stopped) return;
    w.fromRev = fromRev;
    w.started = true;
    this.#enqueue(w, initial);
  }

  /** Fails one watcher for good: an 'error' event, then nothing more. */
  fail(w: Watcher, error: MargayError): void {
    if (w.stopped) return;
    this.#enqueue(w, [{ type: 'error', error }]);
    w.stopped = true;
    this.#watchers.delete(w);
  }

  failAll(error: MargayError): void {
    for (const w of [...this.#watchers]) this.fail(w, error);
  }

  /** Fails the started watchers that still need changes at or before `rev` (compacted away). */
  failBehind(rev: number, error: MargayError): void {
    for (const w of [...this.#watchers]) if (w.started && w.fromRev < rev) this.fail(w, error);
  }

  /** Number of live watchers. */
  get size(): number {
    return this.#watchers.size;
  }

  publish(entries: readonly JournalEntry[]): void {
    if (entries.length === 0) return;
    for (const w of this.#watchers) {
      if (!w.started) continue;
      const events: WatchEvent[] = [];
      for (const e of entries) {
        if (e.rev <= w.fromRev) continue;
        const ev = eventFor(w.kind, w.filter, e);
        if (ev) events.push(ev);
      }
      w.fromRev = Math.max(w.fromRev, entries[entries.length - 1]!.rev);
      this.#enqueue(w, events);
    }
  }

  stopAll(): void {
    for (const w of [...this.#watchers]) {
      w.stopped = true;
      w.queue.length = 0;
    }
    this.#watchers.clear();
  }

  #enqueue(w: Watcher, events: readonly WatchEvent[]): void {
    if (events.length === 0) return;
    w.queue.push(...events);
    if (w.scheduled) return;
    w.scheduled = true;
    queueMicrotask(() => {
      w.scheduled = false;
      while (w.queue.length > 0) {
        const ev = w.queue.shift()!;
        w.onEvent(ev);
      }
    });
  }
}

/**
 * What a new watch delivers first: without a version (or with "0", which Kubernetes reads as "any
 * version": the current state), every matching object as 'added'; from a version, the journal's
 * changes after it; then 'in-sync'. Or the VersionExpiredError to fail with: a version older than
 * the history, one this store never issued, or one newer than its revision (Kubernetes answers
 * "too large resource version"; resuming from it would silently skip every change up to it).
 */
export function initialWatchEvents(
  snap: StoreSnapshot,
  kind: KindId,
  filter: ObjectFilter,
  resourceVersion: string | undefined,
): { events: WatchEvent[]; fromRev: number } | { error: VersionExpiredError } {
  const inSync: WatchEvent = { type: 'in-sync', resourceVersion: String(snap.revision) };
  if (resourceVersion === undefined || resourceVersion === '0') {
    const events: WatchEvent[] = Object.values(snap.objects)
      .filter((o) => o.kind === kind && matchesFilter(filter, o.object))
      .map((o) => ({ type: 'added', object: structuredClone(o.object) }));
    return { events: [...events, inSync], fromRev: snap.revision };
  }
  const from = parseRevision(resourceVersion);
  if (from !== undefined && from > snap.revision) {
    return {
      error: new VersionExpiredError(
        `resourceVersion ${JSON.stringify(resourceVersion)} is newer than the store's revision ${snap.revision} ` +
          '(from another store, or an index that was recreated): relist',
      ),
    };
  }
  const changes = from === undefined ? 'expired' : changesSince(snap, from);
  if (changes === 'expired') {
    return {
      error: new VersionExpiredError(
        `resourceVersion ${JSON.stringify(resourceVersion)} is too old or unknown ` +
          `(history starts after ${snap.compactedRevision}): relist`,
      ),
    };
  }
  const events = changes.flatMap((e) => eventFor(kind, filter, e) ?? []);
  return { events: [...events, inSync], fromRev: snap.revision };
}

/** Registers a watch on a hub from a snapshot (or fails it), as both in-process backends do. */
export function startWatch(
  hub: WatchHub,
  snap: () => StoreSnapshot,
  kind: KindId,
  opts: WatchOptions,
  onEvent: (ev: WatchEvent) => void,
  defer?: (start: () => void) => void,
): WatchHandle {
  let filter: ObjectFilter;
  try {
    filter = compileFilter(opts);
  } catch (err) {
    if (!(err instanceof MargayError)) throw err;
    const { handle, watcher } = hub.create(kind, { matchLabels: () => false }, onEvent);
    hub.fail(watcher, err); // a bad selector is the watch's error event
    return handle;
  }
  const { handle, watcher } = hub.create(kind, filter, onEvent);
  const start = () => {
    const init = initialWatchEvents(snap(), kind, filter, opts.resourceVersion);
    if ('error' in init) hub.fail(watcher, init.error);
    else hub.start(watcher, init.events, init.fromRev);
  };
  if (defer) defer(start);
  else start();
  return handle;
}
