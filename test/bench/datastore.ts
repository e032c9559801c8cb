/**
 * File datastore benchmark (issue 6 §5): the SQLite backend against the previous lock-file backend,
 * same machine, same run, at N objects (default 10000 Pods):
 *   open+list   a fresh process opens the store and lists every Pod (time inside the process)
 *   write       one CAS update (get + update) of an existing object, sequential, in one process
 *   cas/s       4 processes, each get+update of its own objects in a loop for `--secs` seconds
 *   watch       a watcher in another process; the writer stamps each change with its send time
 *   get RSS     peak RSS of `margayctl get pods -A` (new) / a process listing all Pods (old)
 *
 *   npm run build && node dist/test/bench/datastore.js [--objects 10000] [--runs 5] [--secs 3] [--backends new,old]
 *
 * Prints one JSON line per measurement and a Markdown table; record it with `uptime` in
 * docs/datastore.md. Child roles re-run this file with `--role`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { FileDatastore } from '../../src/datastore/file.js';
import { LegacyFileDatastore } from '../../src/datastore/legacy/legacy-file.js';
import type { Datastore } from '../../src/datastore/types.js';
import type { Resource } from '../../src/model/kinds.js';
import { silentLogger } from '../../src/log.js';

type Backend = 'new' | 'old';
const SELF = fileURLToPath(import.meta.url);
const REPO = fileURLToPath(new URL('../../..', import.meta.url));

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

async function openStore(backend: Backend, dir: string): Promise<Datastore> {
  return backend === 'new'
    ? FileDatastore.open({ dir, log: silentLogger() })
    : LegacyFileDatastore.open({ dir, log: silentLogger(), lockTimeoutMs: 600_000 });
}

const pod = (i: number, extra: Record<string, string> = {}): Resource => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: `pod-${i}`,
    namespace: `ns-${i % 50}`,
    labels: { app: `app-${i % 10}`, tier: 'bench' },
    annotations: extra,
  },
  spec: { nodeName: `node-${i % 20}`, containers: [{ name: 'main' }] },
});

function stats(xs: number[]): { median: number; min: number; max: number; p90: number; p99: number; n: number } {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return { median: q(0.5), min: s[0]!, max: s[s.length - 1]!, p90: q(0.9), p99: q(0.99), n: s.length };
}
const r1 = (x: number) => Math.round(x * 10) / 10;

// ---- child roles ----

async function roleOpenList(backend: Backend, dir: string): Promise<void> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const store = await openStore(backend, dir);
  const { items } = await store.list('Pod');
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  await store.close();
  process.stdout.write(`${JSON.stringify({ ms, cpuMs: (c.user + c.system) / 1000, items: items.length })}\n`);
}

async function roleCas(backend: Backend, dir: string, worker: number, secs: number, objects: number): Promise<void> {
  const store = await openStore(backend, dir);
  const c0 = process.cpuUsage();
  let writes = 0;
  let conflicts = 0;
  const until = performance.now() + secs * 1000;
  for (let i = 0; performance.now() < until; i++) {
    const n = (worker * 7919 + i * 4) % objects; // distinct objects per worker (n % 4 == worker when objects % 4 == 0)
    const idx = n - (n % 4) + worker;
    const cur = await store.get('Pod', `pod-${idx}`, `ns-${idx % 50}`);
    if (!cur) throw new Error(`pod-${idx} missing`);
    try {
      await store.update({ ...cur, metadata: { ...cur.metadata, annotations: { w: String(i) } } });
      writes++;
    } catch (err) {
      if ((err as { code?: string }).code !== 'MGY_DATASTORE_CONFLICT') throw err;
      conflicts++;
    }
  }
  const c = process.cpuUsage(c0);
  await store.close();
  process.stdout.write(`${JSON.stringify({ writes, conflicts, secs, cpuMs: (c.user + c.system) / 1000 })}\n`);
}

async function roleWatch(backend: Backend, dir: string, expected: number): Promise<void> {
  const store = await openStore(backend, dir);
  const lat: number[] = [];
  let ready = false;
  await new Promise<void>((resolve) => {
    store.watch('Pod', { namespace: 'ns-watch' }, (ev) => {
      if (ev.type === 'in-sync' && !ready) {
        ready = true;
        process.stdout.write('ready\n');
        return;
      }
      if (ev.type !== 'added' && ev.type !== 'modified') return;
      const sent = Number(ev.object.metadata.annotations?.['sent'] ?? NaN);
      lat.push(Date.now() - sent);
      if (lat.length >= expected) resolve();
    });
  });
  await store.close();
  process.stdout.write(`${JSON.stringify({ lat })}\n`);
}

async function roleLegacyGet(dir: string): Promise<void> {
  const store = await openStore('old', dir);
  const { items } = await store.list('Pod');
  for (const p of items)
    process.stdout.write(`${p.metadata.namespace} ${p.metadata.name} ${p.metadata.resourceVersion}\n`);
  await store.close();
}

// ---- orchestration ----

function child(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [SELF, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (b: Buffer) => (out += b.toString()));
    c.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`child ${args.join(' ')} exited ${code}`))));
  });
}
const lastJson = <T>(out: string): T => JSON.parse(out.trim().split('\n').pop()!) as T;

async function populate(backend: Backend, dir: string, n: number): Promise<number> {
  const t0 = performance.now();
  if (backend === 'new') {
    const store = await openStore('new', dir);
    for (let i = 0; i < n; i++) await store.create(pod(i));
    await store.close();
  } else {
    // The old backend takes ~0.2 s per API write at this size; hand-written manifest files (which it
    // folds in on open) are how a large old store is built in reasonable time.
    const { stringify } = await import('yaml');
    for (let i = 0; i < n; i++) {
      const p = pod(i);
      const d = join(dir, 'pods', p.metadata.namespace!);
      if (i < 50) await mkdir(d, { recursive: true });
      await writeFile(join(d, `${p.metadata.name}.yaml`), stringify(p));
    }
    const store = await openStore('old', dir);
    await store.close();
  }
  return performance.now() - t0;
}

async function bench(backend: Backend, n: number, runs: number, secs: number): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), `mgy-bench-ds-${backend}-`));
  try {
    const populateMs = await populate(backend, dir, n);
    const openList: number[] = [];
    const openListCpu: number[] = [];
    for (let r = 0; r < runs; r++) {
      const o = lastJson<{ ms: number; cpuMs: number }>(
        await child(['--role', 'open-list', '--backend', backend, '--dir', dir]),
      );
      openList.push(o.ms);
      openListCpu.push(o.cpuMs);
    }

    const store = await openStore(backend, dir);
    const writeMs: number[] = [];
    const writes = backend === 'new' ? 500 : 20;
    for (let i = 0; i < writes; i++) {
      const t0 = performance.now();
      const cur = (await store.get('Pod', `pod-${i}`, `ns-${i % 50}`))!;
      await store.update({ ...cur, metadata: { ...cur.metadata, annotations: { seq: String(i) } } });
      writeMs.push(performance.now() - t0);
    }

    const cas = await Promise.all(
      [0, 1, 2, 3].map((w) =>
        child([
          '--role',
          'cas',
          '--backend',
          backend,
          '--dir',
          dir,
          '--worker',
          String(w),
          '--secs',
          String(secs),
          '--objects',
          String(n),
        ]),
      ),
    );
    const casRes = cas.map((o) => lastJson<{ writes: number; conflicts: number; cpuMs: number }>(o));
    const casPerSec = casRes.reduce((a, c) => a + c.writes, 0) / secs;

    const changes = backend === 'new' ? 200 : 20;
    const watcher = spawn(
      process.execPath,
      [SELF, '--role', 'watch', '--backend', backend, '--dir', dir, '--expected', String(changes)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let wout = '';
    watcher.stdout.on('data', (b: Buffer) => (wout += b.toString()));
    const wdone = new Promise<void>((res) => watcher.on('exit', () => res()));
    while (!wout.includes('ready')) await new Promise((r) => setTimeout(r, 10));
    for (let i = 0; i < changes; i++) {
      const p = pod(1_000_000 + i);
      await store.create({
        ...p,
        metadata: { ...p.metadata, namespace: 'ns-watch', annotations: { sent: String(Date.now()) } },
      });
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 10));
    }
    await wdone;
    const watchLat = lastJson<{ lat: number[] }>(wout).lat;
    await store.close();

    const peakRss = (cmd: string[]): number => {
      const res = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, ...cmd], {
        encoding: 'utf8',
        maxBuffer: 256 * 1024 * 1024,
      });
      if (res.status !== 0) throw new Error(`get failed: ${res.stderr}`);
      return Number(res.stderr.trim().split('\n').pop()) / 1024;
    };
    const rss: number[] = [];
    const rssLight: number[] = [];
    for (let r = 0; r < Math.max(3, Math.min(runs, 5)); r++) {
      if (backend === 'new') {
        rss.push(peakRss([join(REPO, 'dist/src/cli/margayctl.js'), 'get', 'pods', '-A', '--datastore', `file:${dir}`]));
        rssLight.push(peakRss([join(REPO, 'dist/test/bench/datastore-get.js'), dir]));
      } else {
        rss.push(peakRss([SELF, '--role', 'legacy-get', '--dir', dir]));
      }
    }
    return {
      backend,
      objects: n,
      populateMs: Math.round(populateMs),
      openListMs: stats(openList),
      openListCpuMs: stats(openListCpu),
      writeMs: stats(writeMs),
      casPerSec: Math.round(casPerSec),
      casConflicts: casRes.reduce((a, c) => a + c.conflicts, 0),
      casCpuMsPerWrite: r1(
        casRes.reduce((a, c) => a + c.cpuMs, 0) /
          Math.max(
            1,
            casRes.reduce((a, c) => a + c.writes, 0),
          ),
      ),
      watchMs: stats(watchLat),
      getRssMb: stats(rss),
      ...(rssLight.length ? { getLightRssMb: stats(rssLight) } : {}),
      load: loadavg().map(r1),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const role = arg('role', '');
  const backend = arg('backend', 'new') as Backend;
  const dir = arg('dir', '');
  if (role === 'open-list') return roleOpenList(backend, dir);
  if (role === 'cas')
    return roleCas(backend, dir, Number(arg('worker', '0')), Number(arg('secs', '3')), Number(arg('objects', '10000')));
  if (role === 'watch') return roleWatch(backend, dir, Number(arg('expected', '100')));
  if (role === 'legacy-get') return roleLegacyGet(dir);
  const n = Number(arg('objects', '10000'));
  const runs = Number(arg('runs', '5'));
  const secs = Number(arg('secs', '3'));
  const rows: Record<string, unknown>[] = [];
  for (const b of arg('backends', 'new,old').split(',') as Backend[]) {
    const r = await bench(b, n, runs, secs);
    process.stdout.write(`${JSON.stringify(r)}\n`);
    rows.push(r);
  }
  type S = ReturnType<typeof stats>;
  const fmt = (s: S) => `${r1(s.median)} (${r1(s.min)}–${r1(s.max)})`;
  process.stdout.write(
    '\n| backend | open+list ms (CPU ms) | write ms median (min–max, p90) | CAS writes/s (4 procs; CPU ms/write) | watch ms median (p99, max) | get peak RSS MB (light reader) | load |\n|---|---|---|---|---|---|---|\n',
  );
  for (const r of rows) {
    const w = r['writeMs'] as S;
    const wl = r['watchMs'] as S;
    process.stdout.write(
      `| ${String(r['backend'])} | ${fmt(r['openListMs'] as S)} (CPU ${r1((r['openListCpuMs'] as S).median)}) | ${r1(w.median)} (${r1(w.min)}–${r1(w.max)}, p90 ${r1(w.p90)}) | ${String(r['casPerSec'])} (${String(r['casCpuMsPerWrite'])}) | ${r1(wl.median)} (p99 ${r1(wl.p99)}, max ${r1(wl.max)}) | ${fmt(r['getRssMb'] as S)}${r['getLightRssMb'] ? ` (${fmt(r['getLightRssMb'] as S)})` : ''} | ${(r['load'] as number[]).join(' ')} |\n`,
    );
  }
}

await main();
