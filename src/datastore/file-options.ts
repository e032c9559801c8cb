import type { Logger } from 'pino';
import type { Resource } from '../model/index.js';

/** How a FileDatastore (file.ts) is opened. */
export interface FileDatastoreOptions {
  readonly dir: string;
  readonly log: Logger;
  /** Changes kept in the change log for resuming watches (default 10000). */
  readonly historyWindow?: number;
  /** Periodic rescan of the manifest files, the fallback behind fs.watch (default 500 ms, at most 1000). */
  readonly rescanIntervalMs?: number;
  /**
   * Safety poll for commits by other processes (PRAGMA data_version), behind the inotify wake-up on
   * the database and its WAL (default 250 ms; the only way when `useFsWatch` is false).
   */
  readonly pollIntervalMs?: number;
  /** How long a write waits for the database's write lock held by another process (default 120 s). */
  readonly busyTimeoutMs?: number;
  /** How long a read waits (on timers) while the database cannot be locked, before DatastoreLockedError (default 3 s). */
  readonly readTimeoutMs?: number;
  /**
   * Probe the database's locks from a worker thread so a lock failure never blocks the event loop
   * (lock-guard.ts; default true). Started `lockGuardDelayMs` (default 300) after open, so a
   * short-lived reader such as `margayctl get` never pays for the thread.
   */
  readonly lockGuard?: boolean;
  readonly lockGuardDelayMs?: number;
  /**
   * Starts the guard earlier than `lockGuardDelayMs` when this settles first. The agent sets a long
   * delay and passes "this node's first routes are in": the probe thread's start (≈ 90 ms of CPU on a
   * second thread) then does not compete with a cold start's first programming and BGP sessions,
   * and the delay still bounds the wait when the routes never come (e.g. the database unreadable).
   */
  readonly lockGuardStart?: Promise<unknown>;
  readonly validate?: (raw: unknown) => Resource;
  /** Follow manifest changes with fs.watch as well as the rescan (default true). */
  readonly useFsWatch?: boolean;
  /** A manifest modified less than this long ago is left for the next look (default 100 ms). */
  readonly settleMs?: number;
}
