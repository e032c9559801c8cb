import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileDatastore } from '../../src/datastore/file.js';
import { LockGuard } from '../../src/datastore/lock-guard.js';
import type { DatastoreStatus, WatchEvent } from '../../src/datastore/types.js';
import { silentLogger } from '../../src/log.js';
import '../../src/model/index.js';
import type { Resource } from '../../src/model/index.js';

/**
 * A foreign process holds SQLite's WAL-index locks (bytes 120–127 of `store.db-shm`: write,
 * checkpoint, recover and the five read marks) with fcntl — what a wedged or hostile process does,
 * and what a store whose fcntl calls fail (EIO) sees. SQLite then cannot begin any read: inside one
 * synchronous call it retries ~100 times with growing sleeps for ~10 s before SQLITE_PROTOCOL, and
 * busy_timeout does not bound that. node:sqlite has no Python-free way to hold raw lock bytes, so
 * the holder is a few lines of python3 (a CI dependency already, scripts/install-system-deps.sh).
 *
 * The agent-side store must keep its event loop free (no timer gap ≥ 200 ms), fail reads with a
 * typed error naming the file and the problem, hold writes back without losing them, report itself
 * unreadable, and recover once the locks are released.
 */
const HOLDER = `
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
deadline = time.time() + 5
while True:
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 8, 120, os.SEEK_SET)
        break
    except OSError:
        if time.time() > deadline: raise
        time.sleep(0.001)
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
`;

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pod = (name: string, n: number): Resource => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'locks', annotations: { n: String(n) } },
  spec: { nodeName: 'node-1' },
});

async function holdLocks(dir: string, seconds: number): Promise<ChildProcess> {
  const c = spawn('python3', ['-c', HOLDER, join(dir, '.margay', 'store.db-shm'), String(seconds)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(c);
  await new Promise<void>((resolve, reject) => {
    c.stdout!.once('data', () => resolve());
    c.once('exit', (code) => reject(new Error(`lock holder exited ${code}`)));
  });
  return c;
}

/** The longest gap between 10 ms timer callbacks while it runs. */
function loopMonitor() {
  let last = performance.now();
  let max = 0;
  const t = setInterval(() => {
    const now = performance.now();
    max = Math.max(max, now - last);
    last = now;
  }, 10);
  return {
    reset: () => {
      last = performance.now();
      max = 0;
    },
    max: () => max,
    stop: () => clearInterval(t),
  };
}

describe('file datastore: SQLite locks failing never freeze the event loop', () => {
  it('reads fail fast with a typed error, writes wait and commit, status and watches follow, recovery after release', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mgy-locks-'));
    dirs.push(dir);
    const store = await FileDatastore.open({ dir, log: silentLogger(), lockGuardDelayMs: 10, readTimeoutMs: 1000 });
    let other: FileDatastore | undefined;
    const statuses: DatastoreStatus[] = [];
    store.onStatus((s) => statuses.push(s));
    const events: WatchEvent[] = [];
    const mon = loopMonitor();
    try {
      const seeded = await store.create(pod('counter', 0));
      store.watch('Pod', { namespace: 'locks' }, (ev) => events.push(ev));
      while (store.wakeMode !== 'probe-thread') await sleep(5);
      await sleep(100);
      const holder = await holdLocks(dir, 120);
      mon.reset();
      await sleep(300); // the probe thread notices (its probe is stuck inside SQLite's retry loop)

      const t0 = performance.now();
      const err = await store.get('Pod', 'counter', 'locks').then(
        () => undefined,
        (e: unknown) => e,
      );
      const readMs = performance.now() - t0;
      expect(err).toMatchObject({ code: 'MGY_DATASTORE_UNAVAILABLE', name: 'DatastoreLockedError' });
      expect((err as Error).message).toContain(join(dir, '.margay', 'store.db'));
      expect((err as Error).message).toMatch(/file locks|SQLITE_PROTOCOL/);
      expect(readMs).toBeLessThan(3000);

      const failedWatch: WatchEvent[] = [];
      store.watch('Pod', {}, (ev) => failedWatch.push(ev));
      const pendingWrite = store.update({
        ...pod('counter', 1),
        metadata: { ...seeded.metadata, annotations: { n: '1' } },
      });
      let writeDone = false;
      void pendingWrite.then(() => (writeDone = true));
      await sleep(1200);
      expect(writeDone, 'a write waits while the locks fail').toBe(false);
      expect(failedWatch.map((e) => e.type)).toEqual(['error']);
      expect(statuses.at(-1)).toMatchObject({ readable: false });
      expect(statuses.at(-1)!.reason).toContain('store.db');
      const gapWhileLocked = mon.max();

      holder.kill('SIGKILL');
      await new Promise((r) => holder.once('exit', r));
      const written = await pendingWrite;
      expect(written.metadata.resourceVersion).toBe(String(Number(seeded.metadata.resourceVersion) + 1));
      expect((await store.get('Pod', 'counter', 'locks'))?.metadata.annotations?.['n']).toBe('1');
      // Another connection's commit reaches the watch again. (Opened only now: an unguarded store in
      // this process would itself freeze the loop while the locks are held, as the next test shows.)
      other = await FileDatastore.open({ dir, log: silentLogger(), lockGuard: false });
      await other.create(pod('after', 2));
      const until = Date.now() + 3000;
      while (!events.some((e) => e.type === 'added' && e.object.metadata.name === 'after') && Date.now() < until)
        await sleep(10);
      expect(
        events
          .filter((e) => e.type === 'modified')
          .map((e) => e.type === 'modified' && e.object.metadata.annotations?.['n']),
      ).toEqual(['1']);
      expect(events.some((e) => e.type === 'added' && e.object.metadata.name === 'after')).toBe(true);
      while (!statuses.at(-1)?.readable && Date.now() < until + 2000) await sleep(20);
      expect(statuses.at(-1)).toEqual({ readable: true });
      console.log(
        `lock guard: longest event-loop gap ${gapWhileLocked.toFixed(0)} ms while locked, read gave up after ${readMs.toFixed(0)} ms`,
      );
      expect(gapWhileLocked, 'longest event-loop gap while the locks failed').toBeLessThan(200);
      expect(mon.max(), 'longest event-loop gap overall').toBeLessThan(200);
    } finally {
      mon.stop();
      await other?.close();
      await store.close();
    }
  }, 30_000);

  it('a probe stuck for a moment blocks SQLite calls at once but is reported only after reportMs (no readiness flap under load)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mgy-locks-'));
    dirs.push(dir);
    const store = await FileDatastore.open({ dir, log: silentLogger(), lockGuard: false });
    await store.create(pod('counter', 0));
    await store.close();
    const guard = new LockGuard(join(dir, '.margay', 'store.db'), silentLogger(), () => {}, {
      stuckMs: 30,
      reportMs: 1500,
    });
    const holder = await holdLocks(dir, 20);
    try {
      const t0 = performance.now();
      while (guard.blocked() === undefined && performance.now() - t0 < 5000) await sleep(5);
      const blockedAt = performance.now() - t0;
      expect(guard.blocked(), 'blocked while the probe is stuck').toMatch(/not answering/);
      // Right after the first block the problem is not yet reported.
      if (performance.now() - t0 < 1000) expect(guard.failing()).toBeUndefined();
      while (guard.failing() === undefined && performance.now() - t0 < 5000) await sleep(20);
      const reportedAt = performance.now() - t0;
      expect(guard.failing()).toMatch(/not answering/);
      expect(reportedAt - blockedAt).toBeGreaterThan(1000);
    } finally {
      holder.kill('SIGKILL');
      guard.close();
    }
  }, 30_000);

  it('without the guard the same lock blocks one read synchronously for seconds (what the guard prevents)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mgy-locks-'));
    dirs.push(dir);
    const store = await FileDatastore.open({
      dir,
      log: silentLogger(),
      lockGuard: false,
      pollIntervalMs: 1000,
      rescanIntervalMs: 1000,
    });
    try {
      await store.create(pod('counter', 0));
      // Held 2 s, then released by the holder itself (this test's own loop is what freezes).
      const holder = await holdLocks(dir, 2);
      const mon = loopMonitor();
      const t0 = performance.now();
      await store.get('Pod', 'counter', 'locks').catch(() => undefined);
      const ms = performance.now() - t0;
      await sleep(20);
      mon.stop();
      if (holder.exitCode === null && holder.signalCode === null) await new Promise((r) => holder.once('exit', r));
      console.log(
        `no lock guard: one read blocked the loop ${ms.toFixed(0)} ms (longest gap ${mon.max().toFixed(0)} ms)`,
      );
      expect(ms).toBeGreaterThan(1000);
      expect(mon.max()).toBeGreaterThan(1000);
    } finally {
      await store.close();
    }
  }, 30_000);
});
