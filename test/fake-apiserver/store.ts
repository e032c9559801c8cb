/**
 * The fake API server's storage: an etcd-like store with one global, monotonically increasing revision
 * (every write gets the next one and it becomes the object's metadata.resourceVersion), a bounded
 * history of change events that watches resume from, and synchronous fan-out to open watches so
 * events reach every watcher in revision order.
 *
 * Watching from a revision older than the retained history is impossible (the caller answers 410
 * Expired); `compact()` drops all history, as etcd compaction does.
 */
import type { ResourceDef } from './resources.js';

export type StoredObject = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: Record<string, unknown> & { name: string; namespace?: string; resourceVersion: string };
};

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  readonly rv: number;
  readonly type: EventType;
  readonly resource: string;
  /** The object after the change (for DELETED: the last state, stamped with the deletion revision). */
  readonly object: StoredObject;
  /** The object before the change (MODIFIED, DELETED). */
  readonly previous?: StoredObject;
}

export type EventListener = (ev: StoreEvent) => void;

export function resourceKey(def: Pick<ResourceDef, 'group' | 'plural'>): string {
  return `${def.group}/${def.plural}`;
}

function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

export class FakeStore {
  #rv = 1;
  /** Watching from a revision below this is impossible (410). */
  #compactedRv = 0;
  readonly #objects = new Map<string, Map<string, StoredObject>>();
  readonly #history: StoreEvent[] = [];
  readonly #listeners = new Set<EventListener>();

  constructor(private readonly historyLimit: number) {}

  get revision(): number {
    return this.#rv;
  }

  get compactedRevision(): number {
    return this.#compactedRv;
  }

  get(def: ResourceDef, namespace: string | undefined, name: string): StoredObject | undefined {
    return this.#bucket(def).get(objectKey(namespace, name));
  }

  /** Objects of one resource, optionally in one namespace, sorted by namespace then name. */
  list(def: ResourceDef, namespace?: string): StoredObject[] {
    const out = [...this.#bucket(def).values()].filter(
      (o) => namespace === undefined || o.metadata.namespace === namespace,
    );
    return out.sort((a, b) =>
      objectKey(a.metadata.namespace, a.metadata.name).localeCompare(objectKey(b.metadata.namespace, b.metadata.name)),
    );
  }

  /** Stores a new or changed object under the next revision and notifies watchers. */
  put(def: ResourceDef, obj: StoredObject): StoredObject {
    const key = objectKey(obj.metadata.namespace, obj.metadata.name);
    const previous = this.#bucket(def).get(key);
    const rv = ++this.#rv;
    const stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv) } } as StoredObject;
    this.#bucket(def).set(key, stored);
    this.#record({ rv, type: previous ? 'MODIFIED' : 'ADDED', resource: resourceKey(def), object: stored, previous });
    return stored;
  }

  remove(def: ResourceDef, namespace: string | undefined, name: string): StoredObject | undefined {
    const key = objectKey(namespace, name);
    const previous = this.#bucket(def).get(key);
    if (!previous) return undefined;
    this.#bucket(def).delete(key);
    const rv = ++this.#rv;
    const last = { ...previous, metadata: { ...previous.metadata, resourceVersion: String(rv) } } as StoredObject;
    this.#record({ rv, type: 'DELETED', resource: resourceKey(def), object: last, previous });
    return last;
  }

  /** Removes every object of a resource (its CRD was deleted). */
  drop(def: ResourceDef): void {
    for (const o of this.list(def)) this.remove(def, o.metadata.namespace, o.metadata.name);
  }

  /**
   * Events of one resource after `rv`, or undefined when history no longer reaches back that far.
   */
  eventsAfter(resource: string, rv: number): StoreEvent[] | undefined {
    if (rv < this.#compactedRv) return undefined;
    return this.#history.filter((e) => e.rv > rv && e.resource === resource);
  }

  /** Forgets all history: a watch from any revision before now gets 410 Expired. */
  compact(): void {
    this.#history.length = 0;
    this.#compactedRv = this.#rv;
  }

  subscribe(l: EventListener): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  #record(ev: StoreEvent): void {
    this.#history.push(ev);
    while (this.#history.length > this.historyLimit) {
      const dropped = this.#history.shift()!;
      this.#compactedRv = dropped.rv;
    }
    for (const l of [...this.#listeners]) l(ev);
  }

  #bucket(def: ResourceDef): Map<string, StoredObject> {
    const k = resourceKey(def);
    let b = this.#objects.get(k);
    if (!b) {
      b = new Map();
      this.#objects.set(k, b);
    }
    return b;
  }
}
