import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { COMMIT_SIGNAL_SUFFIX } from './commit-signal.js';
import { DatastoreUnavailableError } from './types.js';

/**
 * Keeps SQLite's lock trouble off the event loop. node:sqlite is synchronous, and when SQLite cannot
 * take the WAL index's file locks — fcntl failing (EIO on a dying disk or a soft NFS mount) or the
 * lock bytes held by a foreign process — every read and write spins inside SQLite's own retry loop
 * (walTryBeginRead: ~100 attempts with growing sleeps) for about 10 s, then fails with
 * SQLITE_PROTOCOL. busy_timeout does not bound that loop, and nothing can interrupt it.
 *
 * So a worker thread (its own connection) probes the database with a `PRAGMA data_version` read
 * every `probeMs` and publishes in shared memory when its probe started (if one is running) and when
 * one last succeeded and failed. The main thread asks `blocked()` before each SQLite call: while a
 * probe has been running longer than `stuckMs`, or the last probe failed, it does not call SQLite
 * (reads wait on a timer and then fail with DatastoreLockedError; writes wait, they are never
 * started half-way). A call started in the instant between the locks breaking and the next probe
 * can still block once; after that the loop stays free.
 */
const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const { DatabaseSync } = require('node:sqlite');
const { watch } = require('node:fs');
const { basename, dirname } = require('node:path');
const { path, probeMs, beatMs, recheckMs, eventGapMs, signalGapMs } = workerData;
const st = new BigInt64Array(workerData.sab);
const names = new Set([basename(path), basename(path) + '-wal']);
const signal = basename(path) + workerData.signalSuffix;
let db, stmt, ok, lastDv, timer, watcher, stopped = false, immediate = false, fromEvent = false, lastPost = 0;
let lastEventProbe = -Infinity, trailing;
parentPort.on('message', (m) => {
  if (m !== 'stop') return;
  stopped = true;
  clearTimeout(timer);
  clearTimeout(trailing);
  watcher?.close();
  try { db?.close(); } catch (e) { parentPort.postMessage({ type: 'warn', message: 'closing the probe connection: ' + e.message }); }
  parentPort.postMessage({ type: 'stopped' });
});
function post(m) { lastPost = Date.now(); parentPort.postMessage(m); }
function later(ms) { clearTimeout(timer); timer = setTimeout(probe, ms); }
// One commit is ~10 writes to the WAL, seen here one by one: the first event probes at once, the
// rest within eventGapMs share one trailing probe (own commits no longer cost a probe per write).
// The commit signal (commit-signal.ts) comes after the commit is visible: it probes at once, at most
// once per signalGapMs (a flood of touches to the file costs a bounded number of probes).
let lastSignalProbe = -Infinity;
function soon(committed) {
  fromEvent = true;
  if (immediate || stopped) return;
  const now = performance.now();
  if (committed && now - lastSignalProbe >= signalGapMs) {
    lastSignalProbe = now;
    clearTimeout(trailing);
    trailing = undefined;
  } else {
    committed = false;
    if (trailing) return;
  }
  const wait = committed ? 0 : lastEventProbe + eventGapMs - now;
  if (wait > 0) {
    trailing = setTimeout(() => { trailing = undefined; probe(); }, wait);
    return;
  }
  immediate = true;
  setImmediate(() => { immediate = false; probe(); });
}
function probe() {
  if (stopped) return;
  const event = fromEvent;
  fromEvent = false;
  if (event) lastEventProbe = performance.now();
  Atomics.add(st, 3, 1n);
  Atomics.store(st, 0, BigInt(Date.now()));
  let err, dv;
  try {
    if (!db) { db = new DatabaseSync(path, { timeout: 20 }); stmt = db.prepare('PRAGMA data_version'); }
    dv = stmt.get().data_version;
  } catch (e) { err = e; }
  const now = Date.now();
  Atomics.store(st, 0, 0n);
  if (err) {
    Atomics.store(st, 2, BigInt(now));
    if (ok !== false) post({ type: 'state', ok: false, errcode: err.errcode, message: String(err.message) });
    ok = false;
    return later(probeMs);
  }
  Atomics.store(st, 1, BigInt(now));
  if (ok !== true) post({ type: 'state', ok: true });
  ok = true;
  const changed = dv !== lastDv;
  lastDv = dv;
  if (changed) post({ type: 'changed' });
  else if (now - lastPost >= beatMs) post({ type: 'beat' });
  // An event can come a moment before the commit is visible in the WAL index: look once more soon.
  later(event && !changed ? recheckMs : probeMs);
}
try {
  watcher = watch(dirname(path), { persistent: false }, (_ev, name) => {
    if (name === null || names.has(String(name))) soon(false);
    else if (String(name) === signal) soon(true);
  });
  watcher.on('error', (e) => { watcher?.close(); watcher = undefined; post({ type: 'warn', message: 'fs.watch failed, probing every ' + probeMs + ' ms only: ' + e.message }); });
} catch (e) { post({ type: 'warn', message: 'fs.watch unavailable, probing every ' + probeMs + ' ms only: ' + e.message }); }
probe();
`;

/** A read or write of the file datastore gave up because SQLite could not lock the database. */
export class DatastoreLockedError extends DatastoreUnavailableError {
  constructor(
    readonly file: string,
    readonly problem: string,
    what: string,
    waitedMs: number,
    options?: ErrorOptions,
  ) {
    super(`${what}: ${file}: ${problem} (gave up after ${waitedMs} ms without blocking; retry later)`, options);
  }
}

/** What an SQLite error code means for locking, or undefined if it is not a locking problem. */
export function lockProblem(err: unknown): string | undefined {
  const code = (err as { errcode?: unknown }).errcode;
  if (typeof code !== 'number') return undefined;
  const primary = code & 0xff;
  if (primary === 5 || primary === 6) return 'the database is locked by another process (SQLITE_BUSY)';
  if (primary === 15)
    return 'SQLite cannot take its file locks (SQLITE_PROTOCOL: fcntl locks failing, or the WAL index locks held by another process)';
  return undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits on timers (never blocking the loop) while `guard` says SQLite must not be called now;
 * DatastoreLockedError once `timeoutMs` since `startedAt` have passed.
 */
export async function untilUnblocked(
  guard: LockGuard | undefined,
  what: string,
  startedAt: number,
  timeoutMs: number,
): Promise<void> {
  let delay = 5;
  for (;;) {
    const problem = guard?.blocked();
    if (problem === undefined) return;
    const waited = Date.now() - startedAt;
    if (waited >= timeoutMs) throw new DatastoreLockedError(guard!.path, problem, what, waited);
    await sleep(Math.min(delay, timeoutMs - waited));
    delay = Math.min(delay * 2, 100);
  }
}

/**
 * Runs the synchronous SQLite call `attempt` once the guard allows it, again after a jittered
 * back-off (1–25 ms, on a timer) while it fails to lock (SQLITE_BUSY/LOCKED/PROTOCOL: nothing was
 * done, so a retry is safe, also for a compare-and-swap write), for at most `timeoutMs`; then
 * DatastoreLockedError naming the file and the problem. Any other error is thrown as is.
 */
export async function guardedRetry<T>(
  file: string,
  what: string,
  timeoutMs: number,
  guard: LockGuard | undefined,
  attempt: () => T,
): Promise<T> {
  const t0 = Date.now();
  let delay = 1;
  for (;;) {
    await untilUnblocked(guard, what, t0, timeoutMs);
    try {
      return attempt();
    } catch (err) {
      const problem = lockProblem(err);
      if (problem === undefined) throw err;
      const waited = Date.now() - t0;
      if (waited >= timeoutMs) throw new DatastoreLockedError(file, problem, what, waited, { cause: err });
    }
    await sleep(delay * (0.5 + Math.random()));
    delay = Math.min(delay * 2, 25);
  }
}

export interface LockGuardOptions {
  /** Probe interval (default 25 ms): also the safety poll for other processes' commits. */
  readonly probeMs?: number;
  /** A probe running longer than this means the locks are not answering (default 30 ms). */
  readonly stuckMs?: number;
  /** File events within this long after an event's probe share one trailing probe (default 1 ms). */
  readonly eventGapMs?: number;
  /** A wake at least this often while the locks answer, for the store's health check (default 250 ms). */
  readonly beatMs?: number;
  /**
   * A probe running longer than this is reported as a failure (`failing()`, default 1000 ms). Longer
   * than `stuckMs`: on a loaded machine the probe thread can simply not be scheduled for a few tens
   * of ms, which is reason enough not to call SQLite on the loop, but not to tell readiness and the
   * logs that the datastore is unreadable.
   */
  readonly reportMs?: number;
}

/**
 * The probe thread and what it last saw. `onWake(changed)` runs after each probe report; `changed`
 * says the probe saw another connection's commit (data_version moved), so the store need not call
 * SQLite on its loop just to find out — every main-thread call is one that can hit locks that broke
 * after the last probe.
 */
export class LockGuard {
  readonly #st: BigInt64Array;
  readonly #worker: Worker;
  #closing: Promise<void> | undefined;
  readonly #stuckMs: number;
  readonly #reportMs: number;
  #problem: string | undefined;
  #dead = false;
  /** Wakes of the store caused by the probe thread (changes seen + heartbeats). */
  wakes = 0;

  constructor(
    readonly path: string,
    log: Logger,
    onWake: (changed: boolean) => void,
    opts: LockGuardOptions = {},
  ) {
    this.#stuckMs = opts.stuckMs ?? 30;
    this.#reportMs = Math.max(this.#stuckMs, opts.reportMs ?? 1000);
    const sab = new SharedArrayBuffer(4 * 8);
    this.#st = new BigInt64Array(sab);
    const workerData = {
      path,
      probeMs: opts.probeMs ?? 25,
      beatMs: opts.beatMs ?? 250,
      recheckMs: 2,
      eventGapMs: opts.eventGapMs ?? 1,
      signalSuffix: COMMIT_SIGNAL_SUFFIX,
      signalGapMs: 0.5,
      sab,
    };
    // node:worker_threads is read here, not imported: loading it costs every process that merely
    // opens a file datastore (margayctl get) ≈ 5-10 ms of start-up (docs/startup.md).
    const { Worker: WorkerThread } = process.getBuiltinModule('node:worker_threads');
    this.#worker = new WorkerThread(WORKER_SOURCE, { eval: true, workerData });
    this.#worker.unref(); // never keeps the process up (close() stops it)
    this.#worker.on('message', (m: { type: string; ok?: boolean; errcode?: number; message?: string }) => {
      if (m.type === 'stopped') return;
      if (m.type === 'warn') {
        log.warn({ file: path, reason: m.message }, 'lock probe thread');
        return;
      }
      if (m.type === 'state') {
        if (m.ok) {
          if (this.#problem) log.info({ file: path }, 'database locks answer again');
          this.#problem = undefined;
        } else {
          this.#problem = lockProblem(m) ?? `the database cannot be read (${m.message ?? 'unknown error'})`;
          log.error(
            { file: path, problem: this.#problem },
            'database locks failing: SQLite is not called on the event loop',
          );
        }
      }
      this.wakes++;
      onWake(m.type === 'changed');
    });
    this.#worker.on('error', (err) => {
      this.#dead = true;
      log.warn({ err, file: path }, 'lock probe thread failed; lock guard off');
      onWake(true);
    });
  }

  /** Probes the thread has run (tests: own commits must not cost one per write to the WAL). */
  get probes(): number {
    return Number(Atomics.load(this.#st, 3));
  }

  /** False once the probe thread died: the store then wakes itself again. */
  get alive(): boolean {
    return !this.#dead;
  }

  /** Undefined when the main thread may call SQLite now; else the problem. */
  blocked(now = Date.now()): string | undefined {
    return this.#check(now, this.#stuckMs);
  }

  /**
   * The problem to report (status, readiness, logs): the last probe failed, or one has been running
   * for `reportMs`. A probe merely descheduled for a moment blocks calls but is not reported.
   */
  failing(now = Date.now()): string | undefined {
    return this.#check(now, this.#reportMs);
  }

  #check(now: number, stuckMs: number): string | undefined {
    if (this.#dead) return undefined;
    const since = Number(Atomics.load(this.#st, 0));
    if (since !== 0 && now - since > stuckMs) {
      return `the file locks are not answering (a lock probe has been waiting ${now - since} ms)`;
    }
    const okAt = Number(Atomics.load(this.#st, 1));
    const failAt = Number(Atomics.load(this.#st, 2));
    if (failAt > okAt) return this.#problem ?? 'the last lock probe failed';
    return undefined;
  }

  /**
   * Stops the probe thread: it closes its SQLite connection, then is terminated. Resolves once that
   * connection is closed (so a store's close() leaves no connection behind to checkpoint the WAL later),
   * or after 1 s: a probe stuck inside SQLite's retry loop cannot be interrupted and ends by itself
   * (≤ ~10 s; the thread is unref'd meanwhile). Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        void this.#worker.terminate();
        resolve();
      };
      const timer = setTimeout(done, this.#dead ? 0 : 1000); // a dead thread has nothing to close
      timer.unref();
      this.#worker.on('message', (m: { type: string }) => m.type === 'stopped' && done());
      this.#worker.once('exit', done);
      this.#worker.postMessage('stop');
    });
    return this.#closing;
  }
}
