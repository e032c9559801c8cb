import { StoreLife } from './store-life.js';
import type { KindId, Resource } from '../model/index.js';
import { validateResource } from '../model/index.js';
import type {
  Datastore,
  DeleteOptions,
  ListOptions,
  ListResult,
  WatchEvent,
  WatchHandle,
  WatchOptions,
} from './types.js';
import { checkHistoryWindow, emptySnapshot, storeContext, StoreState, type StoreContext } from './store-state.js';
import { compileFilter, matchesFilter, startWatch, WatchHub } from './watch-hub.js';

export { checkHistoryWindow, DEFAULT_HISTORY_WINDOW } from './store-state.js';

export interface MemoryDatastoreOptions {
  /** How many changes a watch can resume across (older versions get VersionExpiredError). */
  readonly historyWindow?: number;
  /** Validation and defaulting of written resources; the model's validateResource by default. */
  readonly validate?: (raw: unknown) => Resource;
}

export function defaultStoreContext(validate: ((raw: unknown) => Resource) | undefined): StoreContext {
  return storeContext(validate ?? validateResource);
}

/**
 * A datastore in process memory, for unit tests and single-process tools. Same semantics as the
 * other backends (one revision counter, CAS on resourceVersion, bounded watch history); every object
 * handed out is a copy, so callers cannot change stored state behind the store's back.
 */
export class MemoryDatastore implements Datastore {
  readonly #state: StoreState;
  readonly #hub = new WatchHub();
  readonly #life = new StoreLife('memory datastore');

  constructor(opts: MemoryDatastoreOptions = {}) {
    this.#state = new StoreState(
      emptySnapshot(),
      defaultStoreContext(opts.validate),
      checkHistoryWindow(opts.historyWindow),
    );
  }

  async list(kind: KindId, opts?: ListOptions): Promise<ListResult> {
    this.#checkOpen();
    const f = compileFilter(opts);
    const items = Object.values(this.#state.snap.objects)
      .filter((o) => o.kind === kind && matchesFilter(f, o.object))
      .map((o) => structuredClone(o.object));
    return { items, resourceVersion: String(this.#state.snap.revision) };
  }

  async get(kind: KindId, name: string, namespace?: string): Promise<Resource | undefined> {
    this.#checkOpen();
    const o = this.#state.get(kind, name, namespace);
    return o && structuredClone(o);
  }

  async create(obj: Resource): Promise<Resource> {
    return this.#commit(() => this.#state.create(structuredClone(obj)));
  }

  async createAll(objs: readonly Resource[]): Promise<Resource[]> {
    this.#checkOpen();
    if (objs.length === 0) return [];
    const entries = this.#state.createAll(objs.map((o) => structuredClone(o)));
    this.#hub.publish(entries);
    return entries.map((e) => structuredClone(e.object));
  }

  async update(obj: Resource): Promise<Resource> {
    return this.#commit(() => this.#state.update(structuredClone(obj)));
  }

  async delete(kind: KindId, name: string, namespace?: string, opts?: DeleteOptions): Promise<void> {
    await this.#commit(() => this.#state.delete(kind, name, namespace, opts?.resourceVersion));
  }

  watch(kind: KindId, opts: WatchOptions, onEvent: (ev: WatchEvent) => void): WatchHandle {
    this.#checkOpen();
    return startWatch(this.#hub, () => this.#state.snap, kind, opts, onEvent);
  }

  /** Its operations never wait, so close() has nothing in flight to wait for (src/runtime Lifecycle). */
  close(): Promise<void> {
    return this.#life.close(() => this.#hub.stopAll());
  }

  #commit(op: () => ReturnType<StoreState['create']>): Resource {
    this.#checkOpen();
    const entry = op();
    this.#hub.publish([entry]);
    return structuredClone(entry.object);
  }

  #checkOpen(): void {
    this.#life.check();
  }
}
