import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KINDS } from '../../src/model/kinds.js';
import { FakeApiServer } from './server.js';

/** The fake API server's protocol, checked over raw HTTP against what kube-apiserver answers. */
let server: FakeApiServer;

beforeEach(async () => {
  server = await FakeApiServer.start({ bookmarkIntervalMs: 20 });
});
afterEach(async () => {
  await server.stop();
});

async function call(method: string, path: string, body?: unknown, contentType = 'application/json') {
  const res = await fetch(server.url + path, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': contentType },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

interface WireEvent {
  type: string;
  object: Record<string, any>;
}

/** Opens a watch and collects its events; `until` waits for a count, `ended` for the server to close it. */
function watch(path: string) {
  const events: WireEvent[] = [];
  const ctl = new AbortController();
  let ended = false;
  const done = (async () => {
    const res = await fetch(server.url + path, { signal: ctl.signal });
    expect(res.status).toBe(200);
    const dec = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += dec.decode(chunk, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        events.push(JSON.parse(buf.slice(0, i)) as WireEvent);
        buf = buf.slice(i + 1);
      }
    }
    ended = true;
  })().catch((err: unknown) => {
    if ((err as Error).name !== 'AbortError') throw err;
  });
  const until = async (pred: (evs: WireEvent[]) => boolean, what: string) => {
    const deadline = Date.now() + 5000;
    while (!pred(events)) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}: ${JSON.stringify(events.map((e) => e.type))}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  return { events, until, done, stop: () => ctl.abort(), isEnded: () => ended };
}

const names = (evs: WireEvent[]) =>
  evs.filter((e) => e.type !== 'BOOKMARK').map((e) => `${e.type}:${e.object.metadata?.name}`);
const pod = (name: string, labels: Record<string, string> = {}, nodeName = 'n1') => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels },
  spec: { nodeName, containers: [{ name: 'c', image: 'pause' }] },
});

describe('fake API server', () => {
  it('serves discovery, with margay.dev resources exactly as deploy/crds and kinds.ts define them', async () => {
    expect((await call('GET', '/version')).body).toMatchObject({ major: '1', minor: '32' });
    expect((await call('GET', '/api')).body).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    const groups = (await call('GET', '/apis')).body.groups.map((g: { name: string }) => g.name);
    expect(groups).toEqual(expect.arrayContaining(['margay.dev', 'networking.k8s.io', 'apiextensions.k8s.io']));
    const core = (await call('GET', '/api/v1')).body.resources.map((r: { name: string }) => r.name);
    expect(core).toEqual(['pods', 'namespaces', 'nodes']);
    const margay = (await call('GET', '/apis/margay.dev/v1')).body.resources as {
      name: string;
      kind: string;
      namespaced: boolean;
    }[];
    const want = Object.values(KINDS).filter((k) => k.group === 'margay.dev');
    expect(margay.map((r) => [r.name, r.kind, r.namespaced]).sort()).toEqual(
      want.map((k) => [k.plural, k.kind, k.namespaced]).sort(),
    );
  });

  it('serves custom resources only while their CRD exists', async () => {
    await server.stop();
    server = await FakeApiServer.start({ crdDir: null });
    const missing = await call('GET', '/apis/margay.dev/v1/ippools');
    expect(missing).toEqual({
      status: 404,
      body: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'the server could not find the requested resource',
        reason: 'NotFound',
        details: {},
        code: 404,
      },
    });
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'ippools.margay.dev' },
      spec: {
        group: 'margay.dev',
        scope: 'Cluster',
        names: { plural: 'ippools', kind: 'IPPool' },
        versions: [{ name: 'v1', served: true, storage: true }],
      },
    };
    expect((await call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd)).status).toBe(201);
    expect((await call('POST', '/apis/margay.dev/v1/ippools', { metadata: { name: 'p' }, spec: {} })).status).toBe(201);
    expect(
      (await call('DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/ippools.margay.dev')).status,
    ).toBe(200);
    expect((await call('GET', '/apis/margay.dev/v1/ippools')).status).toBe(404);
    const badName = await call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
      ...crd,
      metadata: { name: 'x' },
    });
    expect(badName.body).toMatchObject({ code: 422, reason: 'Invalid' });
  });

  it('assigns uid, creationTimestamp, generation and one global, increasing resourceVersion', async () => {
    const a = (await call('POST', '/api/v1/namespaces/default/pods', pod('a'))).body;
    const ns = (await call('POST', '/api/v1/namespaces', { metadata: { name: 'n2' } })).body;
    expect(Number(ns.metadata.resourceVersion)).toBeGreaterThan(Number(a.metadata.resourceVersion));
    expect(a.metadata).toMatchObject({ namespace: 'default', generation: 1 });
    expect(a.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(ns.metadata.labels).toEqual({ 'kubernetes.io/metadata.name': 'n2' });
    expect(ns.status).toEqual({ phase: 'Active' });
    const relabeled = (
      await call('PUT', '/api/v1/namespaces/default/pods/a', { ...a, metadata: { ...a.metadata, labels: { x: 'y' } } })
    ).body;
    expect(relabeled.metadata.generation).toBe(1);
    const respec = (
      await call('PUT', '/api/v1/namespaces/default/pods/a', { ...relabeled, spec: { ...a.spec, nodeName: 'n2' } })
    ).body;
    expect(respec.metadata.generation).toBe(2);
    const noop = (await call('PUT', '/api/v1/namespaces/default/pods/a', respec)).body;
    expect(noop.metadata.resourceVersion).toBe(respec.metadata.resourceVersion);
    const list = (await call('GET', '/api/v1/pods')).body;
    expect(list).toMatchObject({
      kind: 'PodList',
      apiVersion: 'v1',
      metadata: { resourceVersion: respec.metadata.resourceVersion },
    });
    expect(list.items[0].kind).toBeUndefined();
    await call('POST', '/apis/margay.dev/v1/ippools', { metadata: { name: 'p' } });
    expect((await call('GET', '/apis/margay.dev/v1/ippools')).body.items[0]).toMatchObject({
      apiVersion: 'margay.dev/v1',
      kind: 'IPPool',
    });
  });

  it('answers failures with Status objects as the real server does', async () => {
    const a = (await call('POST', '/api/v1/namespaces/default/pods', pod('a'))).body;
    expect(await call('GET', '/api/v1/namespaces/default/pods/zz')).toEqual({
      status: 404,
      body: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'pods "zz" not found',
        reason: 'NotFound',
        details: { name: 'zz', kind: 'pods' },
        code: 404,
      },
    });
    expect((await call('POST', '/api/v1/namespaces/default/pods', pod('a'))).body).toMatchObject({
      code: 409,
      reason: 'AlreadyExists',
      message: 'pods "a" already exists',
    });
    await call('PUT', '/api/v1/namespaces/default/pods/a', { ...a, metadata: { ...a.metadata, labels: { v: '2' } } });
    const stale = await call('PUT', '/api/v1/namespaces/default/pods/a', a);
    expect(stale.body).toMatchObject({
      status: 'Failure',
      code: 409,
      reason: 'Conflict',
      details: { name: 'a', kind: 'pods' },
    });
    expect(stale.body.message).toContain('the object has been modified');
    const noName = await call('POST', '/apis/margay.dev/v1/ippools', { spec: {} });
    expect(noName.body).toMatchObject({
      code: 422,
      reason: 'Invalid',
      details: { causes: [{ field: 'metadata.name', reason: 'FieldValueRequired' }] },
    });
    expect((await call('POST', '/api/v1/namespaces/nowhere/pods', pod('b'))).body).toMatchObject({
      code: 404,
      message: 'namespaces "nowhere" not found',
    });
    expect((await call('GET', '/api/v1/pods?fieldSelector=spec.bogus=1')).body).toMatchObject({
      code: 400,
      message: 'field label not supported: spec.bogus',
    });
    const cr = await call('PUT', '/apis/margay.dev/v1/ippools/p', { metadata: { name: 'p' } });
    expect(cr.status).toBe(404);
    server.failNext(1, { status: 503 });
    expect((await call('GET', '/api/v1/pods')).body).toMatchObject({ code: 503, reason: 'ServiceUnavailable' });
    server.failNext(1, { drop: true });
    await expect(fetch(`${server.url}/api/v1/pods`)).rejects.toThrow();
  });

  it('PATCH: merge, JSON patch, strategic merge (refused for custom resources), version preconditions', async () => {
    const a = (await call('POST', '/api/v1/namespaces/default/pods', pod('a', { x: '1' }))).body;
    const merged = await call(
      'PATCH',
      '/api/v1/namespaces/default/pods/a',
      { metadata: { labels: { x: null, y: '2' } } },
      'application/merge-patch+json',
    );
    expect(merged.body.metadata.labels).toEqual({ y: '2' });
    const jp = await call(
      'PATCH',
      '/api/v1/namespaces/default/pods/a',
      [{ op: 'add', path: '/metadata/labels/z', value: '3' }],
      'application/json-patch+json',
    );
    expect(jp.body.metadata.labels).toEqual({ y: '2', z: '3' });
    const smp = await call(
      'PATCH',
      '/api/v1/namespaces/default/pods/a',
      { spec: { nodeName: 'n9' } },
      'application/strategic-merge-patch+json',
    );
    expect(smp.body.spec.nodeName).toBe('n9');
    const stale = await call(
      'PATCH',
      '/api/v1/namespaces/default/pods/a',
      { metadata: { resourceVersion: a.metadata.resourceVersion, labels: { q: '1' } } },
      'application/merge-patch+json',
    );
    expect(stale.body).toMatchObject({ code: 409, reason: 'Conflict' });
    await call('POST', '/apis/margay.dev/v1/ippools', { metadata: { name: 'p' } });
    expect(
      (await call('PATCH', '/apis/margay.dev/v1/ippools/p', { spec: {} }, 'application/strategic-merge-patch+json'))
        .status,
    ).toBe(415);
    const pre = await call('DELETE', '/api/v1/namespaces/default/pods/a', {
      preconditions: { resourceVersion: a.metadata.resourceVersion },
    });
    expect(pre.body).toMatchObject({ code: 409, reason: 'Conflict' });
    expect((await call('DELETE', '/api/v1/namespaces/default/pods/a')).body.metadata.name).toBe('a');
  });

  it('watch without a version: synthetic ADDED for current objects, then changes; selectors turn label changes into ADDED/DELETED', async () => {
    await call('POST', '/api/v1/namespaces/default/pods', pod('a', { app: 'web' }));
    await call('POST', '/api/v1/namespaces/default/pods', pod('b', { app: 'db' }, 'n2'));
    const all = watch('/api/v1/pods?watch=true');
    const web = watch('/api/v1/namespaces/default/pods?watch=1&labelSelector=app%3Dweb');
    const onN2 = watch('/api/v1/pods?watch=true&resourceVersion=0&fieldSelector=spec.nodeName%3Dn2');
    await all.until((e) => e.length >= 2, 'initial');
    await web.until((e) => e.length >= 1, 'initial');
    await onN2.until((e) => e.length >= 1, 'initial');
    const b = (await call('GET', '/api/v1/namespaces/default/pods/b')).body;
    await call('PUT', '/api/v1/namespaces/default/pods/b', {
      ...b,
      metadata: { ...b.metadata, labels: { app: 'web' } },
    });
    await call('DELETE', '/api/v1/namespaces/default/pods/a');
    await all.until((e) => e.length >= 4, 'changes');
    await web.until((e) => e.length >= 3, 'changes');
    expect(names(all.events)).toEqual(['ADDED:a', 'ADDED:b', 'MODIFIED:b', 'DELETED:a']);
    expect(names(web.events)).toEqual(['ADDED:a', 'ADDED:b', 'DELETED:a']);
    expect(names(onN2.events)).toEqual(['ADDED:b', 'MODIFIED:b']);
    const deleted = all.events[3]!.object;
    expect(Number(deleted.metadata.resourceVersion)).toBeGreaterThan(
      Number(all.events[2]!.object.metadata.resourceVersion),
    );
    for (const w of [all, web, onN2]) w.stop();
  });

  it('watch from a version replays history; too old gives one ERROR 410 Expired event and ends the stream', async () => {
    const a = (await call('POST', '/api/v1/namespaces/default/pods', pod('a'))).body;
    await call('DELETE', '/api/v1/namespaces/default/pods/a');
    const replay = watch(`/api/v1/pods?watch=true&resourceVersion=${a.metadata.resourceVersion}`);
    await replay.until((e) => e.length >= 1, 'replay');
    expect(names(replay.events)).toEqual(['DELETED:a']);
    replay.stop();
    server.compact();
    const old = watch(`/api/v1/pods?watch=true&resourceVersion=${a.metadata.resourceVersion}`);
    await old.done;
    expect(old.isEnded()).toBe(true);
    expect(old.events).toEqual([
      {
        type: 'ERROR',
        object: {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: expect.stringMatching(/^too old resource version: \d+ \(\d+\)$/),
          reason: 'Expired',
          code: 410,
        },
      },
    ]);
    const gone = await call(
      'GET',
      `/api/v1/pods?resourceVersion=${a.metadata.resourceVersion}&resourceVersionMatch=Exact`,
    );
    expect(gone.body).toMatchObject({ code: 410, reason: 'Expired' });
  });

  it('bookmarks only when asked, carrying the current version; timeoutSeconds ends the stream', async () => {
    const plain = watch('/api/v1/pods?watch=true&timeoutSeconds=1');
    const marked = watch('/api/v1/pods?watch=true&allowWatchBookmarks=true');
    await marked.until((e) => e.length >= 2, 'bookmarks');
    expect(marked.events[0]).toEqual({
      type: 'BOOKMARK',
      object: { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: String(server.store.revision) } },
    });
    await plain.done;
    expect(plain.isEnded()).toBe(true);
    expect(plain.events).toEqual([]);
    marked.stop();
  });

  it('test hooks: expireWatches sends 410 to open watches; closeWatches ends them', async () => {
    const w1 = watch('/api/v1/pods?watch=true');
    const w2 = watch('/api/v1/nodes?watch=true');
    await new Promise<void>((r) => {
      const t = setInterval(() => server.openWatches === 2 && (clearInterval(t), r()), 5);
    });
    server.expireWatches();
    await w1.done;
    expect(w1.events.map((e) => [e.type, e.object.code])).toEqual([['ERROR', 410]]);
    await w2.done;
    const w3 = watch('/api/v1/pods?watch=true');
    await new Promise<void>((r) => {
      const t = setInterval(() => server.openWatches === 1 && (clearInterval(t), r()), 5);
    });
    server.closeWatches();
    await w3.done;
    expect(w3.isEnded()).toBe(true);
    expect(w3.events).toEqual([]);
  });
});
