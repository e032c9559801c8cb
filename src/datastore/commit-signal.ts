import { closeSync, constants, fstatSync, openSync, writeSync } from 'node:fs';

/**
 * `<database>-commit`: a file every Margay writer touches (one 1-byte pwrite) right after each
 * COMMIT, so the other processes' inotify watch wakes them once the commit is visible.
 *
 * Why: a commit writes its frames to the WAL (inotify events) and only then publishes them in the
 * WAL index, which is shared memory and raises no event. A reader woken by the WAL's first event
 * usually looks a moment too early, sees nothing new and has to look again a timer later (1–2 ms;
 * lock-guard.ts, db-wake.ts) — the largest part of a new IPAM block's way from the datastore to the
 * node's BGP speaker. An event on this file comes after the commit is published. Writers that do not
 * touch it (an older margay, the sqlite3 shell) are still seen through the WAL's events.
 *
 * Hostile directory contents are refused, never followed: no symlink (O_NOFOLLOW), never a blocking
 * open (O_NONBLOCK: a FIFO in its place fails at once), and only a regular file of at most the one
 * byte this class writes, with one link, owned by this process's user — a hard link to someone else's
 * file planted under the name is never written. Any failure turns the signal off for this
 * connection; readers then fall back to the WAL's events.
 */
export const COMMIT_SIGNAL_SUFFIX = '-commit';

const ONE = Buffer.from([0x31]);

export class CommitSignal {
  /** undefined: not opened yet; null: off (could not be used). */
  #fd: number | null | undefined;

  constructor(private readonly dbPath: string) {}

  /** Called after every COMMIT of this connection. Never throws. */
  notify(): void {
    if (this.#fd === null) return;
    try {
      this.#fd ??= this.#open();
      if (this.#fd !== null) writeSync(this.#fd, ONE, 0, 1, 0);
    } catch {
      this.close();
      this.#fd = null;
    }
  }

  #open(): number | null {
    const { O_WRONLY, O_CREAT, O_NOFOLLOW, O_NONBLOCK } = constants;
    const fd = openSync(`${this.dbPath}${COMMIT_SIGNAL_SUFFIX}`, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o644);
    const st = fstatSync(fd);
    if (st.isFile() && st.nlink === 1 && st.size <= 1 && st.uid === process.geteuid?.()) return fd;
    closeSync(fd);
    return null;
  }

  close(): void {
    if (typeof this.#fd === 'number') {
      try {
        closeSync(this.#fd);
      } catch {
        // already gone
      }
    }
    this.#fd = undefined;
  }
}
