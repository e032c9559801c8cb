import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { namespaceFixture, podFixture, recordWatch, summarize } from '../../src/datastore/contract.js';
import { openKubernetesDatastore, type KubernetesDatastoreOptions } from '../../src/datastore/kubernetes.js';
import type { Datastore, WatchHandle } from '../../src/datastore/types.js';
import type { Resource } from '../../src/model/kinds.js';
import { FakeApiServer } from '../fake-apiserver/server.js';

/**
 * The Kubernetes backend's behaviour beyond the shared contract, against the fake API server: relist
 * on 410, back-off and recovery, bookmarks, selectors, and the errors a caller sees.
 */
let server: FakeApiServer;
let dir: string;
let kubeconfig: string;
const stores: Datastore[] = [];
const handles: WatchHandle[] = [];
let logs: Record<string, unknown>[];

const FAST_BACKOFF = { initialMs: 20, maxMs: 200, factor: 2, jitter: 0.5 };

async function open(extra: Partial<KubernetesDatastoreOptions> = {}): Promise<Datastore> {
  const log = pino(
    { level: 'debug' },
    { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) },
  );
  const store = await openKubernetesDatastore({ kubeconfig, log, backoff: FAST_BACKOFF, ...extra });
  stores.push(store);
  return store;
}

function watchPods(store: Datastore, opts: Parameters<Datastore['watch']>[1] = {}) {
  const w = recordWatch(store, 'Pod', opts);
  handles.push(w.handle);
  return w;
}

async function until(what: string, pred: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const withLabels = (o: Resource, labels: Record<string, string>): Resource => ({
  ...o,
  metadata: { ...o.metadata, labels },
});
const isWatch = (r: { url: string }) => r.url.includes('watch=true');
const isList = (r: { method: string; url: string }) =>
  r.method === 'GET' && r.url.startsWith('/api/v1/pods') && !isWatch(r);

beforeEach(async () => {
  logs = [];
  server = await FakeApiServer.start({ bookmarkIntervalMs: 30 });
  dir = mkdtempSync(join(tmpdir(), 'mgy-kube-'));
  kubeconfig = server.writeKubeconfig(join(dir, 'kubeconfig'));
});

afterEach(async () => {
  for (const h of handles.splice(0)) h.stop();
  for (const s of stores.splice(0)) await s.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('kubernetes datastore against the fake API server', () => {
  it('410 mid-watch: relists and emits exactly what changed across the gap, then keeps watching', async () => {
    const store = await open();
    const a = await store.create(podFixture('default', 'a'));
    const b = await store.create(podFixture('default', 'b'));
    const w = watchPods(store);
    await w.until('in-sync', (evs) => evs.some((e) => e.type === 'in-sync'));
    // Keep the client from reconnecting while the world changes and history is compacted.
    server.failNext(1000, { status: 503 }, isWatch);
    server.closeWatches();
    await until('a refused reconnect', () => server.requests.filter(isWatch).length >= 2);
    await store.delete('Pod', 'a', 'default');
    await store.update(withLabels(b, { changed: 'yes' }));
    await store.create(podFixture('default', 'c'));
    server.compact();
    const listsBefore = server.requests.filter(isList).length;
    server.clearFailures();
    await w.until('relisted changes', (evs) => evs.length >= 6);
    expect(summarize(w.events)).toEqual([
      'added:default/a',
      'added:default/b',
      'in-sync',
      'deleted:default/a',
      'modified:default/b',
      'added:default/c',
    ]);
    expect(server.requests.filter(isList).length).toBe(listsBefore + 1);
    expect(logs.some((l) => l.msg === 'watch version expired; relisting')).toBe(true);
    expect(a.metadata.name).toBe('a');
    await store.create(podFixture('default', 'd'));
    await w.until('live event after relist', (evs) => evs.length >= 7);
    expect(summarize(w.events.slice(6))).toEqual(['added:default/d']);
  });

  it('a 410 ERROR event inside an open stream relists without spurious events', async () => {
    const store = await open();
    await store.create(podFixture('default', 'a'));
    const w = watchPods(store);
    await w.until('in-sync', (evs) => evs.some((e) => e.type === 'in-sync'));
    const lists = server.requests.filter(isList).length;
    server.compact();
    server.expireWatches();
    await until('relist', () => server.requests.filter(isList).length > lists);
    await store.create(podFixture('default', 'b'));
    await w.until('live add', (evs) => evs.length >= 3);
    expect(summarize(w.events)).toEqual(['added:default/a', 'in-sync', 'added:default/b']);
  });

  it('a resumed watch whose version expires mid-way reports VersionExpiredError and stops', async () => {
    const store = await open();
    const listed = await store.list('Pod');
    const w = watchPods(store, { resourceVersion: listed.resourceVersion });
    await w.until('in-sync', (evs) => evs.some((e) => e.type === 'in-sync'));
    server.compact();
    server.expireWatches();
    await w.until('error', (evs) => evs.some((e) => e.type === 'error'));
    expect(summarize(w.events)).toEqual(['in-sync', 'error:MGY_DATASTORE_VERSION_EXPIRED']);
  });

  it('a resumed watch with no changes of its kind after the version: in-sync once the replay has settled', async () => {
    const store = await open({ settleMs: 50 });
    await store.create(podFixture('default', 'a'));
    const listed = await store.list('Pod');
    const ns = await store.create(namespaceFixture('other-kind')); // the global version moves on, no pod event
    const w = watchPods(store, { resourceVersion: listed.resourceVersion });
    await w.until('in-sync', (evs) => evs.length > 0);
    expect(w.events).toEqual([{ type: 'in-sync', resourceVersion: ns.metadata.resourceVersion }]);
    await store.create(podFixture('default', 'b'));
    await w.until('live add', (evs) => evs.length >= 2);
    expect(summarize(w.events)).toEqual(['in-sync', 'added:default/b']);
  });

  it('server down then up: requests fail naming the server, the watch backs off and recovers', async () => {
    const store = await open();
    const w = watchPods(store);
    await w.until('in-sync', (evs) => evs.some((e) => e.type === 'in-sync'));
    await server.goDown();
    const err = await store.get('Pod', 'x', 'default').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MGY_DATASTORE_UNAVAILABLE' });
    expect((err as Error).message).toContain(server.url);
    server.create(podFixture('default', 'made-while-down') as never);
    await until('three failed reconnects', () => logs.filter((l) => l.msg === 'watch failed; retrying').length >= 3);
    const delays = logs.filter((l) => l.msg === 'watch failed; retrying').map((l) => l.retryInMs as number);
    expect(delays[2]!).toBeGreaterThan(delays[0]!); // 20·(0.75..1.25) < 80·(0.75..1.25)
    expect(delays.every((d) => d <= FAST_BACKOFF.maxMs)).toBe(true);
    await server.comeUp();
    await w.until('change made while down', (evs) => evs.length >= 2);
    expect(summarize(w.events)).toEqual(['in-sync', 'added:default/made-while-down']);
    await store.create(podFixture('default', 'after'));
    await w.until('live add', (evs) => evs.length >= 3);
    expect(summarize(w.events.slice(2))).toEqual(['added:default/after']);
  });

  it('5xx answers and dropped connections are retried by watches; plain requests report them', async () => {
    const store = await open();
    server.failNext(2, { status: 500 }, isList);
    server.failNext(1, { drop: true }, isWatch);
    server.failNext(1, { status: 503 }, isWatch);
    await expect(store.list('Pod')).rejects.toMatchObject({ code: 'MGY_DATASTORE_UNAVAILABLE' });
    const w = watchPods(store);
    await w.until('in-sync', (evs) => evs.some((e) => e.type === 'in-sync'));
    await store.create(podFixture('default', 'a'));
    await w.until('live add', (evs) => evs.length >= 2);
    expect(summarize(w.events)).toEqual(['in-sync', 'added:default/a']);
    expect(logs.filter((l) => l.msg === 'list failed; retrying')).toHaveLength(1);
    expect(logs.filter((l) => l.msg === 'watch failed; retrying')).toHaveLength(2);
  });

  it('watch streams that end at once are retried with growing back-off, not in a busy loop', async () => {
    const store = await open();
    const w = watchPods(store);
    await w.until('in-sync', (evs) => evs.some((e) => e.type === 'in-sync'));
    server.failNext(4, { emptyStream: true }, isWatch);
    server.closeWatches();
    await until(
      'four early ends',
      () => logs.filter((l) => l.msg === 'watch stream ended at once; retrying').length >= 4,
    );
    const delays = logs
      .filter((l) => l.msg === 'watch stream ended at once; retrying')
      .map((l) => l.retryInMs as number);
    expect(delays[3]!).toBeGreaterThan(delays[0]!);
    await store.create(podFixture('default', 'a'));
    await w.until('live add', (evs) => evs.length >= 2);
    expect(summarize(w.events)).toEqual(['in-sync', 'added:default/a']);
  });

  it('stale update → ConflictError carrying both versions; stale delete precondition → ConflictError', async () => {
    const store = await open();
    const v1 = await store.create(podFixture('default', 'a', { v: '1' }));
    const v2 = await store.update(withLabels(v1, { v: '2' }));
    await expect(store.update(withLabels(v1, { v: 'x' }))).rejects.toMatchObject({
      code: 'MGY_DATASTORE_CONFLICT',
      expectedVersion: v1.metadata.resourceVersion,
      actualVersion: v2.metadata.resourceVersion,
    });
    await expect(
      store.delete('Pod', 'a', 'default', { resourceVersion: v1.metadata.resourceVersion! }),
    ).rejects.toMatchObject({
      code: 'MGY_DATASTORE_CONFLICT',
      actualVersion: v2.metadata.resourceVersion,
    });
    await expect(store.create(podFixture('default', 'a'))).rejects.toMatchObject({
      code: 'MGY_DATASTORE_ALREADY_EXISTS',
    });
    await expect(store.create(podFixture('no-such-ns', 'a'))).rejects.toMatchObject({
      code: 'MGY_DATASTORE_NOT_FOUND',
    });
  });

  it('bookmarks advance the watch version without producing events, so a reconnect needs no relist', async () => {
    const store = await open();
    const w = watchPods(store);
    await w.until('in-sync', (evs) => evs.some((e) => e.type === 'in-sync'));
    await store.create(namespaceFixture('elsewhere')); // moves the global version past the pod watch's
    const sent = server.bookmarksSent;
    await until('bookmarks', () => server.bookmarksSent >= sent + 3);
    server.compact(); // only a version at least as new as the last bookmark can resume now
    const lists = server.requests.filter(isList).length;
    const watches = server.requests.filter(isWatch).length;
    server.closeWatches();
    await until('re-watch', () => server.requests.filter(isWatch).length > watches && server.openWatches > 0);
    await store.create(podFixture('default', 'a'));
    await w.until('live add', (evs) => evs.length >= 2);
    expect(summarize(w.events)).toEqual(['in-sync', 'added:default/a']);
    expect(server.requests.filter(isList).length).toBe(lists);
    const lastWatch = server.requests.filter(isWatch).at(-1)!.url;
    expect(lastWatch).toContain('allowWatchBookmarks=true');
  });

  it('label selectors on list and watch; a bad selector is a clear error, not a retry loop', async () => {
    const store = await open();
    await store.create(podFixture('default', 'web', { app: 'web' }));
    await store.create(podFixture('default', 'db', { app: 'db' }));
    expect(
      (await store.list('Pod', { labelSelector: 'app in (web,cache)' })).items.map((p) => p.metadata.name),
    ).toEqual(['web']);
    expect((await store.list('Pod', { labelSelector: 'app!=web' })).items.map((p) => p.metadata.name)).toEqual(['db']);
    const err = await store.list('Pod', { labelSelector: 'app in (' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MGY_KUBERNETES_API', httpStatus: 400 });
    const bad = watchPods(store, { labelSelector: '!!' });
    await bad.until('error', (evs) => evs.length > 0);
    expect(summarize(bad.events)).toEqual(['error:MGY_KUBERNETES_API']);
    expect((bad.events[0] as { error: Error }).error.message).toContain('400');
  });

  it('reads built-in list items (no apiVersion/kind on the wire) and custom resources alike', async () => {
    const store = await open();
    const pool = await store.create({
      apiVersion: 'margay.dev/v1',
      kind: 'IPPool',
      metadata: { name: 'pool-a' },
      spec: { cidr: '10.244.0.0/16', blockSize: 26 },
    });
    expect(pool.metadata.generation).toBe(1);
    const pods = await store.list('Namespace');
    expect(pods.items.every((n) => n.apiVersion === 'v1' && n.kind === 'Namespace')).toBe(true);
    expect((await store.list('IPPool')).items).toEqual([pool]);
    const ns = await store.get('Namespace', 'default');
    expect(ns?.metadata.labels).toEqual({ 'kubernetes.io/metadata.name': 'default' });
  });

  it('unreachable server: open fails with DatastoreUnavailableError naming the URL', async () => {
    const url = server.url;
    await server.stop();
    const err = await openKubernetesDatastore({ kubeconfig, log: pino({ level: 'silent' }) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MGY_DATASTORE_UNAVAILABLE' });
    expect((err as Error).message).toMatch(new RegExp(`${url.replace(/[.]/g, '\\.')}.*ECONNREFUSED`));
    await server.comeUp();
  });

  it('a missing kubeconfig is a ConfigError naming the file', async () => {
    const path = join(dir, 'nope');
    const err = await openKubernetesDatastore({ kubeconfig: path, log: pino({ level: 'silent' }) }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'MGY_CONFIG' });
    expect((err as Error).message).toContain(path);
  });

  it('warns at open about margay.dev kinds whose CRD is not installed', async () => {
    await server.stop();
    server = await FakeApiServer.start({ crdDir: null });
    kubeconfig = server.writeKubeconfig(join(dir, 'kubeconfig'));
    const store = await open();
    const warn = logs.find((l) => l.msg === 'margay.dev CustomResourceDefinitions not installed');
    expect(warn?.missing).toContain('IPPool');
    const err = await store.list('IPPool').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MGY_KUBERNETES_API', httpStatus: 404 });
    expect((err as Error).message).toContain('deploy/crds');
  });
});

describe('kubernetes datastore: objects other clients wrote invalid', () => {
  const pool = (cidr: string) => ({
    apiVersion: 'margay.dev/v1',
    kind: 'IPPool',
    metadata: { name: 'pool-x' },
    spec: { cidr },
  });
  const put = async (obj: Record<string, unknown>) => {
    const res = await fetch(`${server.url}/apis/margay.dev/v1/ippools/pool-x`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(obj),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, any>;
  };

  it('are skipped by list, refused by get with the field named, and absent from watches until fixed', async () => {
    const store = await open();
    await store.create(pool('10.1.0.0/16') as never);
    const bad = server.create({ ...pool('not-a-cidr'), metadata: { name: 'pool-y' } }) as Record<string, any>;
    expect(bad.metadata.name).toBe('pool-y');
    expect((await store.list('IPPool')).items.map((p) => p.metadata.name)).toEqual(['pool-x']);
    expect(logs.some((l) => l.msg === 'invalid object skipped' && l.name === 'pool-y')).toBe(true);
    const err = await store.get('IPPool', 'pool-y').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MGY_VALIDATION' });
    expect((err as Error).message).toContain('spec.cidr');

    const w = recordWatch(store, 'IPPool', {});
    handles.push(w.handle);
    await w.until('in-sync', (evs) => evs.some((e) => e.type === 'in-sync'));
    const x = (await store.get('IPPool', 'pool-x'))!;
    const broken = await put({ ...x, spec: { cidr: 'garbage' } });
    await w.until('deleted', (evs) => evs.length >= 3);
    await put({ ...broken, spec: { cidr: '10.2.0.0/16' } });
    await w.until('re-added', (evs) => evs.length >= 4);
    expect(summarize(w.events)).toEqual(['added:pool-x', 'in-sync', 'deleted:pool-x', 'added:pool-x']);
    const readded = w.events[3] as unknown as { object: { spec: { cidr: string; blockSize?: number } } };
    expect(readded.object.spec.cidr).toBe('10.2.0.0/16');
    expect(readded.object.spec.blockSize).toBe(26); // the model's default, applied on read
    expect(logs.some((l) => l.msg === 'invalid object treated as absent')).toBe(true);
  });
});
