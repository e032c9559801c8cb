import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { link, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { DatastoreUnavailableError } from '../types.js';

/**
 * A lock file shared by every process using one file datastore directory. Created atomically with
 * its content (a private file hard-linked to the lock name: link(2) fails with EEXIST while held), it
 * holds "pid host acquiredAtMs random". A lock is stale when its process is gone (same host) or it is
 * older than `staleMs`.
 *
 * Breaking a stale lock is itself serialised by a second lock, `<lock>.break`, taken the same way:
 * under it the breaker re-reads the lock and removes it only if it still names the holder judged
 * stale. Without that, two processes that both judged one dead holder stale could each remove a lock
 * (the second removing the fresh lock of a third process that acquired in between) and two processes
 * would hold the lock at once, or a moved-aside live lock could outlive its release and lock everyone
 * out. The break lock is held for two syscalls; if its own holder died there, it is moved aside by
 * rename and checked (the residual race needs a breaker crash and two more breakers at once).
 * The one window left is inherent to age-based staleness: a holder alive past `staleMs`.
 */
export interface LockOptions {
  readonly timeoutMs: number;
  readonly staleMs: number;
  readonly log: Logger;
}

const HOST = hostname();

export async function withFileLock<T>(path: string, opts: LockOptions, fn: () => Promise<T>): Promise<T> {
  const token = await acquire(path, opts);
  try {
    return await fn();
  } finally {
    await release(path, token, opts.log);
  }
}

async function acquire(path: string, opts: LockOptions): Promise<string> {
  const token = newToken();
  const deadline = Date.now() + opts.timeoutMs;
  let delay = 1;
  for (;;) {
    if (await tryCreate(path, token)) return token;
    const holder = await readIfExists(path);
    if (holder === undefined) continue; // released between our attempt and the read
    if (isStale(holder, opts.staleMs) && (await breakStale(path, holder, opts))) continue;
    if (Date.now() > deadline) {
      throw new DatastoreUnavailableError(
        `timed out after ${opts.timeoutMs} ms waiting for lock ${path} (held by ${holder})`,
      );
    }
    await new Promise((r) => setTimeout(r, delay + Math.random() * delay));
    delay = Math.min(delay * 2, 20);
  }
}

function newToken(): string {
  return `${process.pid} ${HOST} ${Date.now()} ${randomBytes(4).toString('hex')}`;
}

/** Creates the lock with its content in one step: write a private file, then link(2) it (EEXIST if held). */
async function tryCreate(path: string, token: string): Promise<boolean> {
  const mine = join(dirname(path), `.${basename(path)}.new-${process.pid}-${randomBytes(4).toString('hex')}`);
  await writeFile(mine, token, { mode: 0o644, flag: 'wx' });
  try {
    await link(mine, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new DatastoreUnavailableError(`cannot create lock ${path}`, { cause: err });
  } finally {
    await unlink(mine);
  }
}

function isStale(holder: string, staleMs: number): boolean {
  const [pid, host, at] = holder.split(' ');
  if (Number.isNaN(Number(at))) return true; // torn or foreign content: a crashed writer
  if (Date.now() - Number(at) > staleMs) return true;
  return host === HOST && !isProcessAlive(Number(pid));
}

export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return false;
    if (code === 'EPERM') return true;
    throw err;
  }
}

/**
 * Removes the lock at `path` if it still names `holder`, under the break lock. Returns false when
 * another process is breaking it right now (the caller waits and looks again).
 */
async function breakStale(path: string, holder: string, opts: LockOptions): Promise<boolean> {
  const breakPath = `${path}.break`;
  const mine = newToken();
  if (!(await tryCreate(breakPath, mine))) {
    const breaker = await readIfExists(breakPath);
    // A breaker that died inside its two syscalls: move its break lock aside (checked, see above).
    if (breaker !== undefined && isStale(breaker, opts.staleMs)) await moveAsideIfHeldBy(breakPath, breaker, opts.log);
    return false;
  }
  try {
    if ((await readIfExists(path)) !== holder) return true; // someone else broke it first
    await unlinkIfExists(path);
    opts.log.warn({ lock: path, holder }, 'broke stale datastore lock');
    return true;
  } finally {
    await unlinkIfExists(breakPath);
  }
}

/** Last resort for the break lock only: rename it aside, and put it back if it was not `holder`'s. */
async function moveAsideIfHeldBy(path: string, holder: string, log: Logger): Promise<void> {
  const aside = join(dirname(path), `.${basename(path)}.stale-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await rename(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // another process moved it first
    throw new DatastoreUnavailableError(`cannot break stale lock ${path}`, { cause: err });
  }
  const moved = await readIfExists(aside);
  if (moved !== holder) {
    await link(aside, path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
      log.error({ lock: path, holder: moved }, 'live break lock displaced while breaking a stale one');
    });
  } else {
    log.warn({ lock: path, holder }, 'broke stale datastore break lock');
  }
  await unlink(aside);
}

async function unlinkIfExists(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

async function release(path: string, token: string, log: Logger): Promise<void> {
  const holder = await readIfExists(path);
  if (holder !== token) {
    log.error({ lock: path, holder, token }, 'datastore lock was taken from us (held past staleMs?)');
    return;
  }
  await unlink(path);
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Writes `data` to a temporary file beside `path`, then renames it over `path` (atomic on POSIX). */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await writeFile(tmp, data, { mode: 0o644 });
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    throw err;
  }
}
