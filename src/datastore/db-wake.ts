import { watch as fsWatch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';
import { COMMIT_SIGNAL_SUFFIX } from './commit-signal.js';

/**
 * Wakes a file datastore when another process may have committed: inotify (fs.watch) on the
 * database's directory, filtered to the database file and its write-ahead log (`store.db`,
 * `store.db-wal`; a commit appends to the WAL, a checkpoint writes the database, a WAL reset or
 * truncation rewrites or truncates the WAL — all of them are events on these names). Watching the
 * directory rather than the files survives the WAL being deleted and recreated (last close, next
 * open) and needs no re-arming.
 *
 * Every event schedules one wake on the next event-loop turn (setImmediate): a burst of events — one
 * commit is several writes to the WAL — costs one wake, and this process's own commits, which also
 * write the WAL, cost one cheap `PRAGMA data_version` read each and nothing more (no loop: a wake
 * reads, it never writes). A slower safety timer (`pollMs`) wakes anyway, for file systems where
 * inotify does not report other processes' writes (NFS, some FUSE/overlay setups) and as a
 * backstop if the watcher fails.
 *
 * The WAL is written before the commit is published in the shared WAL index (shm), so a wake can
 * come a few microseconds before the new data_version is visible; `onWake` returning false ("saw
 * nothing new") after an event makes this class look once more after `recheckMs`.
 */
export class DbWake {
  readonly #names: ReadonlySet<string>;
  readonly #dir: string;
  #watcher: FSWatcher | undefined;
  #poll: NodeJS.Timeout | undefined;
  #recheck: NodeJS.Timeout | undefined;
  #scheduled = false;
  #fromEvent = false;
  #closed = false;
  /** Wakes caused by file events (tests and the benchmark read it to tell inotify from the poll). */
  eventWakes = 0;

  constructor(
    dbPath: string,
    private readonly onWake: () => boolean,
    private readonly log: Logger,
    private readonly pollMs: number,
    private readonly recheckMs = 2,
  ) {
    this.#dir = dirname(dbPath);
    const db = basename(dbPath);
    this.#names = new Set([db, `${db}-wal`, `${db}${COMMIT_SIGNAL_SUFFIX}`]);
  }

  /** Starts the watcher (unless `useInotify` is false) and the safety poll. */
  start(useInotify: boolean): void {
    // Not unref'd: an open store is a live resource and keeps the process up until close().
    this.#poll = setInterval(() => this.#wake(false), this.pollMs);
    if (!useInotify) return;
    try {
      this.#watcher = fsWatch(this.#dir, { persistent: false }, (_ev, name) => {
        if (name === null || this.#names.has(String(name))) this.#schedule();
      });
      this.#watcher.on('error', (err) => {
        this.log.warn({ err, dir: this.#dir }, 'fs.watch on the database failed; relying on the safety poll');
        this.#watcher?.close();
        this.#watcher = undefined;
      });
    } catch (err) {
      this.log.warn({ err, dir: this.#dir }, 'fs.watch on the database unavailable; relying on the safety poll');
    }
  }

  /** Whether the inotify watcher is running. */
  get watching(): boolean {
    return this.#watcher !== undefined;
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#poll);
    clearTimeout(this.#recheck);
    this.#watcher?.close();
    this.#watcher = undefined;
  }

  #schedule(): void {
    this.#fromEvent = true;
    if (this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      const fromEvent = this.#fromEvent;
      this.#fromEvent = false;
      if (fromEvent) this.eventWakes++;
      this.#wake(fromEvent);
    });
  }

  #wake(fromEvent: boolean): void {
    if (this.#closed) return;
    const sawChange = this.onWake();
    if (fromEvent && !sawChange && !this.#recheck) {
      this.#recheck = setTimeout(() => {
        this.#recheck = undefined;
        if (!this.#closed) this.onWake();
      }, this.recheckMs);
    }
  }
}
