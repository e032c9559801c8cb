import { existsSync, watch as fsWatch, mkdirSync, type FSWatcher } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { KindId, Resource } from '../model/index.js';
import { ConfigError, InvariantError, MargayError } from '../errors.js';
import type {
  Datastore,
  DatastoreStatus,
  DeleteOptions,
  ListOptions,
  ListResult,
  WatchEvent,
  WatchHandle,
  WatchOptions,
} from './types.js';
import { DatastoreUnavailableError } from './types.js';
import { checkHistoryWindow, namespaceFor, normalizeResource, storeContext } from './store-state.js';
import { compileFilter, matchesFilter } from './watch-hub.js';
import type { ManifestProblem, Normalize } from './file-manifests.js';
import { fileIdentity, SqliteDb } from './sqlite-db.js';
import { DbWake } from './db-wake.js';
import { StoreLife } from './store-life.js';
import { DatastoreLockedError, guardedRetry, LockGuard } from './lock-guard.js';
import { ObjectTable, type Normalized } from './sqlite-objects.js';
import type { FileDatastoreOptions } from './file-options.js';
import { ChangeFeed } from './change-feed.js';
import { knownFiles, syncManifests } from './manifest-sync.js';

export type { FileDatastoreOptions } from './file-options.js';

export const DB_FILE = 'store.db';
const STATE_DIR = '.margay';
const DEFAULT_FILE_HISTORY = 10_000;

/**
 * The file datastore (`file:<dir>`): an SQLite database in WAL mode, `<dir>/.margay/store.db`, holds
 * every object, one revision counter and the change log (sqlite-db.ts, sqlite-objects.ts). Writes
 * through the API are transactions on it: compare-and-swap inside BEGIN IMMEDIATE, so concurrent
 * processes never lose an update, and kill -9 or SIGSTOP at any moment is safe. Reads never wait for
 * writers (WAL).
 *
 * The directory stays the human interface: every `*.yaml`/`*.yml` in it is desired state, applied
 * like `kubectl apply` (manifest-sync.ts; hostile entries handled in manifest-dir.ts). Each process
 * follows the directory (fs.watch + a rescan) and the database (PRAGMA data_version on one short
 * timer, change-feed.ts) and feeds its watches from the change log. See docs/datastore.md.
 */
export class FileDatastore implements Datastore {
  readonly #dir: string;
  readonly #log: Logger;
  readonly #sql: SqliteDb;
  readonly #objects: ObjectTable;
  readonly #feed: ChangeFeed;
  readonly #normalize: Normalize;
  readonly #busyMs: number;
  readonly #readMs: number;
  readonly #settleMs: number;
  #dataVersion = -1;
  /** Own commits not yet published to this process's watches (the guard deferred the pump). */
  #pumpPending = false;
  #wake: DbWake | undefined;
  #guard: LockGuard | undefined;
  #guardTimer: NodeJS.Timeout | undefined;
  #statusTimer: NodeJS.Timeout | undefined;
  #pollMs = 250;
  #ticks = 0;
  #useFsWatch = true;
  #rescan: NodeJS.Timeout | undefined;
  #fsWatcher: FSWatcher | undefined;
  #syncing: Promise<void> | undefined;
  #syncAgain = false;
  #debounce: NodeJS.Timeout | undefined;
  readonly #life: StoreLife;
  #status: DatastoreStatus = { readable: true };
  readonly #statusListeners = new Set<(s: DatastoreStatus) => void>();
  #dbIdentity: string | undefined;
  #validate: ((raw: unknown) => Resource) | undefined;
  readonly #customValidate: ((raw: unknown) => Resource) | undefined;
  #lastHealthCheck = 0;

  private constructor(opts: FileDatastoreOptions, dir: string, sql: SqliteDb) {
    this.#customValidate = opts.validate;
    const ctx = storeContext((raw) => {
      if (!this.#validate) throw new InvariantError('file datastore: validator used before it was loaded');
      return this.#validate(raw);
    });
    this.#dir = dir;
    this.#life = new StoreLife(`file datastore ${dir}`);
    this.#log = opts.log;
    this.#sql = sql;
    this.#objects = new ObjectTable(sql, ctx, checkHistoryWindow(opts.historyWindow ?? DEFAULT_FILE_HISTORY));
    this.#feed = new ChangeFeed(sql, this.#objects);
    this.#normalize = (raw) => normalizeResource(raw, ctx);
    this.#busyMs = opts.busyTimeoutMs ?? 120_000;
    this.#readMs = opts.readTimeoutMs ?? 3000;
    this.#settleMs = opts.settleMs ?? 100;
    this.#dbIdentity = fileIdentity(sql.path);
  }

  /** Opens (creating if needed) the directory and database, imports an old-layout index, applies the manifests. */
  static async open(opts: FileDatastoreOptions): Promise<FileDatastore> {
    const rescan = opts.rescanIntervalMs ?? 500;
    if (!Number.isInteger(rescan) || rescan < 10 || rescan > 1000) {
      throw new ConfigError('datastore', `rescanIntervalMs must be an integer in 10..1000, got ${rescan}`);
    }
    const poll = opts.pollIntervalMs ?? 250;
    if (!Number.isInteger(poll) || poll < 1 || poll > 1000) {
      throw new ConfigError('datastore', `pollIntervalMs must be an integer in 1..1000, got ${poll}`);
    }
    const dir = resolve(opts.dir);
    try {
      // Sync: node:fs/promises would load ≈ 10 internal modules for this one call (docs/startup.md).
      mkdirSync(join(dir, STATE_DIR), { recursive: true, mode: 0o755 });
    } catch (err) {
      throw new DatastoreUnavailableError(`cannot create file datastore directory ${dir}`, { cause: err });
    }
    const busyMs = opts.busyTimeoutMs ?? 120_000;
    const sql = await SqliteDb.open(join(dir, STATE_DIR, DB_FILE), busyMs);
    let ds: FileDatastore | undefined;
    try {
      // Loaded only when needed: the model's validators (zod) and the old layout's importer (yaml)
      // cost a process ~20 MB and ~0.3 s CPU that a reader (margayctl get) does not need.
      ds = new FileDatastore(opts, dir, sql);
      if (existsSync(join(dir, STATE_DIR, 'state.json'))) {
        const { importLegacyIndex } = await import('./legacy-import.js');
        await importLegacyIndex(dir, sql, ds.#write, opts.log);
      }
      await ds.#syncNow();
      for (let round = 0; round < 20 && ds.#lastUnsettled > 0; round++) {
        await new Promise((r) => setTimeout(r, ds!.#settleMs));
        await ds.#syncNow();
      }
    } catch (err) {
      sql.close();
      throw err;
    }
    ds.#follow(rescan, poll, opts.useFsWatch ?? true);
    if (opts.lockGuard ?? true) {
      ds.#guardTimer = setTimeout(() => ds.#startGuard(), opts.lockGuardDelayMs ?? 300);
      ds.#guardTimer.unref();
      const opened = ds;
      const start = (): void => opened.#startGuard();
      void opts.lockGuardStart?.then(start, start);
    }
    return ds;
  }

  get directory(): string {
    return this.#dir;
  }

  /** Problems of the manifest files (bad YAML, invalid objects, duplicates, hostile entries): skipped. */
  problems(): ManifestProblem[] {
    this.#checkOpen();
    const blocked = this.#guard?.blocked();
    if (blocked) throw new DatastoreLockedError(this.#sql.path, blocked, 'reading manifest problems', 0);
    return [...knownFiles(this.#sql).values()].flatMap((r) => JSON.parse(r.problems) as ManifestProblem[]);
  }

  /** Whether the database can be read (false, with the reason, while it cannot). */
  status(): DatastoreStatus {
    return this.#status;
  }

  onStatus(cb: (s: DatastoreStatus) => void): () => void {
    this.#statusListeners.add(cb);
    cb(this.#status);
    return () => this.#statusListeners.delete(cb);
  }

  list(kind: KindId, opts?: ListOptions): Promise<ListResult> {
    const filter = compileFilter(opts);
    const ns = opts?.namespace ? namespaceFor(kind, opts.namespace) : undefined;
    return this.#read(`listing ${kind}`, () =>
      this.#sql.readTx(() => {
        const items: Resource[] = [];
        for (const body of this.#objects.iterateBodies(kind, ns)) {
          const o = JSON.parse(body) as Resource;
          if (matchesFilter(filter, o)) items.push(o);
        }
        return { items, resourceVersion: String(this.#sql.counter().revision) };
      }),
    );
  }

  get(kind: KindId, name: string, namespace?: string): Promise<Resource | undefined> {
    return this.#read(`reading ${kind} ${name}`, () => this.#objects.get(kind, name, namespace));
  }

  create(obj: Resource): Promise<Resource> {
    return this.#put('create', obj);
  }

  update(obj: Resource): Promise<Resource> {
    return this.#put('update', obj);
  }

  /** One transaction: SQLite rolls every insert back when one fails (AlreadyExistsError, given twice). */
  createAll(objs: readonly Resource[]): Promise<Resource[]> {
    return this.#life.run(async () => {
      if (objs.length === 0) return [];
      const ns: Normalized[] = [];
      for (const o of objs) ns.push(await this.#normalized(o));
      const es = await this.#write('create', () => ns.map((n) => this.#objects.create(n)));
      this.#pump();
      return es.map((e) => structuredClone(e.object));
    });
  }

  /** Validated outside the write lock, written, published; tracked so close() waits for it. */
  #put(op: 'create' | 'update', obj: Resource): Promise<Resource> {
    return this.#life.run(async () => {
      const n = await this.#normalized(obj);
      const e = await this.#write(op, () => this.#objects[op](n));
      this.#pump();
      return structuredClone(e.object);
    });
  }

  delete(kind: KindId, name: string, namespace?: string, opts?: DeleteOptions): Promise<void> {
    return this.#life.run(async () => {
      await this.#write('delete', () => this.#objects.delete(kind, name, namespace, opts?.resourceVersion));
      this.#pump();
    });
  }

  watch(kind: KindId, opts: WatchOptions, onEvent: (ev: WatchEvent) => void): WatchHandle {
    this.#checkOpen();
    const blocked = this.#guard?.blocked();
    if (blocked) {
      // Reading the snapshot now could block the loop for seconds: the watch fails at once (retryable).
      return this.#feed.failed(kind, onEvent, new DatastoreLockedError(this.#sql.path, blocked, `watching ${kind}`, 0));
    }
    this.#pump(); // publish what is already committed before this watch's snapshot
    return this.#feed.watch(kind, opts, onEvent);
  }

  /** Tests: change-log reads to publish (one per own commit), probes by the lock-probe thread. */
  get counts(): { readonly pumps: number; readonly probes: number } {
    return { pumps: this.#feed.reads, probes: this.#guard?.probes ?? 0 };
  }

  /** Wake-ups so far (inotify, probe thread, safety poll): tests check there is no busy loop. */
  get ticks(): number {
    return this.#ticks;
  }

  /** How this process learns of other processes' commits now (tests, benchmark). */
  get wakeMode(): 'inotify' | 'poll' | 'probe-thread' | 'closed' {
    if (this.#closed) return 'closed';
    if (this.#guard?.alive) return 'probe-thread';
    return this.#wake?.watching ? 'inotify' : 'poll';
  }

  /** Closing (src/runtime Lifecycle): new calls are refused at once; calls in flight finish first. */
  get #closed(): boolean {
    return !this.#life.open;
  }

  close(): Promise<void> {
    return this.#life.close(() => this.#release());
  }

  async #release(): Promise<void> {
    this.#wake?.close();
    clearTimeout(this.#guardTimer);
    clearInterval(this.#statusTimer);
    await this.#guard?.close(); // its connection closed before ours: ours, the last, checkpoints
    clearInterval(this.#rescan);
    clearTimeout(this.#debounce);
    this.#fsWatcher?.close();
    this.#feed.hub.stopAll();
    await this.#syncing;
    this.#sql.close();
  }

  // ---- transactions ----

  /**
   * Validates outside the transaction (the write lock is held only for the check and the write).
   * The model's validators (zod) are loaded on the first write: a reader (margayctl get) never pays
   * the ~20 MB and ~0.3 s CPU they cost.
   */
  async #normalized(obj: Resource): Promise<Normalized> {
    await this.#loadValidator();
    return this.#normalize(structuredClone(obj));
  }

  #loadValidator = async (): Promise<void> => {
    this.#validate ??= this.#customValidate ?? (await import('../model/index.js')).validateResource;
  };

  #write = async <T>(what: string, fn: () => T): Promise<T> =>
    this.#call(what, this.#busyMs, () => this.#sql.writeTx(fn));

  #read<T>(what: string, fn: () => T): Promise<T> {
    return this.#life.run(() => this.#call(what, this.#readMs, fn));
  }

  /** A synchronous SQLite call, made only while the lock guard allows it, retried while it cannot lock. */
  async #call<T>(what: string, timeoutMs: number, fn: () => T): Promise<T> {
    const label = `file datastore ${this.#dir}: ${what}`;
    let tries = 0;
    try {
      return await guardedRetry(this.#sql.path, label, timeoutMs, this.#guard, () => {
        // A call in flight finishes when close() begins, but stops waiting for a lock it cannot get.
        if (this.#life.released || (tries++ > 0 && this.#life.signal.aborted)) this.#checkOpen();
        return fn();
      });
    } catch (err) {
      if (err instanceof MargayError) throw err;
      throw new DatastoreUnavailableError(`${label}: ${(err as Error).message}`, { cause: err });
    }
  }

  #pump(): void {
    if (this.#closed) return;
    if (this.#guard?.blocked()) {
      this.#pumpPending = true; // published by the next wake once the locks answer
      return;
    }
    this.#pumpPending = false;
    try {
      this.#dataVersion = this.#sql.dataVersion();
      this.#feed.pump(); // readable again is decided by #checkHealth only (no flapping)
    } catch (err) {
      // Logged once by #setStatus when readability changes; the poll timer retries.
      this.#setStatus({ readable: false, reason: `cannot read the change log: ${(err as Error).message}` });
    }
  }

  // ---- following other processes and the manifest files ----

  #lastUnsettled = 0;
  #cleanScan: string | undefined;

  async #syncNow(): Promise<void> {
    const r = await syncManifests(
      {
        dir: this.#dir,
        sql: this.#sql,
        objects: this.#objects,
        normalize: this.#normalize,
        prepare: this.#loadValidator,
        settleMs: this.#settleMs,
        write: this.#write,
        ...(this.#cleanScan !== undefined ? { lastCleanScan: this.#cleanScan } : {}),
        blocked: () => this.#guard?.blocked(),
      },
      Date.now,
    );
    this.#cleanScan = r.cleanScan;
    this.#lastUnsettled = r.unsettled;
    for (const [file, problems] of r.problems) {
      for (const p of problems)
        this.#log.warn({ file: p.file, line: p.line, reason: p.reason }, 'manifest problem: document skipped');
      if (problems.length === 0) this.#log.info({ file }, 'manifest problems resolved');
    }
    if (r.applied > 0) this.#pump();
  }

  #follow(rescanMs: number, pollMs: number, useFsWatch: boolean): void {
    this.#pollMs = pollMs;
    this.#useFsWatch = useFsWatch;
    this.#restartWake();
    this.#rescan = setInterval(() => this.#kickSync(), rescanMs);
    if (!useFsWatch) return;
    try {
      this.#fsWatcher = fsWatch(this.#dir, (_ev, name) => {
        if (name === null || !String(name).startsWith('.')) this.#kickSoon();
      });
      this.#fsWatcher.on('error', (err) =>
        this.#log.warn({ err, dir: this.#dir }, 'fs.watch failed; relying on the periodic rescan'),
      );
    } catch (err) {
      this.#log.warn({ err, dir: this.#dir }, 'fs.watch unavailable; relying on the periodic rescan');
    }
  }

  /**
   * From now on the probe thread wakes this store (inotify and its probe, lock-guard.ts) and the
   * event loop touches SQLite only right after a probe succeeded or when called; the main-thread
   * wake-up stops (its safety poll would call SQLite at moments when the locks may be failing).
   */
  #startGuard(): void {
    if (this.#closed || this.#guard) return;
    this.#guard = new LockGuard(this.#sql.path, this.#log, (changed) => {
      if (this.#guard?.alive === false) this.#restartWake();
      this.#tick(this.#guard?.alive === false ? undefined : changed);
    });
    this.#log.info({ file: this.#sql.path }, 'lock probe thread started');
    this.#wake?.close();
    this.#wake = undefined;
    this.#statusTimer = setInterval(() => {
      const blocked = this.#guard?.failing();
      if (blocked) this.#setStatus({ readable: false, reason: `${this.#sql.path}: ${blocked}` });
    }, 1000);
    this.#statusTimer.unref();
  }

  #restartWake(): void {
    if (this.#wake || this.#closed) return;
    this.#wake = new DbWake(this.#sql.path, () => this.#tick(), this.#log, this.#pollMs);
    this.#wake.start(this.#useFsWatch);
  }

  /**
   * A wake (inotify event on the database or its WAL, the safety poll, or the probe thread): a commit
   * by another connection changes data_version; then publish it. Returns whether there was something
   * new. `probed` comes from the probe thread, which read data_version itself and proved the locks
   * answer: the loop calls SQLite only when it saw a commit (never for a heartbeat: a lock broken since
   * would freeze it); a change seen while the locks fail is published later. The probe sees our own
   * commits too, so the loop checks its own data_version (moved only by others) before publishing.
   */
  #tick(probed?: boolean): boolean {
    if (this.#closed) return false;
    this.#ticks++;
    if (this.#guard?.blocked()) {
      const failing = this.#guard.failing();
      if (failing) this.#setStatus({ readable: false, reason: `${this.#sql.path}: ${failing}` });
      if (probed) this.#pumpPending = true;
      return false;
    }
    try {
      const changed = (probed !== false && this.#sql.dataVersion() !== this.#dataVersion) || this.#pumpPending;
      if (changed) this.#pump();
      const now = Date.now();
      if (now - this.#lastHealthCheck >= 1000) {
        this.#lastHealthCheck = now;
        this.#checkHealth(probed === undefined);
      }
      return changed;
    } catch (err) {
      this.#setStatus({ readable: false, reason: `cannot read the database: ${(err as Error).message}` });
      return false;
    }
  }

  /** The database file must still be the one this process opened, and readable. */
  #checkHealth(read = true): void {
    const id = fileIdentity(this.#sql.path);
    if (id === undefined || id !== this.#dbIdentity) {
      this.#setStatus({ readable: false, reason: `${this.#sql.path} is gone or was replaced since it was opened` });
      return;
    }
    if (read) this.#sql.counter(); // with the probe thread, its last probe was the read
    this.#setStatus({ readable: true });
  }

  #setStatus(s: DatastoreStatus): void {
    if (s.readable === this.#status.readable && s.reason === this.#status.reason) return;
    if (!s.readable) this.#log.error({ dir: this.#dir, reason: s.reason }, 'datastore unreadable');
    else this.#log.info({ dir: this.#dir }, 'datastore readable again');
    this.#status = s;
    for (const cb of this.#statusListeners) cb(s);
  }

  #kickSoon(): void {
    if (this.#debounce || this.#closed) return;
    this.#debounce = setTimeout(() => {
      this.#debounce = undefined;
      this.#kickSync();
    }, 20);
  }

  #kickSync(): void {
    if (this.#closed || this.#guard?.blocked()) return; // the next rescan tries again
    if (this.#syncing) {
      this.#syncAgain = true;
      return;
    }
    this.#syncing = this.#syncNow()
      .catch((err: unknown) =>
        this.#log.warn({ err, dir: this.#dir }, 'applying manifest files failed; retrying on the next scan'),
      )
      .finally(() => {
        this.#syncing = undefined;
        if (this.#lastUnsettled > 0 && !this.#closed) setTimeout(() => this.#kickSync(), this.#settleMs + 10);
        if (this.#syncAgain) {
          this.#syncAgain = false;
          this.#kickSync();
        }
      });
  }

  #checkOpen(): void {
    this.#life.check();
  }
}
