import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../log.js';
// Loaded up front: the store imports the model's validators lazily, on its first write, and under
// vitest's transform that first import can take seconds on a busy machine (a test timeout, not a bug).
import '../model/index.js';
import type { Resource } from '../model/kinds.js';
import { podFixture, recordWatch, summarize } from './contract.js';
import { FileDatastore, type FileDatastoreOptions } from './file.js';
import { LegacyFileDatastore } from './legacy/legacy-file.js';

/** The file datastore's directory side: manifests applied like kubectl apply, ownership, import. */
const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'mgy-dsdir-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
const stores: { close(): Promise<void> }[] = [];
async function openStore(dir: string, extra: Partial<FileDatastoreOptions> = {}): Promise<FileDatastore> {
  const s = await FileDatastore.open({ dir, log: silentLogger(), rescanIntervalMs: 30, settleMs: 0, ...extra });
  stores.push(s);
  return s;
}
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

function capturingLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level: 'info' },
    { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) },
  );
  return { log, lines };
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const HAND_WRITTEN = `# Cluster objects, written by hand.
apiVersion: v1
kind: Namespace
metadata:
  name: team-a   # the first team
---
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: team-a
  labels: { app: web }
spec:
  nodeName: node-1
  containers: [{ name: main, image: nginx }]
---
apiVersion: v1
kind: Pod
metadata:
  name: db
  namespace: team-a
spec:
  nodeName: node-2
  containers: [{ name: main, image: postgres }]
`;

const NODE = (extra: string) =>
  `apiVersion: v1\nkind: Node\nmetadata:\n  name: node-1\n  labels: {rack: r1}\nspec:\n${extra}`;

describe('FileDatastore: manifest files are desired state', () => {
  it('applies hand-written multi-document files without touching them; API writes create no files', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'cluster.yaml'), HAND_WRITTEN);
    const store = await openStore(dir);
    const pods = await store.list('Pod');
    expect(pods.items.map((p) => p.metadata.name).sort()).toEqual(['db', 'web']);
    expect((await store.get('Namespace', 'team-a'))?.metadata.uid).toBeTruthy();
    await store.create(podFixture('ns1', 'api-pod'));
    expect(await readFile(join(dir, 'cluster.yaml'), 'utf8')).toBe(HAND_WRITTEN);
    expect((await readdir(dir)).sort()).toEqual(['.margay', 'cluster.yaml']);
    expect(store.problems()).toEqual([]);
  });

  it('a changed file applies, a dropped document and a deleted file delete their objects', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'cluster.yaml'), HAND_WRITTEN);
    const store = await openStore(dir);
    const w = recordWatch(store, 'Pod', {});
    await w.until('in-sync', (evs) => evs.some((e) => e.type === 'in-sync'));
    await writeFile(
      join(dir, 'cluster.yaml'),
      HAND_WRITTEN.replace('app: web', 'app: changed').split('---\n').slice(0, 2).join('---\n'),
    );
    await w.until(
      'modify + delete',
      (evs) => summarize(evs).includes('deleted:team-a/db') && summarize(evs).includes('modified:team-a/web'),
    );
    await rm(join(dir, 'cluster.yaml'));
    await w.until('file removal', (evs) => summarize(evs).includes('deleted:team-a/web'));
    expect(await store.get('Namespace', 'team-a')).toBeUndefined();
  });

  it('an API write to a file-owned object is kept; the next file change three-way merges', async () => {
    const dir = await tempDir();
    const file = join(dir, 'node.yaml');
    await writeFile(file, NODE('  podCIDR: 10.0.0.0/24\n'));
    const store = await openStore(dir);
    const node = (await store.get('Node', 'node-1'))!;
    // The agent records what it learned (an annotation and a label); the file never set these.
    const v2 = await store.update({
      ...node,
      metadata: {
        ...node.metadata,
        labels: { ...node.metadata.labels, agent: 'yes' },
        annotations: { 'margay.dev/bgp': '10.0.0.1' },
      },
      status: { addresses: [{ type: 'InternalIP', address: '10.0.0.1' }] },
    });
    expect(v2.metadata.annotations).toEqual({ 'margay.dev/bgp': '10.0.0.1' });
    // The operator edits the file: drops podCIDR, changes the rack label.
    await writeFile(file, NODE('  podCIDRs: [10.0.1.0/24]\n').replace('rack: r1', 'rack: r2'));
    const merged = await eventually('the merge', async () => {
      const n = await store.get('Node', 'node-1');
      return n?.metadata.labels?.['rack'] === 'r2' ? n : undefined;
    });
    expect(merged.metadata.labels).toEqual({ rack: 'r2', agent: 'yes' });
    expect(merged.metadata.annotations).toEqual({ 'margay.dev/bgp': '10.0.0.1' });
    expect(merged.spec).toEqual({ podCIDRs: ['10.0.1.0/24'] });
    expect(merged.status).toEqual({ addresses: [{ type: 'InternalIP', address: '10.0.0.1' }] });
    expect(merged.metadata.uid).toBe(node.metadata.uid);
    expect(await readFile(file, 'utf8')).not.toContain('agent');
  });

  it('an API delete of a file-owned object holds until the file changes; then the file re-creates it', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'ns.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: solo\n');
    const store = await openStore(dir);
    await store.delete('Namespace', 'solo');
    await new Promise((r) => setTimeout(r, 150)); // several rescans
    expect(await store.get('Namespace', 'solo')).toBeUndefined();
    await writeFile(
      join(dir, 'ns.yaml'),
      'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: solo\n  labels: {x: y}\n',
    );
    await eventually('re-created', () => store.get('Namespace', 'solo'));
  });

  it('reports a malformed file with file, line and reason, skips it, keeps the rest; a fix applies it', async () => {
    const dir = await tempDir();
    const { log, lines } = capturingLogger();
    await writeFile(join(dir, 'good.yaml'), HAND_WRITTEN);
    await writeFile(
      join(dir, 'bad.yaml'),
      'apiVersion: v1\nkind: Pod\nmetadata: {name: broken, namespace: team-a\nspec: {}\n',
    );
    await writeFile(
      join(dir, 'mixed.yml'),
      'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: fine\n---\napiVersion: v1\nkind: Gizmo\nmetadata:\n  name: what\n',
    );
    const store = await openStore(dir, { log });
    const problems = store.problems();
    expect(problems.find((p) => p.file === 'bad.yaml')).toMatchObject({
      line: expect.any(Number),
      reason: expect.stringMatching(/YAML/),
    });
    expect(problems.find((p) => p.file === 'mixed.yml')).toMatchObject({
      line: 7,
      reason: expect.stringMatching(/Gizmo/),
    });
    expect(lines.some((l) => l['msg'] === 'manifest problem: document skipped' && l['file'] === 'bad.yaml')).toBe(true);
    expect((await store.list('Namespace')).items.map((n) => n.metadata.name).sort()).toEqual(['fine', 'team-a']);
    await writeFile(
      join(dir, 'bad.yaml'),
      'apiVersion: v1\nkind: Pod\nmetadata: {name: broken, namespace: team-a}\nspec: {nodeName: n}\n',
    );
    await eventually('the fix', () => store.get('Pod', 'broken', 'team-a'));
    expect(store.problems().filter((p) => p.file === 'bad.yaml')).toEqual([]);
  });

  it('keeps the last good objects of a file that breaks', async () => {
    const dir = await tempDir();
    const file = join(dir, 'cluster.yaml');
    await writeFile(file, HAND_WRITTEN);
    const store = await openStore(dir);
    await writeFile(file, HAND_WRITTEN.split('---\n')[0] + '---\nkind: [\n');
    await eventually('problem reported', async () => (store.problems().length > 0 ? true : undefined));
    expect((await store.list('Pod')).items.map((p) => p.metadata.name).sort()).toEqual(['db', 'web']);
  });

  it('reports the same object twice in one file and across files', async () => {
    const dir = await tempDir();
    const ns = (labels: string) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: dup\n  labels: {${labels}}\n`;
    await writeFile(join(dir, 'a.yaml'), `${ns('n: "1"')}---\n${ns('n: "2"')}`);
    await writeFile(join(dir, 'b.yaml'), `# again\n${ns('n: "3"')}`);
    const store = await openStore(dir);
    expect((await store.get('Namespace', 'dup'))?.metadata.labels).toEqual({ n: '1' });
    expect(store.problems()).toEqual([
      { file: 'a.yaml', line: 7, reason: expect.stringMatching(/defined twice in this file \(first at line 1\)/) },
      { file: 'b.yaml', line: 2, reason: expect.stringMatching(/already defined in a\.yaml/) },
    ]);
  });

  it('rejects annotations over 256 KiB, in a file and through the API, naming the limit', async () => {
    const dir = await tempDir();
    const big = 'x'.repeat(300 * 1024);
    await writeFile(
      join(dir, 'big.yaml'),
      `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: big\n  annotations:\n    a: ${big}\n`,
    );
    const store = await openStore(dir);
    expect(store.problems()).toEqual([
      { file: 'big.yaml', line: expect.any(Number), reason: expect.stringMatching(/262144 bytes \(256 KiB/) },
    ]);
    const pod: Resource = {
      ...podFixture('ns1', 'p'),
      metadata: { name: 'p', namespace: 'ns1', annotations: { a: big } },
    };
    await expect(store.create(pod)).rejects.toMatchObject({
      code: 'MGY_VALIDATION',
      message: expect.stringMatching(/256 KiB/),
    });
  });

  it('a file stamped in the future is read at once; a file still being written waits to settle', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'cluster.yaml'), HAND_WRITTEN);
    const tomorrow = new Date(Date.now() + 86_400_000);
    await utimes(join(dir, 'cluster.yaml'), tomorrow, tomorrow);
    const store = await openStore(dir, { settleMs: 60_000 });
    expect((await store.list('Pod')).items).toHaveLength(2);
  });

  it('hostile entries are problems of their own file only: loop, outside target, directory, oversized', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'cluster.yaml'), HAND_WRITTEN);
    await symlink('loop-b.yaml', join(dir, 'loop-a.yaml'));
    await symlink('loop-a.yaml', join(dir, 'loop-b.yaml'));
    await symlink('/etc/hostname', join(dir, 'outside.yaml'));
    await mkdir(join(dir, 'adir'));
    await symlink(join(dir, 'adir'), join(dir, 'todir.yaml'));
    await writeFile(join(dir, 'huge.yaml'), `# ${'y'.repeat(1024 * 1024)}\n`);
    await writeFile(join(dir, 'adir', 'inner.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: inner\n');
    await symlink(join(dir, 'adir', 'inner.yaml'), join(dir, 'link-in.yaml'));
    const store = await openStore(dir);
    const byFile = Object.fromEntries(store.problems().map((p) => [p.file, p.reason]));
    expect(byFile).toEqual({
      'loop-a.yaml': expect.stringMatching(/symlink loop/),
      'loop-b.yaml': expect.stringMatching(/symlink loop/),
      'outside.yaml': expect.stringMatching(/outside the datastore directory/),
      'todir.yaml': expect.stringMatching(/symlink to a directory/),
      'huge.yaml': expect.stringMatching(/over the limit of 1048576 bytes \(1 MiB\)/),
      'link-in.yaml': expect.stringMatching(/already defined in adir\/inner\.yaml/),
    });
    expect((await store.list('Pod')).items).toHaveLength(2);
    expect(await store.get('Namespace', 'inner')).toBeTruthy();
  });
});

describe('FileDatastore: health', () => {
  it('reports unreadable while its database file is gone, readable again when it is back', async () => {
    const dir = await tempDir();
    const store = await openStore(dir);
    const seen: boolean[] = [];
    store.onStatus((s) => seen.push(s.readable));
    await rename(join(dir, '.margay'), join(dir, '.margay-away'));
    await eventually('unreadable', async () => (seen.at(-1) === false ? true : undefined));
    expect(store.status().reason).toMatch(/store\.db is gone or was replaced/);
    await rename(join(dir, '.margay-away'), join(dir, '.margay'));
    await eventually('readable', async () => (seen.at(-1) === true ? true : undefined));
    expect(seen).toEqual([true, false, true]);
  });
});

describe('FileDatastore: import of the previous layout', () => {
  it('imports objects with their versions and uids once; API-layout files move aside, hand-written ones stay owned', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'cluster.yaml'), HAND_WRITTEN);
    const old = await LegacyFileDatastore.open({ dir, log: silentLogger() });
    const api = await old.create(podFixture('ns1', 'api-pod', { app: 'x' }));
    const web = (await old.get('Pod', 'web', 'team-a'))!;
    await old.update({ ...web, metadata: { ...web.metadata, labels: { app: 'web', by: 'api' } } });
    const before = (await old.list('Pod')).items;
    const rev = (await old.list('Pod')).resourceVersion;
    await old.close();
    expect(await stat(join(dir, 'pods', 'ns1', 'api-pod.yaml'))).toBeTruthy();

    const store = await openStore(dir);
    const after = (await store.list('Pod')).items;
    const key = (o: Resource) => `${o.metadata.namespace}/${o.metadata.name}`;
    expect(after.map((o) => [key(o), o.metadata.uid, o.metadata.resourceVersion, o.metadata.labels]).sort()).toEqual(
      before.map((o) => [key(o), o.metadata.uid, o.metadata.resourceVersion, o.metadata.labels]).sort(),
    );
    expect((await store.list('Pod')).resourceVersion).toBe(rev);
    await expect(stat(join(dir, 'pods'))).resolves.toBeTruthy();
    await expect(stat(join(dir, 'pods', 'ns1', 'api-pod.yaml'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readFile(join(dir, '.margay', 'imported-v1', 'pods', 'ns1', 'api-pod.yaml'), 'utf8')).toContain(
      'api-pod',
    );
    expect((await readdir(join(dir, '.margay'))).sort()).toEqual([
      'imported-v1',
      'store.db',
      'store.db-commit', // commit-signal.ts
      'store.db-shm',
      'store.db-wal',
    ]);
    const next = await store.update({
      ...api,
      metadata: { ...api.metadata, resourceVersion: api.metadata.resourceVersion },
    });
    expect(Number(next.metadata.resourceVersion)).toBeGreaterThan(Number(rev));
    // The hand-written file still owns its objects: editing it applies.
    await writeFile(join(dir, 'cluster.yaml'), HAND_WRITTEN.replace('app: web', 'app: web3'));
    const edited = await eventually('edit applied', async () => {
      const w = await store.get('Pod', 'web', 'team-a');
      return w?.metadata.labels?.['app'] === 'web3' ? w : undefined;
    });
    expect(edited.metadata.labels).toEqual({ app: 'web3' }); // "by" was in the file (last applied), now dropped
    await store.close();
    const again = await openStore(dir);
    expect((await again.list('Pod')).items).toHaveLength(3);
  });
});
