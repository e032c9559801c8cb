import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatastore } from '../../src/datastore/index.js';
import { silentLogger } from '../../src/log.js';
import { Ipam } from '../../ipam/index.js';
import { bundleWorker } from '../datastore/bundle-worker.js';

/**
 * Several OS processes (agents on three nodes, two on node-0) allocate and release concurrently on
 * one file: datastore while the test kills them with SIGKILL at random moments and starts
 * replacements. Then: replaying every worker's events in time order finds no address handed to a
 * second handle while the first still held it; `check` finds no duplicate; after GC (with the
 * pods of half the survivors deleted) check finds nothing at all and every remaining pod's
 * addresses are held for it.
 */
const NODES = ['node-0', 'node-0', 'node-1', 'node-2'];
const CHURN_MS = Number(process.env.MARGAY_IPAM_CHURN_MS ?? 10_000);

let worker: { path: string; remove: () => Promise<void> };
let dir: string;
beforeAll(async () => {
  worker = await bundleWorker('test/ipam/alloc-worker.ts');
  dir = await mkdtemp(join(tmpdir(), 'mgy-ipam-conc-'));
});
afterAll(async () => {
  await worker.remove();
  await rm(dir, { recursive: true, force: true });
});

interface Ev {
  t: number;
  kind: 'A' | 'R' | 'E';
  handle: string;
  addrs: string[];
}

describe('IPAM across processes with kill -9', () => {
  it('never hands out an address twice; after GC nothing leaks', async () => {
    const spec = `file:${dir}`;
    const seed = await openDatastore(spec, { log: silentLogger() });
    await seed.create({
      apiVersion: 'margay.dev/v1',
      kind: 'IPPool',
      metadata: { name: 'v4' },
      spec: { cidr: '10.80.0.0/26', blockSize: 29 },
    });
    await seed.create({
      apiVersion: 'margay.dev/v1',
      kind: 'IPPool',
      metadata: { name: 'v6' },
      spec: { cidr: 'fd80::/122', blockSize: 125 },
    });
    await seed.create({
      apiVersion: 'margay.dev/v1',
      kind: 'IPAMConfiguration',
      metadata: { name: 'default' },
      spec: { minReuseAgeSeconds: 0 },
    });
    for (const n of new Set(NODES)) await seed.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: n } });
    await seed.close();

    const events: Ev[] = [];
    const errors: string[] = [];
    const running = new Map<number, ChildProcess>();
    const active = new Set<number>(); // slots whose worker is past start-up (has printed an event)
    let nextId = 0,
      kills = 0;
    const start = (slot: number) => {
      const id = nextId++;
      const p = spawn(process.execPath, [worker.path, spec, NODES[slot]!, String(id), '100000'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let buf = '';
      p.stdout!.on('data', (d: Buffer) => {
        if (running.get(slot) === p) active.add(slot);
        buf += d.toString();
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const [kind, t, handle, ...addrs] = buf.slice(0, nl).split(' ');
          buf = buf.slice(nl + 1);
          if (kind === 'A' || kind === 'R' || kind === 'E')
            events.push({ t: Number(t), kind, handle: handle ?? '', addrs });
        }
      });
      let err = '';
      p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      p.on('exit', (code, signal) => {
        if (signal !== 'SIGKILL' && code !== 0) errors.push(`worker ${id} exited ${code}: ${err.slice(-2000)}`);
        if (process.env.MARGAY_TEST_DEBUG)
          console.log(`worker ${id} exit ${code} ${signal} stderr: ${err.slice(-500)}`);
      });
      running.set(slot, p);
    };
    NODES.forEach((_n, slot) => start(slot));
    // Start-up of a Node process takes seconds on a loaded machine: churn only once all are allocating.
    const startBy = Date.now() + 90_000;
    while (active.size < NODES.length && Date.now() < startBy) await new Promise((r) => setTimeout(r, 100));
    expect(active.size, 'workers did not start allocating within 90 s').toBe(NODES.length);
    const deadline = Date.now() + CHURN_MS,
      hardStop = Date.now() + 100_000;
    const assignsSoFar = () => events.reduce((n, e) => n + (e.kind === 'A' ? 1 : 0), 0);
    while ((Date.now() < deadline || assignsSoFar() < 30 || kills < 8) && Date.now() < hardStop) {
      await new Promise((r) => setTimeout(r, 500 + Math.random() * 1500));
      // Kill only workers that are allocating (start-up takes seconds on a loaded machine).
      const slots = [...active];
      if (slots.length === 0) continue;
      const slot = slots[Math.floor(Math.random() * slots.length)]!;
      active.delete(slot);
      running.get(slot)!.kill('SIGKILL');
      kills++;
      start(slot);
    }
    await Promise.all(
      [...running.values()].map(
        (p) =>
          new Promise<void>((res) => {
            if (p.exitCode !== null || p.signalCode !== null) return res();
            p.on('exit', () => res());
            p.kill('SIGKILL');
          }),
      ),
    );
    expect(errors).toEqual([]);

    // Replay in real-time order: an address given to a handle while another still holds it is a duplicate.
    const holder = new Map<string, string>();
    const held = new Map<string, string[]>();
    const dups: string[] = [];
    for (const e of [...events].sort((a, b) => a.t - b.t)) {
      if (e.kind === 'A') {
        for (const a of e.addrs) {
          const h = holder.get(a);
          if (h !== undefined && h !== e.handle) dups.push(`${a}: ${e.handle} while ${h} held it`);
          holder.set(a, e.handle);
        }
        held.set(e.handle, e.addrs);
      } else if (e.kind === 'R') {
        for (const a of held.get(e.handle) ?? []) if (holder.get(a) === e.handle) holder.delete(a);
        held.delete(e.handle);
      }
    }
    const assigns = events.filter((e) => e.kind === 'A').length;
    console.log(
      `ipam concurrency: ${assigns} assigns, ${events.filter((e) => e.kind === 'R').length} releases, ${events.filter((e) => e.kind === 'E').length} exhausted, ${kills} kills`,
    );
    expect(dups).toEqual([]);
    expect(assigns).toBeGreaterThanOrEqual(30);
    expect(kills).toBeGreaterThanOrEqual(8);

    const store = await openDatastore(spec, { log: silentLogger() });
    try {
      const ipam = new Ipam({ store, log: silentLogger(), clusterCacheMs: 0 });
      const before = await ipam.check();
      expect(before.problems.filter((p) => p.kind === 'duplicate-address')).toEqual([]);
      // The cluster moves on: half the remaining pods go away (kubelet would DEL them; here nobody does).
      const pods = (await store.list('Pod')).items;
      for (const p of pods.filter((_p, i) => i % 2 === 0)) await store.delete('Pod', p.metadata.name, 'load');
      await ipam.gc({ gracePeriodMs: 0 });
      const after = await ipam.check();
      expect(after.problems).toEqual([]);
      const left = (await store.list('Pod')).items.filter(
        (p) => ((p.status as { podIPs?: unknown[] } | undefined)?.podIPs ?? []).length > 0,
      );
      expect(after.summary.allocations).toBeGreaterThanOrEqual(
        left.reduce((n, p) => n + (p.status as { podIPs: unknown[] }).podIPs.length, 0),
      );
    } finally {
      await store.close();
    }
  }, 240_000);
});
