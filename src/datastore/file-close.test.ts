import { readdirSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../log.js';
import { podFixture } from './contract-fixtures.js';
import { FileDatastore } from './file.js';
import { LockGuard } from './lock-guard.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** This process's open file descriptors on `file` (threads included). */
function openFds(file: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === file) n++;
    } catch {
      // closed between readdir and readlink: not open
    }
  }
  return n;
}

describe('closing the file datastore', () => {
  it("the lock probe thread's close() resolves only once its SQLite connection is closed", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mgy-ds-close-'));
    dirs.push(dir);
    const seed = await FileDatastore.open({ dir, log: silentLogger(), lockGuard: false });
    await seed.create(podFixture('ns1', 'a'));
    await seed.close();
    const db = join(dir, '.margay', 'store.db');
    expect(openFds(db)).toBe(0);
    const guard = new LockGuard(db, silentLogger(), () => {});
    for (let i = 0; i < 100 && guard.probes === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(openFds(db)).toBeGreaterThan(0); // the probe thread's connection
    await guard.close();
    // Left open, that connection would be the last one and checkpoint the WAL after the store "closed".
    expect(openFds(db)).toBe(0);
    await guard.close(); // idempotent
  });

  it('a store with its probe thread running leaves no connection open once close() resolves', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mgy-ds-close-'));
    dirs.push(dir);
    const store = await FileDatastore.open({ dir, log: silentLogger(), lockGuardDelayMs: 0 });
    for (let i = 0; i < 40 && store.wakeMode !== 'probe-thread'; i++) await new Promise((r) => setTimeout(r, 25));
    expect(store.wakeMode).toBe('probe-thread');
    await store.create(podFixture('ns1', 'a'));
    await store.close();
    expect(openFds(join(dir, '.margay', 'store.db'))).toBe(0);
  });
});
