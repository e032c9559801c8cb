import type { Resource } from '../model/kinds.js';
import type { Datastore } from './types.js';
import { InvariantError } from '../errors.js';

/** Objects and helpers the contract suite and the cross-process test workers share (no vitest here). */
export const COUNTER = 'margay.dev/counter';

export function podFixture(namespace: string | undefined, name: string, labels: Record<string, string> = {}): Resource {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, ...(namespace ? { namespace } : {}), labels },
    spec: { nodeName: 'node-1', containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.9' }] },
  };
}

export function namespaceFixture(name: string, labels: Record<string, string> = {}): Resource {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

export const counterOf = (o: Resource): number => Number(o.metadata.annotations?.[COUNTER] ?? '0');

export const withCounter = (o: Resource, n: number): Resource => ({
  ...o,
  metadata: { ...o.metadata, annotations: { ...o.metadata.annotations, [COUNTER]: String(n) } },
});

/**
 * Read-modify-write increment of the counter annotation of a Pod, retrying on conflict.
 * Returns the stored version.
 */
export async function incrementCounter(store: Datastore, name: string, namespace: string): Promise<Resource> {
  for (;;) {
    const cur = await store.get('Pod', name, namespace);
    if (!cur) throw new InvariantError(`counter pod ${namespace}/${name} vanished`);
    try {
      return await store.update(withCounter(cur, counterOf(cur) + 1));
    } catch (err) {
      if ((err as { code?: string }).code !== 'MGY_DATASTORE_CONFLICT') throw err;
    }
  }
}
