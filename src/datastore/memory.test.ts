import { describe, expect, it } from 'vitest';
import { datastoreContract, podFixture } from './contract.js';
import { MemoryDatastore } from './memory.js';
import type { WatchEvent, WatchOptions } from './types.js';

/** The events a new watch delivers up to in-sync or an error (the memory store starts it at once). */
async function collect(store: MemoryDatastore, opts: WatchOptions): Promise<WatchEvent[]> {
  const events: WatchEvent[] = [];
  const h = store.watch('Pod', opts, (ev) => events.push(ev));
  await new Promise((r) => setImmediate(r));
  h.stop();
  return events;
}

datastoreContract(
  'memory',
  async (opts) => {
    const store = new MemoryDatastore(opts);
    return { store, cleanup: () => store.close() };
  },
  { createAll: true },
);

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
    await expect(store.list('Pod', { labelSelector: 'a in (' })).rejects.toMatchObject({
      code: 'MGY_SELECTOR_PARSE',
      position: 6,
    });
    const events: WatchEvent[] = [];
    store.watch('Pod', { labelSelector: 'a in (' }, (ev) => events.push(ev));
    await new Promise((r) => setImmediate(r));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'error', error: { code: 'MGY_SELECTOR_PARSE' } });
  });

  it('watch from "0" is "any version", as in Kubernetes: the current state, even after compaction', async () => {
    const store = new MemoryDatastore({ historyWindow: 2 });
    let a = await store.create(podFixture('ns1', 'a'));
    for (let i = 0; i < 4; i++) a = await store.update({ ...a, metadata: { ...a.metadata, labels: { i: String(i) } } });
    await store.create(podFixture('ns1', 'b'));
    await store.delete('Pod', 'b', 'ns1');
    const events = await collect(store, { resourceVersion: '0' });
    expect(
      events.map((e) =>
        e.type === 'added' ? `added:${e.object.metadata.name}:${e.object.metadata.labels!['i']}` : e.type,
      ),
    ).toEqual(['added:a:3', 'in-sync']);
  });

  it('watch from a version newer than the store fails (it would silently skip every change up to it)', async () => {
    const store = new MemoryDatastore();
    const a = await store.create(podFixture('ns1', 'a'));
    const future = String(Number(a.metadata.resourceVersion) + 5);
    const events = await collect(store, { resourceVersion: future });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'error', error: { code: 'MGY_DATASTORE_VERSION_EXPIRED' } });
    expect((events[0] as { error: Error }).error.message).toMatch(/newer than the store's revision 1/);
    // The current version itself is fine: nothing to replay, in sync at once.
    expect(await collect(store, { resourceVersion: a.metadata.resourceVersion! })).toEqual([
      { type: 'in-sync', resourceVersion: a.metadata.resourceVersion },
    ]);
  });

  it('rejects a version it never issued', async () => {
    const store = new MemoryDatastore();
    for (const v of ['abc', '-1', '01', '1.5']) {
      const events = await collect(store, { resourceVersion: v });
      expect(events[0]).toMatchObject({ type: 'error', error: { code: 'MGY_DATASTORE_VERSION_EXPIRED' } });
    }
  });

  it('refuses calls after close', async () => {
    const store = new MemoryDatastore();
    await store.close();
    await expect(store.list('Pod')).rejects.toMatchObject({ code: 'MGY_DATASTORE_UNAVAILABLE' });
  });

  it("a deletion carries the last state at the deletion's version, and reaches a label-filtered watch", async () => {
    const store = new MemoryDatastore();
    const a = await store.create(podFixture('ns1', 'a', { app: 'web' }));
    const a2 = await store.update({ ...a, metadata: { ...a.metadata, annotations: { last: 'yes' } } });
    const events: WatchEvent[] = [];
    const h = store.watch('Pod', { labelSelector: 'app=web' }, (ev) => events.push(ev));
    await store.delete('Pod', 'a', 'ns1');
    await new Promise((r) => setImmediate(r));
    h.stop();
    expect(events.map((e) => e.type)).toEqual(['added', 'in-sync', 'deleted']);
    const gone = (events[2] as Extract<WatchEvent, { object: unknown }>).object;
    expect(gone.metadata.labels).toEqual({ app: 'web' });
    expect(gone.metadata.annotations).toEqual({ last: 'yes' });
    expect(gone.metadata.uid).toBe(a.metadata.uid);
    expect(gone.spec).toEqual(a2.spec);
    expect(Number(gone.metadata.resourceVersion)).toBe(Number(a2.metadata.resourceVersion) + 1);
  });

  it('resumes from exactly the oldest version the history covers, and not one older', async () => {
    const store = new MemoryDatastore({ historyWindow: 3 });
    let a = await store.create(podFixture('ns1', 'a'));
    const versions = [a.metadata.resourceVersion!];
    for (let i = 0; i < 4; i++) {
      a = await store.update({ ...a, metadata: { ...a.metadata, labels: { i: String(i) } } });
      versions.push(a.metadata.resourceVersion!);
    }
    // Five changes (revisions 1..5), three kept (3, 4, 5): resuming after 2 needs exactly those.
    const fromOldest = await collect(store, { resourceVersion: versions[1]! });
    expect(fromOldest.map((e) => (e.type === 'modified' ? e.object.metadata.resourceVersion : e.type))).toEqual([
      versions[2],
      versions[3],
      versions[4],
      'in-sync',
    ]);
    const tooOld = await collect(store, { resourceVersion: versions[0]! });
    expect(tooOld).toEqual([
      expect.objectContaining({
        type: 'error',
        error: expect.objectContaining({ code: 'MGY_DATASTORE_VERSION_EXPIRED' }),
      }),
    ]);
  });
});
