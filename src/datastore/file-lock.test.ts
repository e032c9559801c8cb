import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleWorker } from '../../test/datastore/bundle-worker.js';

describe('file lock: stale-lock recovery under contention', () => {
  let worker: { path: string; remove: () => Promise<void> };
  let dir: string;
  beforeAll(async () => {
    worker = await bundleWorker('test/datastore/lock-worker.ts');
    dir = await mkdtemp(join(tmpdir(), 'mgy-lock-'));
  });
  afterAll(async () => {
    await worker.remove();
    await rm(dir, { recursive: true, force: true });
  });

  it('processes racing to break the same dead holder never hold the lock together', async () => {
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.on('exit', r));
    const lock = join(dir, 'lock');
    const PROCS = 5;
    const EACH = 40;
    const outputs = await Promise.all(
      Array.from({ length: PROCS }, () =>
        promisify(execFile)(process.execPath, [worker.path, lock, String(EACH), join(dir, 'marker'), '2', String(dead.pid)]),
      ),
    );
    const results = outputs.map((o) => JSON.parse(o.stdout) as { overlaps: number; planted: number });
    expect(results.reduce((n, r) => n + r.planted, 0)).toBe(PROCS * (EACH / 2));
    expect(results.map((r) => r.overlaps)).toEqual(Array(PROCS).fill(0));
    // Only the last planted lock (if the last holder planted one) may remain; nothing else is left behind.
    expect((await readdir(dir)).filter((f) => f !== 'lock')).toEqual([]);
  }, 60_000);
});
