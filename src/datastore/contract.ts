import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KindId, Resource } from '../model/kinds.js';
import type { Datastore, WatchEvent, WatchHandle, WatchOptions } from './types.js';
import { counterOf, incrementCounter, namespaceFixture, podFixture, withCounter } from './contract-fixtures.js';

export { counterOf, incrementCounter, namespaceFixture, podFixture, withCounter } from './contract-fixtures.js';

/**
 * The shared contract every Datastore backend passes (memory, file, kubernetes). Register it from a
 * backend's test file: `datastoreContract('memory', async (o) => ({ store: new MemoryDatastore(o), cleanup: async () => {} }))`.
 * `make` gets `historyWindow` when a test needs a small watch history (to force VersionExpiredError);
 * the backend must honour it. Versions must be decimal strings that strictly increase.
 */
export interface ContractStoreOptions {
  /** Number of changes the store keeps for resuming watches. */
  readonly historyWindow?: number;
}

export type MakeStore = (opts: ContractStoreOptions) => Promise<{ store: Datastore; cleanup(): Promise<void> }>;

const WAIT_MS = 5_000;

/** Records a watch's events; `until` polls (no fixed sleeps) for a condition or fails with the log. */
export function recordWatch(store: Datastore, kind: KindId, opts: WatchOptions) {
  const events: WatchEvent[] = [];
  const handle: WatchHandle = store.watch(kind, opts, (ev) => events.push(ev));
  const until = async (what: string, pred: (evs: readonly WatchEvent[]) => boolean): Promise<void> => {
    const deadline = Date.now() + WAIT_MS;
    while (!pred(events)) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(summarize(events))}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return { events, handle, until };
}

export function summarize(events: readonly WatchEvent[]): string[] {
  return events.map((e) =>
    e.type === 'in-sync'
      ? 'in-sync'
      : e.type === 'error'
        ? `error:${e.error.code}`
        : `${e.type}:${e.object.metadata.namespace ? `${e.object.metadata.namespace}/` : ''}${e.object.metadata.name}`,
  );
}

const rv = (o: Resource): bigint => BigInt(o.metadata.resourceVersion ?? 'x');
const withLabels = (o: Resource, labels: Record<string, string>): Resource => ({
  ...o,
  metadata: { ...o.metadata, labels },
});

/** What a backend offers beyond the required interface; the contract checks it is there exactly when claimed. */
export interface ContractCapabilities {
  /** `createAll`: an atomic multi-object create (memory, file; the Kubernetes API has none). */
  readonly createAll: boolean;
}

export function datastoreContract(name: string, make: MakeStore, caps: ContractCapabilities): void {
  describe(`datastore contract: ${name}`, () => {
    let store: Datastore;
    let cleanup: (() => Promise<void>) | undefined;
    const watches: WatchHandle[] = [];
    const open = async (opts: ContractStoreOptions = {}): Promise<Datastore> => {
      if (cleanup) await cleanup();
      const made = await make(opts);
      store = made.store;
      cleanup = made.cleanup;
      return store;
    };
    const watch = (kind: KindId, opts: WatchOptions) => {
      const w = recordWatch(store, kind, opts);
      watches.push(w.handle);
      return w;
    };
    beforeEach(async () => {
      await open();
    });
    afterEach(async () => {
      for (const h of watches.splice(0)) h.stop();
      await cleanup?.();
      cleanup = undefined;
    });

    it('create assigns version, uid and creationTimestamp; get returns the stored object', async () => {
      const created = await store.create(podFixture('ns1', 'a', { app: 'web' }));
      expect(created.metadata).toMatchObject({ name: 'a', namespace: 'ns1', labels: { app: 'web' } });
      expect(created.metadata.resourceVersion).toMatch(/^\d+$/);
      expect(created.metadata.uid).toBeTruthy();
      expect(created.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT/);
      const got = await store.get('Pod', 'a', 'ns1');
      expect(got?.metadata).toMatchObject({
        resourceVersion: created.metadata.resourceVersion,
        uid: created.metadata.uid,
      });
      expect(await store.get('Pod', 'a', 'other')).toBeUndefined();
      expect(await store.get('Pod', 'missing', 'ns1')).toBeUndefined();
      const ns = await store.create(namespaceFixture('ns1'));
      expect(ns.metadata.namespace).toBeUndefined();
      expect((await store.get('Namespace', 'ns1'))?.metadata.uid).toBe(ns.metadata.uid);
    });

    it('create of an existing object fails with AlreadyExistsError', async () => {
      await store.create(podFixture('ns1', 'a'));
      await expect(store.create(podFixture('ns1', 'a'))).rejects.toMatchObject({
        code: 'MGY_DATASTORE_ALREADY_EXISTS',
      });
      await expect(store.create(podFixture('ns2', 'a'))).resolves.toBeTruthy();
    });

    it('list filters by kind, namespace and label selector', async () => {
      await store.create(podFixture('ns1', 'a', { app: 'web', tier: 'front' }));
      await store.create(podFixture('ns1', 'b', { app: 'db' }));
      await store.create(podFixture('ns2', 'c', { app: 'web', tier: 'back' }));
      await store.create(namespaceFixture('ns1', { app: 'web' }));
      const names = async (o?: { namespace?: string; labelSelector?: string }) =>
        (await store.list('Pod', o)).items.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).sort();
      expect(await names()).toEqual(['ns1/a', 'ns1/b', 'ns2/c']);
      expect(await names({ namespace: 'ns1' })).toEqual(['ns1/a', 'ns1/b']);
      expect(await names({ labelSelector: 'app=web' })).toEqual(['ns1/a', 'ns2/c']);
      expect(await names({ labelSelector: 'tier in (front,side),app' })).toEqual(['ns1/a']);
      expect(await names({ labelSelector: '!tier' })).toEqual(['ns1/b']);
      expect(await names({ namespace: 'ns2', labelSelector: 'app!=db' })).toEqual(['ns2/c']);
      const all = await store.list('Namespace');
      expect(all.items.map((n) => n.metadata.name)).toEqual(['ns1']);
      expect(all.resourceVersion).toMatch(/^\d+$/);
    });

    it('update is compare-and-swap on resourceVersion', async () => {
      const v1 = await store.create(podFixture('ns1', 'a', { v: '1' }));
      const v2 = await store.update(withLabels(v1, { v: '2' }));
      expect(rv(v2)).toBeGreaterThan(rv(v1));
      expect(v2.metadata.uid).toBe(v1.metadata.uid);
      expect(v2.metadata.creationTimestamp).toBe(v1.metadata.creationTimestamp);
      const err = await store.update(withLabels(v1, { v: 'stale' })).catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: 'MGY_DATASTORE_CONFLICT',
        expectedVersion: v1.metadata.resourceVersion,
        actualVersion: v2.metadata.resourceVersion,
      });
      expect((await store.get('Pod', 'a', 'ns1'))?.metadata.labels).toEqual({ v: '2' });
    });

    it('update without a resourceVersion is rejected; update of a missing object is NotFound', async () => {
      const v1 = await store.create(podFixture('ns1', 'a'));
      const { resourceVersion: _drop, ...meta } = v1.metadata;
      await expect(store.update({ ...v1, metadata: meta })).rejects.toMatchObject({ code: 'MGY_VALIDATION' });
      await expect(store.update({ ...v1, metadata: { ...v1.metadata, name: 'nope' } })).rejects.toMatchObject({
        code: 'MGY_DATASTORE_NOT_FOUND',
      });
    });

    it('delete, with and without a version precondition; NotFound when absent', async () => {
      const a = await store.create(podFixture('ns1', 'a'));
      const b = await store.create(podFixture('ns1', 'b'));
      await store.delete('Pod', 'a', 'ns1');
      expect(await store.get('Pod', 'a', 'ns1')).toBeUndefined();
      await expect(store.delete('Pod', 'a', 'ns1')).rejects.toMatchObject({ code: 'MGY_DATASTORE_NOT_FOUND' });
      const b2 = await store.update(withLabels(b, { x: 'y' }));
      await expect(
        store.delete('Pod', 'b', 'ns1', { resourceVersion: b.metadata.resourceVersion! }),
      ).rejects.toMatchObject({
        code: 'MGY_DATASTORE_CONFLICT',
      });
      await store.delete('Pod', 'b', 'ns1', { resourceVersion: b2.metadata.resourceVersion! });
      expect((await store.list('Pod')).items).toEqual([]);
      expect(a.metadata.name).toBe('a');
    });

    it('watch from scratch: existing objects as added, then in-sync, then live changes in order', async () => {
      await store.create(podFixture('ns1', 'a'));
      await store.create(podFixture('ns1', 'b'));
      const listed = await store.list('Pod');
      const w = watch('Pod', {});
      await w.until('in-sync', (evs) => evs.some((e) => e.type === 'in-sync'));
      expect(summarize(w.events).slice(0, 2).sort()).toEqual(['added:ns1/a', 'added:ns1/b']);
      expect(w.events[2]).toEqual({ type: 'in-sync', resourceVersion: listed.resourceVersion });
      const c = await store.create(podFixture('ns1', 'c'));
      const c2 = await store.update(withLabels(c, { changed: 'yes' }));
      await store.create(namespaceFixture('not-a-pod'));
      await store.delete('Pod', 'a', 'ns1');
      await w.until('3 live events', (evs) => evs.length >= 6);
      expect(summarize(w.events.slice(3))).toEqual(['added:ns1/c', 'modified:ns1/c', 'deleted:ns1/a']);
      const live = w.events.slice(3) as Extract<WatchEvent, { object: Resource }>[];
      expect(live[1]!.object.metadata.resourceVersion).toBe(c2.metadata.resourceVersion);
      expect(rv(live[2]!.object)).toBeGreaterThan(rv(c2));
      expect(live.map((e) => rv(e.object))).toEqual(
        [...live.map((e) => rv(e.object))].sort((x, y) => (x < y ? -1 : 1)),
      );
    });

    it("watch resumed from a list's version sees exactly the later changes, in order, once", async () => {
      const a = await store.create(podFixture('ns1', 'a'));
      await store.create(podFixture('ns1', 'b'));
      const listed = await store.list('Pod');
      const a2 = await store.update(withLabels(a, { n: '2' }));
      await store.create(namespaceFixture('other-kind'));
      await store.delete('Pod', 'b', 'ns1');
      await store.update(withLabels(a2, { n: '3' }));
      const w = watch('Pod', { resourceVersion: listed.resourceVersion });
      await w.until('in-sync', (evs) => evs.some((e) => e.type === 'in-sync'));
      expect(summarize(w.events)).toEqual(['modified:ns1/a', 'deleted:ns1/b', 'modified:ns1/a', 'in-sync']);
      await store.create(podFixture('ns1', 'd'));
      await w.until('live add', (evs) => evs.length >= 5);
      expect(summarize(w.events.slice(4))).toEqual(['added:ns1/d']);
    });

    it('watch with a namespace and label selector; label changes become added/deleted', async () => {
      const a = await store.create(podFixture('ns1', 'a', { app: 'web' }));
      await store.create(podFixture('ns2', 'x', { app: 'web' }));
      const w = watch('Pod', { namespace: 'ns1', labelSelector: 'app=web' });
      await w.until('in-sync', (evs) => evs.some((e) => e.type === 'in-sync'));
      const a2 = await store.update(withLabels(a, { app: 'db' }));
      await store.create(podFixture('ns2', 'y', { app: 'web' }));
      await store.update(withLabels(a2, { app: 'web' }));
      await w.until('re-added', (evs) => evs.length >= 4);
      expect(summarize(w.events)).toEqual(['added:ns1/a', 'in-sync', 'deleted:ns1/a', 'added:ns1/a']);
    });

    it('watch from an expired version fails with VersionExpiredError', async () => {
      await open({ historyWindow: 3 });
      const a = await store.create(podFixture('ns1', 'a'));
      let cur = a;
      for (let i = 0; i < 6; i++) cur = await store.update(withLabels(cur, { i: String(i) }));
      const w = watch('Pod', { resourceVersion: a.metadata.resourceVersion! });
      await w.until('error', (evs) => evs.length > 0);
      expect(summarize(w.events)).toEqual(['error:MGY_DATASTORE_VERSION_EXPIRED']);
      const recent = watch('Pod', { resourceVersion: String(rv(cur) - 1n) });
      await recent.until('in-sync', (evs) => evs.some((e) => e.type === 'in-sync'));
      expect(summarize(recent.events)).toEqual(['modified:ns1/a', 'in-sync']);
    });

    it('stop() ends delivery', async () => {
      const stopped = watch('Pod', {});
      const running = watch('Pod', {});
      await stopped.until('in-sync', (evs) => evs.length >= 1);
      await running.until('in-sync', (evs) => evs.length >= 1);
      stopped.handle.stop();
      await store.create(podFixture('ns1', 'a'));
      await store.create(podFixture('ns1', 'b'));
      await running.until('two adds', (evs) => evs.length >= 3);
      expect(summarize(stopped.events)).toEqual(['in-sync']);
    });

    it('close() lets calls already made finish, then refuses new ones as unavailable; closing twice is fine', async () => {
      const writes = Array.from({ length: 10 }, (_, i) => store.create(podFixture('ns1', `closing-${i}`)));
      const closing = store.close();
      const results = await Promise.allSettled(writes);
      expect(results.map((r) => r.status)).toEqual(Array(10).fill('fulfilled'));
      await closing;
      await store.close();
      await expect(store.get('Pod', 'closing-0', 'ns1')).rejects.toMatchObject({ code: 'MGY_DATASTORE_UNAVAILABLE' });
      await expect(store.create(podFixture('ns1', 'late'))).rejects.toMatchObject({
        code: 'MGY_DATASTORE_UNAVAILABLE',
      });
    });

    it('concurrent updates from one version: exactly one wins', async () => {
      const a = await store.create(podFixture('ns1', 'a'));
      const results = await Promise.allSettled(
        Array.from({ length: 5 }, (_, i) => store.update(withLabels(a, { writer: String(i) }))),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'MGY_DATASTORE_CONFLICT' });
      }
      const winner = (won[0] as PromiseFulfilledResult<Resource>).value;
      expect((await store.get('Pod', 'a', 'ns1'))?.metadata.labels).toEqual(winner.metadata.labels);
    });

    it('racing read-modify-write increments lose no update; versions strictly increase', async () => {
      await store.create(withCounter(podFixture('ns1', 'counter'), 0));
      const perWorker: bigint[][] = [];
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          const mine: bigint[] = [];
          perWorker.push(mine);
          for (let i = 0; i < 8; i++) mine.push(rv(await incrementCounter(store, 'counter', 'ns1')));
        }),
      );
      expect(counterOf((await store.get('Pod', 'counter', 'ns1'))!)).toBe(32);
      expect(new Set(perWorker.flat()).size).toBe(32);
      for (const mine of perWorker) for (let i = 1; i < mine.length; i++) expect(mine[i]! > mine[i - 1]!).toBe(true);
    });

    it(
      caps.createAll ? 'createAll writes every object at consecutive versions, seen in order' : 'has no createAll',
      async () => {
        if (!caps.createAll) {
          expect(store.createAll).toBeUndefined();
          return;
        }
        const w = watch('Pod', {});
        await w.until('in-sync', (evs) => evs.some((e) => e.type === 'in-sync'));
        const made = await store.createAll!([
          podFixture('ns1', 'a', { x: '1' }),
          namespaceFixture('ns1'),
          podFixture('ns1', 'b'),
        ]);
        expect(made.map((o) => o.metadata.name)).toEqual(['a', 'ns1', 'b']);
        const vs = made.map(rv);
        expect(vs[1]).toBe(vs[0]! + 1n);
        expect(vs[2]).toBe(vs[1]! + 1n);
        expect((await store.get('Pod', 'a', 'ns1'))?.metadata).toMatchObject({
          resourceVersion: String(vs[0]),
          labels: { x: '1' },
        });
        expect((await store.list('Pod')).resourceVersion).toBe(String(vs[2]));
        await w.until('2 added', (evs) => evs.length >= 3);
        expect(summarize(w.events.slice(1))).toEqual(['added:ns1/a', 'added:ns1/b']);
      },
    );

    if (caps.createAll) {
      it('createAll writes nothing when one object exists, is given twice, or is invalid', async () => {
        await store.create(podFixture('ns1', 'b'));
        const before = (await store.list('Pod')).resourceVersion;
        await expect(store.createAll!([])).resolves.toEqual([]);
        const w = watch('Pod', { resourceVersion: before });
        await w.until('in-sync', (evs) => evs.some((e) => e.type === 'in-sync'));
        await expect(store.createAll!([podFixture('ns1', 'a'), podFixture('ns1', 'b')])).rejects.toMatchObject({
          code: 'MGY_DATASTORE_ALREADY_EXISTS',
          objectName: 'ns1/b',
        });
        await expect(store.createAll!([podFixture('ns1', 'c'), podFixture('ns1', 'c')])).rejects.toMatchObject({
          code: 'MGY_DATASTORE_ALREADY_EXISTS',
        });
        await expect(
          store.createAll!([podFixture('ns1', 'd'), namespaceFixture('Not_A_DNS_Label')]),
        ).rejects.toMatchObject({
          code: 'MGY_VALIDATION',
        });
        expect(await store.get('Pod', 'a', 'ns1')).toBeUndefined();
        expect(await store.get('Pod', 'c', 'ns1')).toBeUndefined();
        expect(await store.get('Pod', 'd', 'ns1')).toBeUndefined();
        expect((await store.list('Pod')).resourceVersion).toBe(before);
        await store.create(podFixture('ns1', 'e'));
        await w.until('the later create', (evs) => evs.length >= 2);
        expect(summarize(w.events)).toEqual(['in-sync', 'added:ns1/e']);
        expect(rv((w.events[1] as Extract<WatchEvent, { object: Resource }>).object)).toBe(BigInt(before) + 1n);
      });
    }
  });
}
