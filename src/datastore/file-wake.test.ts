import { DatabaseSync } from 'node:sqlite';
import { closeSync, openSync, statSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../log.js';
import '../model/index.js'; // loaded up front (see file.test.ts)
import type { Resource } from '../model/index.js';
import { FileDatastore, type FileDatastoreOptions } from './file.js';

/**
 * How a file datastore learns of another connection's commit (db-wake.ts, lock-guard.ts): inotify on
 * the database and its WAL, with the safety poll set to 1 s so a wake by the poll (≈ 500 ms on
 * average) cannot pass for one by inotify. Two stores on one directory are two SQLite connections,
 * exactly as two processes are (data_version and the WAL are shared through the files).
 */
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const pod = (name: string): Resource => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'wake' },
  spec: { nodeName: 'node-1' },
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function pair(opts: Partial<FileDatastoreOptions>) {
  const dir = await mkdtemp(join(tmpdir(), 'mgy-wake-'));
  dirs.push(dir);
  const base = { dir, log: silentLogger(), rescanIntervalMs: 1000, ...opts };
  const watcher = await FileDatastore.open(base);
  const writer = await FileDatastore.open({ ...base, lockGuard: false });
  const seen = new Map<string, number>();
  watcher.watch('Pod', { namespace: 'wake' }, (ev) => {
    if (ev.type === 'added') seen.set(ev.object.metadata.name, performance.now());
  });
  const latency = async (name: string): Promise<number> => {
    const t0 = performance.now();
    await writer.create(pod(name));
    while (!seen.has(name)) {
      if (performance.now() - t0 > 5000) throw new Error(`${name} not seen within 5 s`);
      await sleep(1);
    }
    return seen.get(name)! - t0;
  };
  return { dir, watcher, writer, latency };
}

describe('file datastore: wake-up on other connections’ commits', () => {
  for (const mode of ['inotify', 'probe-thread'] as const) {
    it(`${mode}: each commit is seen well before the 1 s safety poll, also across WAL truncation`, async () => {
      const { dir, watcher, writer, latency } = await pair({
        pollIntervalMs: 1000,
        lockGuard: mode === 'probe-thread',
        lockGuardDelayMs: 10,
      });
      try {
        if (mode === 'probe-thread') while (watcher.wakeMode !== 'probe-thread') await sleep(5);
        expect(watcher.wakeMode).toBe(mode);
        const raw = new DatabaseSync(join(dir, '.margay', 'store.db'));
        const lat: number[] = [];
        for (let i = 0; i < 15; i++) {
          // A checkpoint that truncates the WAL to 0 bytes, as SQLite does when it resets the log.
          if (i % 5 === 4) raw.exec('PRAGMA wal_checkpoint(TRUNCATE)');
          lat.push(await latency(`p${i}`));
          await sleep(20 + Math.random() * 20);
        }
        raw.close();
        // The probe thread also polls every 25 ms; inotify alone is tested by the other mode.
        expect(median(lat), `latencies ${lat.map(Math.round).join(',')} ms`).toBeLessThan(200);
      } finally {
        await writer.close();
        await watcher.close();
      }
    });
  }

  it('own commits and idle time cause no busy loop; close() stops every wake', async () => {
    const { watcher, writer } = await pair({ pollIntervalMs: 1000, lockGuard: false });
    try {
      const t0 = watcher.ticks;
      for (let i = 0; i < 20; i++) await watcher.create(pod(`own${i}`));
      const afterWrites = watcher.ticks - t0;
      // Each own commit writes the WAL: at most a wake and one re-check each (coalesced per turn).
      expect(afterWrites).toBeLessThanOrEqual(2 * 20 + 2);
      await sleep(100);
      const idle0 = watcher.ticks;
      await sleep(600);
      expect(watcher.ticks - idle0, 'wakes while idle').toBeLessThanOrEqual(2);
      await watcher.close();
      expect(watcher.wakeMode).toBe('closed');
      const closed0 = watcher.ticks;
      for (let i = 0; i < 5; i++) await writer.create(pod(`after-close${i}`));
      await sleep(300);
      expect(watcher.ticks).toBe(closed0);
    } finally {
      await writer.close();
      await watcher.close();
    }
  });

  it('probe thread: own commits cost one change-log read each and few probes; other writers are all still delivered', async () => {
    const { watcher, writer } = await pair({ pollIntervalMs: 1000, lockGuardDelayMs: 0 });
    try {
      while (watcher.wakeMode !== 'probe-thread') await sleep(5);
      await sleep(50);
      const seen = new Set<string>();
      watcher.watch('Pod', { namespace: 'wake' }, (ev) => {
        if (ev.type === 'added') seen.add(ev.object.metadata.name);
      });
      const p0 = watcher.counts.pumps;
      const probes0 = watcher.counts.probes;
      // Own commits, each followed by a turn of the loop so the probe thread's reports are handled.
      for (let i = 0; i < 40; i++) {
        await watcher.create(pod(`self${i}`));
        await sleep(3);
      }
      await sleep(50);
      // One read per own commit (right after the write); the probe's "changed" adds none.
      expect(watcher.counts.pumps - p0, 'change-log reads for 40 own commits').toBe(40);
      // Back to back, as a serial allocator writes: one commit is several writes to the WAL, which
      // cost a probe each (≈ 10 per IPAM assign); now the writes of one commit share one.
      const probes1 = watcher.counts.probes;
      for (let i = 0; i < 100; i++) await watcher.create(pod(`burst${i}`));
      await sleep(50);
      expect(watcher.counts.probes - probes1, 'probes for 100 own commits back to back').toBeLessThanOrEqual(100 * 1.5);
      expect(probes1 - probes0).toBeGreaterThan(0);
      // Another connection's commits, interleaved with ours and back to back: none is lost.
      const other: Promise<unknown>[] = [];
      for (let i = 0; i < 40; i++) {
        other.push(writer.create(pod(`other${i}`)));
        await watcher.create(pod(`mine${i}`));
        if (i % 10 === 0) await sleep(1);
      }
      await Promise.all(other);
      const t0 = performance.now();
      while ([...Array(40).keys()].some((i) => !seen.has(`other${i}`) || !seen.has(`mine${i}`))) {
        if (performance.now() - t0 > 3000)
          throw new Error(`missing: ${[...Array(40).keys()].filter((i) => !seen.has(`other${i}`))}`);
        await sleep(2);
      }
      // The last other commit arrives by inotify, not by the 1 s poll.
      expect(performance.now() - t0).toBeLessThan(500);
    } finally {
      await writer.close();
      await watcher.close();
    }
  });

  it('probe thread: a commit signal probes at once, a flood of touches to it costs a bounded number of probes', async () => {
    const { dir, watcher, writer, latency } = await pair({ pollIntervalMs: 1000, lockGuardDelayMs: 0 });
    try {
      while (watcher.wakeMode !== 'probe-thread') await sleep(5);
      await writer.create(pod('first')); // the writer creates store.db-commit with its first commit
      const signal = join(dir, '.margay', 'store.db-commit');
      expect(statSync(signal).size).toBe(1);
      await sleep(50);
      const probes0 = watcher.counts.probes;
      const fd = openSync(signal, 'w');
      const t0 = performance.now();
      let touches = 0;
      while (performance.now() - t0 < 300) {
        writeSync(fd, '1', 0);
        touches++;
      }
      closeSync(fd);
      await sleep(50);
      const probes = watcher.counts.probes - probes0;
      // ≤ one per 0.5 ms for the signal plus one per 1 ms trailing over ≈ 350 ms (≈ 700 measured; unbounded: ≈ 14,000).
      expect(probes, `${probes} probes for ${touches} touches`).toBeLessThan(1500);
      expect(touches).toBeGreaterThan(5000);
      // Commits are still seen (by the signal, or the WAL's events).
      expect(await latency('after-flood')).toBeLessThan(1000);
    } finally {
      await writer.close();
      await watcher.close();
    }
  });

  it('lockGuardStart starts the probe thread before lockGuardDelayMs, not before it settles', async () => {
    let go!: () => void;
    const start = new Promise<void>((r) => (go = r));
    const { watcher, writer, latency } = await pair({
      pollIntervalMs: 1000,
      lockGuardDelayMs: 60_000,
      lockGuardStart: start,
    });
    try {
      await sleep(400); // past the default 300 ms delay: still no thread
      expect(watcher.wakeMode).toBe('inotify');
      expect(await latency('before-guard')).toBeLessThan(1000);
      go();
      const t0 = performance.now();
      while (watcher.wakeMode !== 'probe-thread') {
        if (performance.now() - t0 > 2000) throw new Error('probe thread not started 2 s after lockGuardStart settled');
        await sleep(5);
      }
      expect(await latency('after-guard')).toBeLessThan(1000);
    } finally {
      await writer.close();
      await watcher.close();
    }
  });

  it('without inotify the safety poll still delivers', async () => {
    const { watcher, writer, latency } = await pair({ pollIntervalMs: 50, useFsWatch: false, lockGuard: false });
    try {
      expect(watcher.wakeMode).toBe('poll');
      expect(await latency('polled')).toBeLessThan(2000);
    } finally {
      await writer.close();
      await watcher.close();
    }
  });
});
