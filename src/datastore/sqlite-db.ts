import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { CommitSignal } from './commit-signal.js';
import { DatastoreUnavailableError } from './types.js';

/**
 * The SQLite database under a file datastore (`<dir>/.margay/store.db`, WAL mode), opened through
 * Node's built-in `node:sqlite` (no native dependency). This file owns the schema, the pragmas and
 * the one rule about locking: every write is `BEGIN IMMEDIATE … COMMIT` run synchronously, so within
 * a process transactions never interleave, and across processes SQLite's own file locks serialise
 * them. A process killed (-9) or stopped (SIGSTOP) at any moment either committed or did not; there
 * is no lock file and no time-based lock breaking: a stopped writer makes the others wait (see
 * `withBusyRetry`), it is never overtaken.
 *
 * Schema:
 *   counter(revision, compacted)   one row: the global revision and the newest compacted change
 *   objects(kind, ns, name, rev, body, source, applied)
 *                                  body = the stored object (JSON, with resourceVersion = rev);
 *                                  source = manifest file that owns it (NULL: API-created);
 *                                  applied = the file's object as last applied (three-way merge)
 *   changes(rev, type, kind, body, prev_labels)   the change log that feeds watch
 *   files(path, stat, problems)    every manifest file as last applied, with its problems
 *   meta(key, value)               epoch, schema, import state
 */
export const SCHEMA_VERSION = '1';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY CHECK (id = 0), revision INTEGER NOT NULL, compacted INTEGER NOT NULL) STRICT;
INSERT OR IGNORE INTO counter (id, revision, compacted) VALUES (0, 0, 0);
CREATE TABLE IF NOT EXISTS objects (
  kind TEXT NOT NULL, ns TEXT NOT NULL, name TEXT NOT NULL, rev INTEGER NOT NULL, body TEXT NOT NULL,
  source TEXT, applied TEXT, PRIMARY KEY (kind, ns, name)) STRICT;
CREATE INDEX IF NOT EXISTS objects_source ON objects (source) WHERE source IS NOT NULL;
CREATE TABLE IF NOT EXISTS changes (rev INTEGER PRIMARY KEY, type TEXT NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL, prev_labels TEXT) STRICT;
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, stat TEXT NOT NULL, problems TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
`;

export interface ObjectRow {
  readonly kind: string;
  readonly ns: string;
  readonly name: string;
  readonly rev: number;
  readonly body: string;
  readonly source: string | null;
  readonly applied: string | null;
}

export interface ChangeRow {
  readonly rev: number;
  readonly type: string;
  readonly kind: string;
  readonly body: string;
  readonly prev_labels: string | null;
}

export interface FileRow {
  readonly path: string;
  readonly stat: string;
  readonly problems: string;
}

/** How long one attempt waits inside SQLite's busy handler (it blocks the event loop meanwhile). */
const BUSY_SLICE_MS = 20;

/** SQLITE_BUSY (5) / SQLITE_LOCKED (6), also as extended codes (low byte). */
export function isBusy(err: unknown): boolean {
  const code = (err as { errcode?: unknown }).errcode;
  return typeof code === 'number' && ((code & 0xff) === 5 || (code & 0xff) === 6);
}

/**
 * Runs `attempt` until it does not fail with SQLITE_BUSY, waiting (without blocking the event loop)
 * between attempts with jittered back-off, for at most `timeoutMs`. Then DatastoreUnavailableError:
 * another process holds the write lock that long (stopped, or stuck). No lock is ever broken.
 */
export async function withBusyRetry<T>(what: string, timeoutMs: number, attempt: () => T): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  for (;;) {
    try {
      return attempt();
    } catch (err) {
      if (!isBusy(err)) throw err;
      if (Date.now() >= deadline) {
        throw new DatastoreUnavailableError(
          `${what}: the database stayed locked by another process for ${timeoutMs} ms (a writer stopped or stuck?)`,
          { cause: err },
        );
      }
    }
    await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random())));
    delay = Math.min(delay * 2, 25);
  }
}

function schemaOf(db: DatabaseSync): string | undefined {
  const t = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
  if (!t) return undefined;
  return (db.prepare("SELECT value FROM meta WHERE key = 'schema'").get() as { value: string } | undefined)?.value;
}

/** Prepared statements, made once per connection. */
export class Statements {
  readonly counter: StatementSync;
  readonly setCounter: StatementSync;
  readonly getObject: StatementSync;
  readonly listKind: StatementSync;
  readonly listKindNs: StatementSync;
  readonly insertObject: StatementSync;
  readonly updateObject: StatementSync;
  readonly setOwner: StatementSync;
  readonly deleteObject: StatementSync;
  readonly ownedBy: StatementSync;
  readonly insertChange: StatementSync;
  readonly changesAfter: StatementSync;
  readonly compact: StatementSync;
  readonly dataVersion: StatementSync;
  readonly getFile: StatementSync;
  readonly allFiles: StatementSync;
  readonly putFile: StatementSync;
  readonly deleteFile: StatementSync;
  readonly getMeta: StatementSync;
  readonly putMeta: StatementSync;

  constructor(db: DatabaseSync) {
    this.counter = db.prepare('SELECT revision, compacted FROM counter WHERE id = 0');
    this.setCounter = db.prepare('UPDATE counter SET revision = ?, compacted = ? WHERE id = 0');
    this.getObject = db.prepare('SELECT * FROM objects WHERE kind = ? AND ns = ? AND name = ?');
    this.listKind = db.prepare('SELECT body FROM objects WHERE kind = ? ORDER BY ns, name');
    this.listKindNs = db.prepare('SELECT body FROM objects WHERE kind = ? AND ns = ? ORDER BY name');
    this.insertObject = db.prepare(
      'INSERT INTO objects (kind, ns, name, rev, body, source, applied) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.updateObject = db.prepare('UPDATE objects SET rev = ?, body = ? WHERE kind = ? AND ns = ? AND name = ?');
    this.setOwner = db.prepare('UPDATE objects SET source = ?, applied = ? WHERE kind = ? AND ns = ? AND name = ?');
    this.deleteObject = db.prepare('DELETE FROM objects WHERE kind = ? AND ns = ? AND name = ?');
    this.ownedBy = db.prepare('SELECT * FROM objects WHERE source = ?');
    this.insertChange = db.prepare('INSERT INTO changes (rev, type, kind, body, prev_labels) VALUES (?, ?, ?, ?, ?)');
    this.changesAfter = db.prepare('SELECT * FROM changes WHERE rev > ? ORDER BY rev LIMIT ?');
    this.compact = db.prepare('DELETE FROM changes WHERE rev <= ?');
    this.dataVersion = db.prepare('PRAGMA data_version');
    this.getFile = db.prepare('SELECT * FROM files WHERE path = ?');
    this.allFiles = db.prepare('SELECT * FROM files ORDER BY path');
    this.putFile = db.prepare('INSERT OR REPLACE INTO files (path, stat, problems) VALUES (?, ?, ?)');
    this.deleteFile = db.prepare('DELETE FROM files WHERE path = ?');
    this.getMeta = db.prepare('SELECT value FROM meta WHERE key = ?');
    this.putMeta = db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
  }
}

/** One connection with its statements and the transaction helpers. */
export class SqliteDb {
  readonly st: Statements;
  #inTx = false;
  /** Wakes the other processes once a commit is visible (commit-signal.ts). */
  readonly #signal: CommitSignal;

  private constructor(
    readonly db: DatabaseSync,
    readonly path: string,
  ) {
    this.st = new Statements(db);
    this.#signal = new CommitSignal(path);
  }

  /**
   * Opens (creating if needed) the database: WAL mode, synchronous=NORMAL (a commit survives the
   * process being killed at any moment; the last commits may be lost on power failure), the schema.
   * Concurrent first opens by many processes retry on SQLITE_BUSY like writes do.
   */
  static async open(path: string, busyTimeoutMs: number): Promise<SqliteDb> {
    let db: DatabaseSync | undefined;
    try {
      db = await withBusyRetry(`opening ${path}`, busyTimeoutMs, () => {
        const d = new DatabaseSync(path, { timeout: BUSY_SLICE_MS, enableForeignKeyConstraints: false });
        try {
          d.exec('PRAGMA journal_mode = WAL');
          d.exec('PRAGMA synchronous = NORMAL');
          return d;
        } catch (err) {
          d.close();
          throw err;
        }
      });
      const s = db;
      await withBusyRetry(`creating the schema of ${path}`, busyTimeoutMs, () => {
        // An existing database opens without the write lock: readers open while a writer is stopped.
        if (schemaOf(s) === SCHEMA_VERSION) return;
        s.exec('BEGIN IMMEDIATE');
        try {
          s.exec(SCHEMA);
          const schema = s.prepare("SELECT value FROM meta WHERE key = 'schema'").get() as
            | { value: string }
            | undefined;
          if (schema && schema.value !== SCHEMA_VERSION) {
            throw new DatastoreUnavailableError(
              `${path} has schema ${schema.value}; this margay reads ${SCHEMA_VERSION}`,
            );
          }
          if (!schema) {
            s.prepare("INSERT INTO meta (key, value) VALUES ('schema', ?), ('epoch', ?)").run(
              SCHEMA_VERSION,
              randomUUID(),
            );
          }
          s.exec('COMMIT');
        } catch (err) {
          s.exec('ROLLBACK');
          throw err;
        }
      });
      return new SqliteDb(s, path);
    } catch (err) {
      db?.close();
      if (err instanceof DatastoreUnavailableError) throw err;
      throw new DatastoreUnavailableError(`cannot open the datastore database ${path}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /**
   * A write transaction: BEGIN IMMEDIATE (takes SQLite's write lock or fails busy), fn, COMMIT; any
   * throw rolls back. Synchronous, so nothing else in this process runs in between.
   */
  writeTx<T>(fn: () => T): T {
    if (this.#inTx) throw new DatastoreUnavailableError('nested datastore transaction');
    this.db.exec('BEGIN IMMEDIATE');
    this.#inTx = true;
    try {
      const out = fn();
      this.db.exec('COMMIT');
      this.#signal.notify();
      return out;
    } catch (err) {
      this.#rollback();
      throw err;
    } finally {
      this.#inTx = false;
    }
  }

  /** A read transaction: one consistent snapshot for several statements (WAL: never waits for writers). */
  readTx<T>(fn: () => T): T {
    if (this.#inTx) return fn();
    this.db.exec('BEGIN');
    this.#inTx = true;
    try {
      return fn();
    } finally {
      this.#inTx = false;
      this.#rollback();
    }
  }

  #rollback(): void {
    if (this.db.isTransaction) this.db.exec('ROLLBACK');
  }

  counter(): { revision: number; compacted: number } {
    return this.st.counter.get() as { revision: number; compacted: number };
  }

  dataVersion(): number {
    return (this.st.dataVersion.get() as { data_version: number }).data_version;
  }

  meta(key: string): string | undefined {
    return (this.st.getMeta.get(key) as { value: string } | undefined)?.value;
  }

  close(): void {
    this.#signal.close();
    if (this.db.isOpen) this.db.close();
  }
}

/** The file's device:inode (undefined when gone): a replaced database file gets a new one. */
export function fileIdentity(path: string): string | undefined {
  try {
    const s = statSync(path, { throwIfNoEntry: false });
    return s && `${s.dev}:${s.ino}`;
  } catch (err) {
    // EACCES, ENOTDIR…: treated as gone; the caller reports the store unreadable.
    return `unreadable:${(err as NodeJS.ErrnoException).code ?? 'error'}`;
  }
}
