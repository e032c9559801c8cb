import { DatabaseSync } from 'node:sqlite';
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
