/**
 * The dispatcher: the graph's single entry for datastore changes. Each node registers for the kinds
 * it reads; an upsert or removal is handed to those nodes as `(key, object | undefined)` (undefined:
 * removed), in registration order. Kinds nobody reads are ignored. Pure and synchronous.
 */
import type { KindId, Resource } from '../../src/model/index.js';
import type { ResourceUpdate } from './types.js';

export type ResourceHandler = (key: string, obj: Resource | undefined) => void;

/** The key a ResourceCache uses: `namespace/name`, or `name` for cluster-scoped kinds. */
export function resourceKey(obj: Resource): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name;
}

export class Dispatcher {
  readonly #handlers = new Map<KindId, ResourceHandler[]>();

  on(kind: KindId, handler: ResourceHandler): void {
    const list = this.#handlers.get(kind) ?? [];
    list.push(handler);
    this.#handlers.set(kind, list);
  }

  dispatch(u: ResourceUpdate): void {
    const handlers = this.#handlers.get(u.kind);
    if (handlers === undefined) return;
    if (u.type === 'upserted') {
      const key = resourceKey(u.obj);
      for (const h of handlers) h(key, u.obj);
    } else {
      for (const h of handlers) h(u.key, undefined);
    }
  }
}
