import { describe, expect, it } from 'vitest';
import { MemoryDatastore } from '../../src/datastore/memory.js';
import {
  DatastoreUnavailableError,
  VersionExpiredError,
  type Datastore,
  type WatchEvent,
} from '../../src/datastore/types.js';
import type { KindId, Resource } from '../../src/model/kinds.js';
import { silentLogger } from '../../src/log.js';
import type { Clock } from '../../src/runtime/index.js';
import { ResourceCache, type CacheConsumer } from './resource-cache.js';

const ns = (name: string, labels: Record<string, string> = {}): Resource => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels },
});
const node = (name: string): Resource => ({ apiVersion: 'v1', kind: 'Node', metadata: { name } });

function recorder(): CacheConsumer & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    upserted: (k, o) => calls.push(`upsert ${k} ${o.metadata.name} ${JSON.stringify(o.metadata.labels ?? {})}`),
    removed: (k, key, _last) => calls.push(`remove ${k} ${key}`),
    inSync: () => calls.push('in-sync'),
  };
}

/** A clock the test drives by hand: no real timers. */
function manualScheduler(): Clock & { fire(): void; delays: number[] } {
  let pending: (() => void)[] = [];
  const delays: number[] = [];
  return {
    delays,
    setTimeout(fn, ms) {
      delays.push(ms);
      pending.push(fn);
      return {
        cancel: () => {
          pending = pending.filter((f) => f !== fn);
        },
      };
    },
    now: () => 0,
    fire() {
      const p = pending;
      pending = [];
      p.forEach((f) => f());
    },
  };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('ResourceCache', () => {
  it('delivers initial state, one in-sync after every kind, then live changes', async () => {
    const store = new MemoryDatastore();
    await store.create(ns('a'));
    await store.create(node('n1'));
    const rec = recorder();
    const cache = new ResourceCache(store, ['Namespace', 'Node'], rec, silentLogger());
    cache.start();
    await flush();
    expect(rec.calls.at(-1)).toBe('in-sync');
    expect([...rec.calls].sort()).toEqual(['in-sync', 'upsert Namespace a {}', 'upsert Node n1 {}']);
    rec.calls.length = 0;
    const a = (await store.get('Namespace', 'a'))!;
    await store.update({ ...a, metadata: { ...a.metadata, labels: { x: '1' } } });
    await store.delete('Node', 'n1');
    await flush();
    expect(rec.calls).toEqual(['upsert Namespace a {"x":"1"}', 'remove Node n1']);
    expect(cache.list('Namespace').map((o) => o.metadata.labels)).toEqual([{ x: '1' }]);
    cache.stop();
  });

  it('after a watch error it relists and emits only the differences, including removals', async () => {
    const inner = new MemoryDatastore();
    await inner.create(ns('keep'));
    await inner.create(ns('gone'));
    let emit: ((ev: WatchEvent) => void) | undefined;
    let watches = 0;
    const store: Datastore = Object.assign(Object.create(inner) as Datastore, {
      watch: (kind: KindId, opts: object, on: (ev: WatchEvent) => void) => {
        watches++;
        emit = on;
        return inner.watch(kind, opts, on);
      },
    });
    const rec = recorder();
    const sched = manualScheduler();
    const cache = new ResourceCache(store, ['Namespace'], rec, silentLogger(), { clock: sched, random: () => 1 });
    cache.start();
    await flush();
    expect(rec.calls).toContain('in-sync');
    rec.calls.length = 0;

    emit!({ type: 'error', error: new DatastoreUnavailableError('backend down') });
    await inner.delete('Namespace', 'gone');
    await inner.create(ns('new'));
    expect(rec.calls).toEqual([]); // nothing until the watch restarts
    expect(sched.delays).toEqual([250]);
    sched.fire();
    await flush();
    expect(watches).toBe(2);
    expect(rec.calls).toEqual(['upsert Namespace new {}', 'remove Namespace gone']);
    expect(cache.isInSync).toBe(true);
    cache.stop();
  });

  it('restarts at once after an expired version and backs off exponentially on repeated failures', async () => {
    const inner = new MemoryDatastore();
    let emit: ((ev: WatchEvent) => void) | undefined;
    const store: Datastore = Object.assign(Object.create(inner) as Datastore, {
      watch: (_kind: KindId, _opts: object, on: (ev: WatchEvent) => void) => {
        emit = on;
        return { stop() {} };
      },
    });
    const sched = manualScheduler();
    const cache = new ResourceCache(store, ['Namespace'], recorder(), silentLogger(), {
      clock: sched,
      random: () => 1,
      backoff: { initial: 100, max: 1000 },
    });
    cache.start();
    emit!({ type: 'error', error: new VersionExpiredError('410 Gone') });
    sched.fire();
    for (let i = 0; i < 5; i++) {
      emit!({ type: 'error', error: new DatastoreUnavailableError('down') });
      sched.fire();
    }
    expect(sched.delays).toEqual([0, 200, 400, 800, 1000, 1000]);
    cache.stop();
  });

  it('a relisted object with a known version but a new uid (store index recreated) is an upsert', async () => {
    const emits: ((ev: WatchEvent) => void)[] = [];
    const store = {
      watch: (_k: KindId, _o: object, on: (ev: WatchEvent) => void) => {
        emits.push(on);
        return { stop() {} };
      },
    } as unknown as Datastore;
    const rec = recorder();
    const sched = manualScheduler();
    const cache = new ResourceCache(store, ['Namespace'], rec, silentLogger(), { clock: sched, random: () => 1 });
    cache.start();
    const a = (uid: string, v: string): Resource => ({
      ...ns('a', { v }),
      metadata: { ...ns('a', { v }).metadata, uid, resourceVersion: '5' },
    });
    emits[0]!({ type: 'added', object: a('u1', 'old') });
    emits[0]!({ type: 'in-sync', resourceVersion: '5' });
    emits[0]!({ type: 'error', error: new VersionExpiredError('index recreated') });
    sched.fire();
    emits[1]!({ type: 'added', object: a('u1', 'old') }); // the same object version: no change
    emits[1]!({ type: 'in-sync', resourceVersion: '5' });
    emits[1]!({ type: 'error', error: new VersionExpiredError('index recreated') });
    sched.fire();
    emits[2]!({ type: 'added', object: a('u2', 'new') });
    emits[2]!({ type: 'in-sync', resourceVersion: '5' });
    expect(rec.calls).toEqual(['upsert Namespace a {"v":"old"}', 'in-sync', 'upsert Namespace a {"v":"new"}']);
    expect(cache.get('Namespace', 'a')?.metadata.uid).toBe('u2');
    cache.stop();
  });
});

describe('ResourceCache typing', () => {
  it('delivers objects typed by kind: a switch on kind narrows the object, no cast', async () => {
    const store = new MemoryDatastore();
    await store.create({
      apiVersion: 'margay.dev/v1',
      kind: 'IPPool',
      metadata: { name: 'p' },
      spec: { cidr: '10.0.0.0/16' },
    });
    await store.create(node('n1'));
    const seen: string[] = [];
    const cache = new ResourceCache(
      store,
      ['IPPool', 'Node'],
      {
        upserted: (kind, obj) => {
          switch (kind) {
            case 'IPPool':
              seen.push(`pool ${obj.spec.cidr} /${obj.spec.blockSize}`); // typed: IPPool spec fields
              break;
            case 'Node':
              seen.push(`node ${obj.metadata.name}`);
              break;
          }
        },
        removed: () => {},
        inSync: () => seen.push('in-sync'),
      },
      silentLogger(),
    );
    await cache.start();
    await flush();
    expect(seen.sort()).toEqual(['in-sync', 'node n1', 'pool 10.0.0.0/16 /26']);
    const pool = cache.get('IPPool', 'p');
    expect(pool?.spec.cidr).toBe('10.0.0.0/16');
    expect(cache.list('Node').map((n) => n.metadata.name)).toEqual(['n1']);
    await cache.stop();
    await cache.stop(); // idempotent
  });
});
