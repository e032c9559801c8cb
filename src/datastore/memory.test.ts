import { describe, expect, it } from 'vitest';
import { datastoreContract, podFixture } from './contract.js';
import { MemoryDatastore } from './memory.js';

datastoreContract('memory', async (opts) => {
  const store = new MemoryDatastore(opts);
  return { store, cleanup: () => store.close() };
});

describe('MemoryDatastore', () => {
  it('hands out copies: mutating a returned object does not change the store', async () => {
    const store = new MemoryDatastore();
    const created = await store.create(podFixture('ns1', 'a', { app: 'web' }));
    created.metadata.labels!['app'] = 'changed';
    const got = await store.get('Pod', 'a', 'ns1');
    expect(got?.metadata.labels).toEqual({ app: 'web' });
    got!.metadata.labels!['app'] = 'again';
    expect((await store.get('Pod', 'a', 'ns1'))?.metadata.labels).toEqual({ app: 'web' });
  });

  it('defaults the namespace of a namespaced kind and rejects one on a cluster-scoped kind', async () => {
    const store = new MemoryDatastore();
    expect((await store.create(podFixture(undefined, 'a'))).metadata.namespace).toBe('default');
    expect((await store.get('Pod', 'a'))?.metadata.namespace).toBe('default');
    await expect(
      store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x', namespace: 'y' } }),
    ).rejects.toMatchObject({ code: 'MGY_VALIDATION' });
  });

  it('rejects an unknown kind and a bad history window', async () => {
    const store = new MemoryDatastore();
    await expect(store.create({ apiVersion: 'v9', kind: 'Nope', metadata: { name: 'x' } })).rejects.toMatchObject({
      code: 'MGY_VALIDATION',
    });
    expect(() => new MemoryDatastore({ historyWindow: 0 })).toThrow(/historyWindow/);
  });

  it('reports a bad label selector as the watch error and a list rejection', async () => {
    const store = new MemoryDatastore();
    await expect(store.list('Pod', { labelSelector: 'a in (' })).rejects.toBeInstanceOf(Error);
    const events: string[] = [];
    store.watch('Pod', { labelSelector: 'a in (' }, (ev) => events.push(ev.type));
    await new Promise((r) => setImmediate(r));
    expect(events).toEqual(['error']);
  });

  it('refuses calls after close', async () => {
    const store = new MemoryDatastore();
    await store.close();
    await expect(store.list('Pod')).rejects.toMatchObject({ code: 'MGY_DATASTORE_UNAVAILABLE' });
  });
});
