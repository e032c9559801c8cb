import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, mkdir, readdir, stat, symlink, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino, type Logger } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../log.js';
import { bundleWorker } from '../../test/datastore/bundle-worker.js';
import { datastoreContract, podFixture, recordWatch, summarize, withCounter, counterOf } from './contract.js';
import { FileDatastore, type FileDatastoreOptions } from './file.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'mgy-ds-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

datastoreContract('file', async (opts) => {
  const dir = await tempDir();
  const store = await FileDatastore.open({ dir, log: silentLogger(), ...opts });
  return { store, cleanup: () => store.close() };
});

function capturingLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
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

const stores: FileDatastore[] = [];
async function openStore(dir: string, extra: Partial<FileDatastoreOptions> = {}): Promise<FileDatastore> {
  const s = await FileDatastore.open({ dir, log: silentLogger(), ...extra });
  stores.push(s);
  return s;
}
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

const HAND_WRITTEN = `# Cluster objects, written by hand.
apiVersion: v1
kind: Namespace
metadata:
  name: team-a   # the first team
---
# a pod
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

describe('FileDatastore: manifests on disk', () => {
  it('loads hand-written multi-document files without touching them, and versions their objects', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'cluster.yaml'), HAND_WRITTEN);
    const store = await openStore(dir);
    const pods = await store.list('Pod');
    expect(pods.items.map((p) => p.metadata.name).sort()).toEqual(['db', 'web']);
    expect(pods.items.every((p) => /^\d+$/.test(p.metadata.resourceVersion ?? ''))).toBe(true);
    expect((await store.get('Namespace', 'team-a'))?.metadata.uid).toBeTruthy();
    expect(await readFile(join(dir, 'cluster.yaml'), 'utf8')).toBe(HAND_WRITTEN);
    expect(store.problems()).toEqual([]);
  });

  it('writes API-created objects one per file, without store metadata; versions survive reopening', async () => {
    const dir = await tempDir();
    const a = await openStore(dir);
    const created = await a.create(podFixture('ns1', 'api-pod', { app: 'x' }));
    const text = await readFile(join(dir, 'pods', 'ns1', 'api-pod.yaml'), 'utf8');
    expect(text).toContain('name: api-pod');
    expect(text).not.toContain('resourceVersion');
    expect(text).not.toContain('uid');
    await a.close();
    const b = await openStore(dir);
    expect((await b.get('Pod', 'api-pod', 'ns1'))?.metadata).toMatchObject({
      resourceVersion: created.metadata.resourceVersion,
      uid: created.metadata.uid,
    });
    await b.delete('Pod', 'api-pod', 'ns1');
    await expect(stat(join(dir, 'pods', 'ns1', 'api-pod.yaml'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('updates and deletes a hand-written object by rewriting only its document', async () => {
    const dir = await tempDir();
    const file = join(dir, 'cluster.yaml');
    await writeFile(file, HAND_WRITTEN);
    const store = await openStore(dir);
    const web = (await store.get('Pod', 'web', 'team-a'))!;
    await store.update({ ...web, metadata: { ...web.metadata, labels: { app: 'web', tier: 'front' } } });
    const after = await readFile(file, 'utf8');
    const [nsDoc, , dbDoc] = HAND_WRITTEN.split('---\n');
    expect(after.startsWith(nsDoc!)).toBe(true); // first document, comments and all, untouched
    expect(after.endsWith(dbDoc!)).toBe(true);
    expect(after).toContain('tier: front');
    expect(after).not.toContain('resourceVersion');
    await store.delete('Pod', 'web', 'team-a');
    const left = await readFile(file, 'utf8');
    expect(left.startsWith(nsDoc!)).toBe(true);
    expect(left.endsWith(dbDoc!)).toBe(true);
    expect(left).not.toContain('name: web');
    // The index still points at the right documents after the shift.
    const db = (await store.get('Pod', 'db', 'team-a'))!;
    await store.update({ ...db, metadata: { ...db.metadata, labels: { moved: 'yes' } } });
    expect(await readFile(file, 'utf8')).toContain('moved: yes');
    expect((await store.get('Namespace', 'team-a'))?.metadata.name).toBe('team-a');
    const reopened = await openStore(dir);
    expect((await reopened.list('Pod')).items.map((p) => p.metadata.labels)).toEqual([{ moved: 'yes' }]);
  });

  it('reports a malformed file with file, line and reason, skips it, keeps the rest working; a fix makes it appear', async () => {
    const dir = await tempDir();
    const { log, lines } = capturingLogger();
    await writeFile(join(dir, 'good.yaml'), HAND_WRITTEN);
    await writeFile(join(dir, 'bad.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: broken, namespace: team-a\nspec: {}\n');
    await writeFile(
      join(dir, 'mixed.yml'),
      'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: fine\n---\napiVersion: v1\nkind: Gizmo\nmetadata:\n  name: what\n',
    );
    const store = await openStore(dir, { log });
    const problems = store.problems();
    expect(problems.find((p) => p.file === 'bad.yaml')).toMatchObject({ line: expect.any(Number), reason: expect.stringMatching(/YAML/) });
    expect(problems.find((p) => p.file === 'mixed.yml')).toMatchObject({ line: 7, reason: expect.stringMatching(/Gizmo/) });
    expect(lines.some((l) => l['msg'] === 'manifest problem: document skipped' && l['file'] === 'bad.yaml' && l['line'])).toBe(true);
    expect((await store.list('Pod')).items.map((p) => p.metadata.name).sort()).toEqual(['db', 'web']);
    expect((await store.list('Namespace')).items.map((n) => n.metadata.name).sort()).toEqual(['fine', 'team-a']);
    await store.create(podFixture('team-a', 'still-writable'));

    const w = recordWatch(store, 'Pod', {});
    await w.until('in-sync', (evs) => evs.some((e) => e.type === 'in-sync'));
    await writeFile(join(dir, 'bad.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: broken, namespace: team-a}\nspec: {nodeName: n}\n');
    await w.until('the fixed pod', (evs) => summarize(evs).includes('added:team-a/broken'));
    expect(store.problems().filter((p) => p.file === 'bad.yaml')).toEqual([]);
    w.handle.stop();
  });

  it('keeps the last good objects of a file that breaks, and applies the fix', async () => {
    const dir = await tempDir();
    const file = join(dir, 'cluster.yaml');
    await writeFile(file, HAND_WRITTEN);
    const store = await openStore(dir);
    await writeFile(file, HAND_WRITTEN.replace('containers: [{ name: main, image: nginx }]', 'containers: [{ name: main'));
    await eventually('problem reported', async () => (store.problems().length > 0 ? true : undefined));
    expect((await store.list('Pod')).items.map((p) => p.metadata.name).sort()).toEqual(['db', 'web']);
    await writeFile(file, HAND_WRITTEN.replace('app: web', 'app: web2'));
    await eventually('fix applied', async () =>
      (await store.get('Pod', 'web', 'team-a'))?.metadata.labels?.['app'] === 'web2' ? true : undefined,
    );
    expect(store.problems()).toEqual([]);
  });

  it('keeps comments around a single hand-written document it updates', async () => {
    const dir = await tempDir();
    const file = join(dir, 'ns.yaml');
    await writeFile(file, '# owned by the platform team\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: solo\n');
    const store = await openStore(dir);
    const ns = (await store.get('Namespace', 'solo'))!;
    await store.update({ ...ns, metadata: { ...ns.metadata, labels: { env: 'prod' } } });
    const text = await readFile(file, 'utf8');
    expect(text.startsWith('# owned by the platform team\n')).toBe(true);
    expect(text).toContain('env: prod');
  });

  it('reports an unreadable manifest as a problem of that file only', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'cluster.yaml'), HAND_WRITTEN);
    await mkdir(join(dir, 'adir'));
    await symlink(join(dir, 'adir'), join(dir, 'trap.yaml'));
    const store = await openStore(dir);
    expect(store.problems()).toEqual([{ file: 'trap.yaml', line: 1, reason: 'cannot read file: EISDIR' }]);
    expect((await store.list('Pod')).items).toHaveLength(2);
  });

  it('reports an object defined in two files once, as a duplicate', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'a.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: dup\n');
    await writeFile(join(dir, 'b.yaml'), '# again\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: dup\n');
    const store = await openStore(dir);
    expect((await store.list('Namespace')).items).toHaveLength(1);
    expect(store.problems()).toEqual([{ file: 'b.yaml', line: 2, reason: expect.stringMatching(/duplicate.*a\.yaml/) }]);
  });
});

describe('FileDatastore: change notification', () => {
  for (const useFsWatch of [true, false]) {
    // The one-second bound is timed in test/datastore/file-notify.int.test.ts (no timed unit tests).
    it(`a hand edit reaches a watcher (${useFsWatch ? 'fs.watch' : 'rescan only'})`, async () => {
      const dir = await tempDir();
      await writeFile(join(dir, 'cluster.yaml'), HAND_WRITTEN);
      const store = await openStore(dir, { useFsWatch });
      const w = recordWatch(store, 'Pod', {});
      await w.until('in-sync', (evs) => evs.some((e) => e.type === 'in-sync'));
      await writeFile(join(dir, 'cluster.yaml'), HAND_WRITTEN.replace('app: web', 'app: changed'));
      await w.until('the modification', (evs) => summarize(evs).includes('modified:team-a/web'));
      await mkdir(join(dir, 'more', 'nested'), { recursive: true });
      await writeFile(join(dir, 'more', 'nested', 'p.yml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: deep, namespace: x}\n');
      await w.until('the nested file', (evs) => summarize(evs).includes('added:x/deep'));
      await rm(join(dir, 'cluster.yaml'));
      await w.until('deletions', (evs) => summarize(evs).filter((s) => s.startsWith('deleted:')).length === 2);
    });
  }

  it('a file caught half-written is not applied: no objects vanish while it is rewritten in place', async () => {
    const dir = await tempDir();
    const file = join(dir, 'cluster.yaml');
    await writeFile(file, HAND_WRITTEN);
    const store = await openStore(dir, { rescanIntervalMs: 20, settleMs: 1_000 });
    const w = recordWatch(store, 'Pod', {});
    await w.until('in-sync', (evs) => evs.some((e) => e.type === 'in-sync'));
    // `cat > cluster.yaml` caught after its first document: parses cleanly, two pods missing.
    await writeFile(file, HAND_WRITTEN.slice(0, HAND_WRITTEN.indexOf('---')));
    await new Promise((r) => setTimeout(r, 300)); // many rescans and fs.watch events meanwhile
    await writeFile(file, HAND_WRITTEN.replace('app: web', 'app: done'));
    await w.until('the finished file', (evs) => summarize(evs).includes('modified:team-a/web'));
    expect(summarize(w.events)).toEqual(['added:team-a/web', 'added:team-a/db', 'in-sync', 'modified:team-a/web']);
    expect(store.problems()).toEqual([]);
  });

  it('a file stamped in the future is read at once, not left waiting to settle', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'cluster.yaml'), HAND_WRITTEN);
    const tomorrow = new Date(Date.now() + 86_400_000);
    await utimes(join(dir, 'cluster.yaml'), tomorrow, tomorrow);
    const store = await openStore(dir, { settleMs: 60_000 });
    expect((await store.list('Pod')).items.map((p) => p.metadata.name).sort()).toEqual(['db', 'web']);
  });

  it('another instance on the same directory sees API writes as watch events', async () => {
    const dir = await tempDir();
    const a = await openStore(dir);
    const b = await openStore(dir);
    const w = recordWatch(b, 'Pod', {});
    await w.until('in-sync', (evs) => evs.some((e) => e.type === 'in-sync'));
    const p = await a.create(podFixture('ns1', 'p'));
    await a.update(withCounter(p, 1));
    await w.until('two events', (evs) => evs.length >= 3);
    expect(summarize(w.events)).toEqual(['in-sync', 'added:ns1/p', 'modified:ns1/p']);
    w.handle.stop();
  });
});

describe('FileDatastore: locking across processes', () => {
  let worker: { path: string; remove: () => Promise<void> };
  beforeAll(async () => {
    worker = await bundleWorker('test/datastore/cas-worker.ts');
  });
  afterAll(async () => {
    await worker.remove();
  });

  it('several processes incrementing one counter lose no update', async () => {
    const dir = await tempDir();
    const store = await openStore(dir);
    await store.create(withCounter(podFixture('ns1', 'counter'), 0));
    const PROCS = 4;
    const EACH = 25;
    const outputs = await Promise.all(
      Array.from({ length: PROCS }, () => promisify(execFile)(process.execPath, [worker.path, dir, 'counter', String(EACH)])),
    );
    const versions = outputs.flatMap((o) => (JSON.parse(o.stdout) as { versions: string[] }).versions);
    expect(versions).toHaveLength(PROCS * EACH);
    expect(new Set(versions).size).toBe(PROCS * EACH);
    expect(counterOf((await store.get('Pod', 'counter', 'ns1'))!)).toBe(PROCS * EACH);
    expect((await readdir(join(dir, '.margay'))).sort()).toEqual(['state.json']);
  }, 60_000);

  it('recovers a lock left by a dead process', async () => {
    const dir = await tempDir();
    const store = await openStore(dir, { lockTimeoutMs: 2_000 });
    const dead = spawn(process.execPath, ['-e', '0']);
    const pid = dead.pid!;
    await new Promise((r) => dead.on('exit', r));
    const { hostname } = await import('node:os');
    await writeFile(join(dir, '.margay', 'lock'), `${pid} ${hostname()} ${Date.now()} dead`);
    await store.create(podFixture('ns1', 'after-crash'));
    expect(await store.get('Pod', 'after-crash', 'ns1')).toBeTruthy();
    expect((await readdir(join(dir, '.margay'))).sort()).toEqual(['state.json']);
  });

  it('breaks a lock held past staleLockMs even if its process lives', async () => {
    const dir = await tempDir();
    const store = await openStore(dir, { lockTimeoutMs: 2_000, staleLockMs: 1_000 });
    const { hostname } = await import('node:os');
    await writeFile(join(dir, '.margay', 'lock'), `${process.pid} ${hostname()} ${Date.now() - 60_000} old`);
    await expect(store.create(podFixture('ns1', 'x'))).resolves.toBeTruthy();
  });

  it('rebuilds a deleted index from the manifests', async () => {
    const dir = await tempDir();
    const a = await openStore(dir);
    const made = await a.create(podFixture('ns1', 'keep'));
    await a.close();
    await rm(join(dir, '.margay', 'state.json'));
    const b = await openStore(dir);
    const got = await b.get('Pod', 'keep', 'ns1');
    expect(got?.metadata.labels).toEqual(made.metadata.labels);
    expect(got?.metadata.uid).not.toBe(made.metadata.uid);
  });

  it('waits for a live lock and times out with DatastoreUnavailableError', async () => {
    const dir = await tempDir();
    const store = await openStore(dir, { lockTimeoutMs: 200 });
    const { hostname } = await import('node:os');
    await writeFile(join(dir, '.margay', 'lock'), `${process.pid} ${hostname()} ${Date.now()} alive`);
    await expect(store.create(podFixture('ns1', 'blocked'))).rejects.toMatchObject({ code: 'MGY_DATASTORE_UNAVAILABLE' });
    await rm(join(dir, '.margay', 'lock'));
    await expect(store.create(podFixture('ns1', 'blocked'))).resolves.toBeTruthy();
  });
});
