import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  makeInformer,
  type V1Pod,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeApiServer } from './server.js';

/**
 * Fidelity check with a second real client: @kubernetes/client-node's typed APIs and its informer
 * (ListWatch, which relists on 410) against the fake, with no Margay code in between.
 */
let server: FakeApiServer;
let dir: string;
let kc: KubeConfig;

beforeAll(async () => {
  server = await FakeApiServer.start({ bookmarkIntervalMs: 50 });
  dir = mkdtempSync(join(tmpdir(), 'mgy-client-node-'));
  kc = new KubeConfig();
  kc.loadFromFile(server.writeKubeconfig(join(dir, 'kubeconfig')));
});

afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function until(what: string, pred: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const pod = (name: string, labels: Record<string, string> = {}): V1Pod => ({
  metadata: { name, labels },
  spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'pause' }] },
});

describe('@kubernetes/client-node against the fake API server', () => {
  it('typed core API: create, read, list with selectors, stale replace → 409, delete → 404 after', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const created = await core.createNamespacedPod({ namespace: 'default', body: pod('a', { app: 'web' }) });
    expect(created.metadata?.uid).toBeTruthy();
    expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);
    const read = await core.readNamespacedPod({ namespace: 'default', name: 'a' });
    expect(read.spec?.nodeName).toBe('n1');
    const list = await core.listPodForAllNamespaces({ labelSelector: 'app=web', fieldSelector: 'spec.nodeName=n1' });
    expect(list.items.map((p) => p.metadata?.name)).toEqual(['a']);
    expect(list.metadata?.resourceVersion).toMatch(/^\d+$/);
    const updated = await core.replaceNamespacedPod({
      namespace: 'default',
      name: 'a',
      body: { ...read, metadata: { ...read.metadata, labels: { app: 'db' } } },
    });
    const stale = await core
      .replaceNamespacedPod({ namespace: 'default', name: 'a', body: read })
      .catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(ApiException);
    expect((stale as ApiException<unknown>).code).toBe(409);
    expect(JSON.parse((stale as ApiException<string>).body)).toMatchObject({
      kind: 'Status',
      code: 409,
      reason: 'Conflict',
    });
    expect(updated.metadata?.labels).toEqual({ app: 'db' });
    await core.deleteNamespacedPod({ namespace: 'default', name: 'a' });
    const gone = await core.readNamespacedPod({ namespace: 'default', name: 'a' }).catch((e: unknown) => e);
    expect((gone as ApiException<unknown>).code).toBe(404);
  });

  it('custom objects API on margay.dev CRDs: create, list, JSON patch', async () => {
    const custom = kc.makeApiClient(CustomObjectsApi);
    const body = {
      apiVersion: 'margay.dev/v1',
      kind: 'BGPPeer',
      metadata: { name: 'tor' },
      spec: { peerIP: '192.0.2.1', asNumber: 65001 },
    };
    await custom.createClusterCustomObject({ group: 'margay.dev', version: 'v1', plural: 'bgppeers', body });
    const patched = (await custom.patchClusterCustomObject({
      group: 'margay.dev',
      version: 'v1',
      plural: 'bgppeers',
      name: 'tor',
      body: [{ op: 'replace', path: '/spec/asNumber', value: 65002 }],
    })) as { spec: { asNumber: number }; metadata: { generation: number } };
    expect(patched.spec.asNumber).toBe(65002);
    expect(patched.metadata.generation).toBe(2);
    const list = (await custom.listClusterCustomObject({ group: 'margay.dev', version: 'v1', plural: 'bgppeers' })) as {
      items: unknown[];
    };
    expect(list.items).toHaveLength(1);
  });

  it('informer (ListWatch): add/update/delete, relist after a 410 ERROR event, events after it', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespacedPod({ namespace: 'default', body: pod('x') });
    const informer = makeInformer(kc, '/api/v1/namespaces/default/pods', () =>
      core.listNamespacedPod({ namespace: 'default' }),
    );
    const seen: string[] = [];
    informer.on('add', (p) => seen.push(`add:${p.metadata?.name}`));
    informer.on('update', (p) => seen.push(`update:${p.metadata?.name}`));
    informer.on('delete', (p) => seen.push(`delete:${p.metadata?.name}`));
    informer.on('error', (err) => seen.push(`error:${String(err)}`));
    await informer.start();
    try {
      await until('initial add', () => seen.includes('add:x'));
      await until('watch open', () => server.openWatches > 0);
      const x = await core.readNamespacedPod({ namespace: 'default', name: 'x' });
      await core.replaceNamespacedPod({
        namespace: 'default',
        name: 'x',
        body: { ...x, metadata: { ...x.metadata, labels: { v: '2' } } },
      });
      await until('update', () => seen.includes('update:x'));
      // A 410 ERROR in the stream: ListWatch forgets its version, and when the stream ends it relists.
      const lists = () =>
        server.requests.filter(
          (r) => r.method === 'GET' && r.url.startsWith('/api/v1/namespaces/default/pods') && !r.url.includes('watch='),
        ).length;
      const before = lists();
      server.compact();
      server.expireWatches();
      await until('relist', () => lists() === before + 1);
      await until('watch reopened', () => server.openWatches > 0);
      await core.deleteNamespacedPod({ namespace: 'default', name: 'x' });
      await core.createNamespacedPod({ namespace: 'default', body: pod('y') });
      await until('events after relist', () => seen.includes('add:y'));
      expect(seen).toEqual(['add:x', 'update:x', 'delete:x', 'add:y']);
      expect(informer.list('default').map((p) => p.metadata?.name)).toEqual(['y']);
    } finally {
      await informer.stop();
    }
  });
});
