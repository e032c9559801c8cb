import { watch as fsWatch, type FSWatcher } from 'node:fs';
import { mkdir, readFile, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { KINDS, type KindId, type Resource } from '../../model/index.js';
import { ConfigError, InvariantError, MargayError } from '../../errors.js';
import type {
  Datastore,
  DeleteOptions,
  ListOptions,
  ListResult,
  WatchEvent,
  WatchHandle,
  WatchOptions,
} from '../types.js';
import { DatastoreUnavailableError, VersionExpiredError } from '../types.js';
import { namespaceFor, normalizeResource, objectKey, StoreState, type StoreContext } from '../store-state.js';
import { compileFilter, matchesFilter, startWatch, WatchHub } from '../watch-hub.js';
import { checkHistoryWindow, defaultStoreContext } from '../memory.js';
import { withFileLock, writeFileAtomic, type LockOptions } from './legacy-file-lock.js';
import {
  hasNoObjects,
  isBareSingleDocument,
  manifestYaml,
  parseManifestText,
  replaceDocument,
} from '../file-manifests.js';
import type { ManifestProblem, Normalize } from '../file-manifests.js';
import { filesDiffer, newDb, readDb, scanManifestFiles, STATE_DIR, statKey, syncFiles } from './legacy-file-db.js';
import type { FileDb, SourceRef } from './legacy-file-db.js';

export interface LegacyFileDatastoreOptions {
  readonly dir: string;
  readonly log: Logger;
  /** Changes kept for resuming watches (default 1000). */
  readonly historyWindow?: number;
  /** Periodic rescan, the fallback behind fs.watch (default 500 ms, at most 1000). */
  readonly rescanIntervalMs?: number;
  /** How long a write waits for the directory lock (default 10 s). */
  readonly lockTimeoutMs?: number;
  /** A lock older than this is broken even if its process seems alive (default 30 s). */
  readonly staleLockMs?: number;
  readonly validate?: (raw: unknown) => Resource;
  /** Follow changes with fs.watch as well as the rescan (default true; false tests the fallback). */
  readonly useFsWatch?: boolean;
  /**
   * A manifest is read only once it has not been modified for this long (default 100 ms), so one
   * caught half-written is not applied; open() waits for such files (at most 20 rounds).
   */
  readonly settleMs?: number;
}

/**
 * The file datastore (`file:<dir>`): every *.yaml/*.yml under `dir` is desired state, as
 * `kubectl apply -f` would create it; objects created through the API get one file each,
 * `<plural>/<namespace>/<name>.yaml`. Versions, uids and the watch history live in the index
 * `<dir>/.margay/state.json` (file-db.ts), so hand-written files stay as people wrote them.
 *
 * Every write and every re-read of changed files happens under the directory lock (file-lock.ts):
 * read the index, fold in changed manifest files, check the resourceVersion (compare-and-swap),
 * write the manifest and the index atomically, unlock. All processes sharing the directory thus
 * see one history. Each process follows it with fs.watch plus a periodic rescan, and turns index
 * changes into watch events (watch-hub.ts). Malformed files are listed by problems() and logged,
 * and skipped; see docs/datastore.md.
 */
export class LegacyFileDatastore implements Datastore {
  readonly #dir: string;
  readonly #dbPath: string;
  readonly #lockPath: string;
  readonly #log: Logger;
  readonly #lockOpts: LockOptions;
  readonly #window: number;
  readonly #ctx: StoreContext;
  readonly #normalize: Normalize;
  readonly #hub = new WatchHub();
  #db: FileDb = newDb();
  #dbStat: string | undefined;
  #adopted = false;
  #queue: Promise<unknown> = Promise.resolve();
  #refreshing: Promise<void> | undefined;
  #again = false;
  /** A walk of the manifest files is owed (fs.watch saw a manifest change, or the rescan timer). */
  #scanPending = false;
  #debounce: NodeJS.Timeout | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #fsWatchers: FSWatcher[] = [];
  #closed = false;
  readonly #settleMs: number;
  /** Manifest files the last sync left for later (modified too recently or while read). */
  #unsettled = 0;
  #settleTimer: NodeJS.Timeout | undefined;

  private constructor(opts: LegacyFileDatastoreOptions) {
    this.#dir = resolve(opts.dir);
    this.#dbPath = join(this.#dir, STATE_DIR, 'state.json');
    this.#lockPath = join(this.#dir, STATE_DIR, 'lock');
    this.#log = opts.log;
    this.#window = checkHistoryWindow(opts.historyWindow);
    this.#ctx = defaultStoreContext(opts.validate);
    this.#normalize = (raw) => normalizeResource(raw, this.#ctx);
    this.#settleMs = opts.settleMs ?? 100;
    this.#lockOpts = { timeoutMs: opts.lockTimeoutMs ?? 10_000, staleMs: opts.staleLockMs ?? 30_000, log: opts.log };
  }

  /** Opens (creating if needed) the directory, reads every manifest and starts following changes. */
  static async open(opts: LegacyFileDatastoreOptions): Promise<LegacyFileDatastore> {
    const rescan = opts.rescanIntervalMs ?? 500;
    if (!Number.isInteger(rescan) || rescan < 10 || rescan > 1000) {
      throw new ConfigError('datastore', `rescanIntervalMs must be an integer in 10..1000, got ${rescan}`);
    }
    const ds = new LegacyFileDatastore(opts);
    try {
      await mkdir(join(ds.#dir, STATE_DIR), { recursive: true });
    } catch (err) {
      throw new DatastoreUnavailableError(`cannot create file datastore directory ${ds.#dir}`, { cause: err });
    }
    await ds.#transact(undefined);
    for (let round = 0; round < 20 && ds.#unsettled > 0; round++) {
      await new Promise((r) => setTimeout(r, ds.#settleMs));
      await ds.#transact(undefined);
    }
    ds.#follow(rescan, opts.useFsWatch ?? true);
    return ds;
  }

  /** Problems with the manifest files (bad YAML, invalid resources, duplicates): skipped documents. */
  problems(): ManifestProblem[] {
    return Object.values(this.#db.files).flatMap((f) => f.problems);
  }

  get directory(): string {
    return this.#dir;
  }

  async list(kind: KindId, opts?: ListOptions): Promise<ListResult> {
    const filter = compileFilter(opts);
    await this.#catchUp();
    const items = Object.values(this.#db.objects)
      .filter((o) => o.kind === kind && matchesFilter(filter, o.object))
      .map((o) => structuredClone(o.object));
    return { items, resourceVersion: String(this.#db.revision) };
  }

  async get(kind: KindId, name: string, namespace?: string): Promise<Resource | undefined> {
    await this.#catchUp();
    const o = this.#db.objects[objectKey(kind, name, namespaceFor(kind, namespace))];
    return o && structuredClone(o.object);
  }

  async create(obj: Resource): Promise<Resource> {
    return this.#transact(async (db, state) => {
      const entry = state.create(structuredClone(obj));
      const rel = await this.#freePath(entry.kind, entry.object);
      await this.#writeManifest(db, rel, manifestYaml(entry.object), true);
      db.sources[keyOf(entry.kind, entry.object)] = { file: rel, doc: 0 };
      return structuredClone(entry.object);
    });
  }

  async update(obj: Resource): Promise<Resource> {
    return this.#transact(async (db, state) => {
      const entry = state.update(structuredClone(obj));
      const key = keyOf(entry.kind, entry.object);
      await this.#rewriteDocument(db, sourceOf(db, key), key, manifestYaml(entry.object));
      return structuredClone(entry.object);
    });
  }

  async delete(kind: KindId, name: string, namespace?: string, opts?: DeleteOptions): Promise<void> {
    await this.#transact(async (db, state) => {
      const entry = state.delete(kind, name, namespace, opts?.resourceVersion);
      const key = keyOf(kind, entry.object);
      const src = sourceOf(db, key);
      delete db.sources[key];
      await this.#rewriteDocument(db, src, key, undefined);
      for (const s of Object.values(db.sources)) {
        if (s.file === src.file && s.doc > src.doc) (s as { doc: number }).doc--;
      }
    });
  }

  watch(kind: KindId, opts: WatchOptions, onEvent: (ev: WatchEvent) => void): WatchHandle {
    if (this.#closed) throw new DatastoreUnavailableError(`file datastore ${this.#dir} is closed`);
    return startWatch(
      this.#hub,
      () => this.#db,
      kind,
      opts,
      onEvent,
      (start) => {
        // Start from the newest index, in the same queue that publishes changes: nothing lost or doubled.
        void this.#serial(async () => {
          try {
            await this.#catchUpNow();
          } catch (err) {
            // The periodic rescan retries the re-read; start from the index last read meanwhile.
            this.#log.warn({ err, kind }, 'watch start: re-reading the index failed');
          }
          start();
        });
      },
    );
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    clearTimeout(this.#debounce);
    clearTimeout(this.#settleTimer);
    for (const w of this.#fsWatchers) w.close();
    this.#hub.stopAll();
    await this.#queue;
    await this.#refreshing;
  }

  // ---- transactions and following ----

  /** Runs fn(...) under the directory lock on a fresh copy of the index, after folding in file changes. */
  async #transact<T>(fn: ((db: FileDb, state: StoreState) => Promise<T>) | undefined): Promise<T> {
    this.#checkOpen();
    return this.#serial(() =>
      withFileLock(this.#lockPath, this.#lockOpts, async () => {
        const read = await readDb(this.#dbPath);
        const db = read?.db ?? newDb();
        const state = new StoreState(db, this.#ctx, this.#window);
        const { changed, unsettled } = await syncFiles(db, state, this.#dir, this.#normalize, this.#settleMs);
        this.#noteUnsettled(unsettled);
        if (changed || !read) await this.#save(db);
        else this.#adopt(db, read.stat);
        if (!fn) return undefined as T;
        const work = structuredClone(db); // a failed fn leaves no half-done change behind
        const result = await fn(work, new StoreState(work, this.#ctx, this.#window));
        await this.#save(work);
        return result;
      }),
    ).catch((err: unknown) => {
      if (err instanceof MargayError) throw err;
      throw new DatastoreUnavailableError(`file datastore ${this.#dir}: ${(err as Error).message}`, { cause: err });
    });
  }

  async #save(db: FileDb): Promise<void> {
    await writeFileAtomic(this.#dbPath, JSON.stringify(db));
    const stat = await statKey(this.#dbPath);
    this.#adopt(db, stat);
  }

  /** Makes `db` this process's view and publishes its new journal entries to local watches. */
  #adopt(db: FileDb, stat: string | undefined): void {
    const prev = this.#adopted ? this.#db : undefined;
    if (prev && prev.epoch === db.epoch && db.revision < prev.revision) return;
    if (prev && prev.epoch !== db.epoch) {
      this.#hub.failAll(new VersionExpiredError(`datastore index ${this.#dbPath} was recreated: relist`));
    } else if (prev && prev.revision < db.compactedRevision) {
      this.#hub.failAll(new VersionExpiredError(`fell behind the datastore history (at ${prev.revision}): relist`));
    } else if (prev) {
      this.#hub.publish(db.journal.filter((e) => e.rev > prev.revision));
    }
    this.#logProblems(prev, db);
    this.#db = db;
    this.#dbStat = stat;
    this.#adopted = true;
  }

  #logProblems(prev: FileDb | undefined, db: FileDb): void {
    const files = new Set([...Object.keys(db.files), ...Object.keys(prev?.files ?? {})]);
    for (const file of files) {
      const now = db.files[file]?.problems ?? [];
      const before = prev?.files[file]?.problems ?? [];
      if (JSON.stringify(now) === JSON.stringify(before)) continue;
      for (const p of now)
        this.#log.warn({ file: p.file, line: p.line, reason: p.reason }, 'manifest problem: document skipped');
      if (now.length === 0 && before.length > 0) this.#log.info({ file }, 'manifest problems resolved');
    }
  }

  async #catchUp(): Promise<void> {
    this.#checkOpen();
    await this.#serial(() => this.#catchUpNow());
  }

  /** Re-reads the index if another process changed it (call inside the queue). */
  async #catchUpNow(): Promise<void> {
    if ((await statKey(this.#dbPath)) === this.#dbStat) return;
    const read = await readDb(this.#dbPath);
    if (read) this.#adopt(read.db, read.stat);
  }

  /** One operation at a time per process; the result (or error) goes to the caller. */
  #serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(op);
    this.#queue = run.then(
      () => undefined,
      () => undefined, // the error is the caller's, through `run`
    );
    return run;
  }

  #follow(rescanMs: number, useFsWatch: boolean): void {
    // Not unref'd: an open store is a live resource (like the kubernetes backend's watch socket)
    // and keeps the process up until close().
    this.#timer = setInterval(() => this.#kick(), rescanMs);
    // An index change (another process wrote) needs only a re-read of the index, not a walk of
    // every manifest: under a burst of writes each process would otherwise rescan per write.
    const watchDir = (dir: string, relevant: (name: string) => boolean, scanFiles: boolean) => {
      try {
        const w = fsWatch(dir, (_ev, name) => {
          if (name === null || relevant(String(name))) this.#kickSoon(scanFiles);
        });
        w.on('error', (err) => this.#log.warn({ err, dir }, 'fs.watch failed; relying on the periodic rescan'));
        this.#fsWatchers.push(w);
      } catch (err) {
        this.#log.warn({ err, dir }, 'fs.watch unavailable; relying on the periodic rescan');
      }
    };
    if (!useFsWatch) return;
    watchDir(this.#dir, (name) => !name.startsWith('.'), true);
    watchDir(join(this.#dir, STATE_DIR), (name) => name === 'state.json', false);
  }

  /** Looks again once files left unsettled should have settled (the rescan would, later). */
  #noteUnsettled(n: number): void {
    this.#unsettled = n;
    if (n === 0 || this.#settleTimer || this.#closed) return;
    this.#settleTimer = setTimeout(() => {
      this.#settleTimer = undefined;
      this.#kick();
    }, this.#settleMs + 10);
  }

  #kickSoon(scanFiles: boolean): void {
    this.#scanPending ||= scanFiles;
    if (this.#debounce || this.#closed) return;
    this.#debounce = setTimeout(() => {
      this.#debounce = undefined;
      this.#kick(false);
    }, 20);
  }

  /** Re-reads the index if it changed and, if asked now or since the last run, walks the manifests. */
  #kick(scanFiles = true): void {
    if (this.#closed) return;
    this.#scanPending ||= scanFiles;
    if (this.#refreshing) {
      this.#again = true;
      return;
    }
    const scan = this.#scanPending;
    this.#scanPending = false;
    this.#refreshing = this.#refresh(scan)
      .catch((err: unknown) =>
        this.#log.warn({ err, dir: this.#dir }, 'datastore refresh failed; retrying on the next scan'),
      )
      .finally(() => {
        this.#refreshing = undefined;
        if (this.#again) {
          this.#again = false;
          this.#kick(false);
        }
      });
  }

  async #refresh(scanFiles: boolean): Promise<void> {
    const differs = await this.#serial(async () => {
      await this.#catchUpNow();
      return scanFiles && filesDiffer(this.#db, await scanManifestFiles(this.#dir));
    });
    if (differs && !this.#closed) await this.#transact(undefined);
  }

  #checkOpen(): void {
    if (this.#closed) throw new DatastoreUnavailableError(`file datastore ${this.#dir} is closed`);
  }

  // ---- manifest files ----

  async #freePath(kind: KindId, obj: Resource): Promise<string> {
    const { name, namespace } = obj.metadata;
    const base = [KINDS[kind].plural, ...(namespace ? [safeName(namespace)] : []), safeName(name)].join('/');
    for (let i = 0; ; i++) {
      const rel = i === 0 ? `${base}.yaml` : `${base}.${i}.yaml`;
      if ((await statKey(join(this.#dir, rel))) === undefined) return rel;
    }
  }

  async #writeManifest(db: FileDb, rel: string, text: string, recordStat: boolean): Promise<void> {
    const abs = join(this.#dir, rel);
    await mkdir(dirname(abs), { recursive: true });
    await writeFileAtomic(abs, text);
    const stat = await statKey(abs);
    // Not recording the stat makes the next sync re-read the file (fresh problem line numbers).
    if (recordStat && stat !== undefined) db.files[rel] = { stat, problems: [] };
  }

  /** Replaces (or with undefined removes) the object's document in its file, keeping the others. */
  async #rewriteDocument(db: FileDb, src: SourceRef, key: string, yamlText: string | undefined): Promise<void> {
    const abs = join(this.#dir, src.file);
    const text = await readFile(abs, 'utf8');
    const clean = (db.files[src.file]?.problems.length ?? 0) === 0;
    let next: string | undefined;
    if (isBareSingleDocument(text)) {
      next = yamlText;
    } else {
      const here = parseManifestText(text, src.file, this.#normalize).docs.find((d) => d.index === src.doc);
      if (!here || keyOf(here.info.id, here.object) !== key) {
        throw new DatastoreUnavailableError(
          `cannot rewrite ${key} in ${src.file}: its document moved or is broken; fix the file first`,
        );
      }
      next = replaceDocument(text, src.doc, yamlText);
    }
    if (next === undefined || hasNoObjects(next)) {
      await unlink(abs);
      delete db.files[src.file];
      return;
    }
    await this.#writeManifest(db, src.file, next, clean);
  }
}

function keyOf(kind: KindId, obj: Resource): string {
  return objectKey(kind, obj.metadata.name, obj.metadata.namespace);
}

function sourceOf(db: FileDb, key: string): SourceRef {
  const src = db.sources[key];
  if (!src) throw new InvariantError(`file datastore: ${key} has no source file`);
  return src;
}

/** A file-name-safe form of a Kubernetes name (they are DNS labels/subdomains; be safe anyway). */
function safeName(s: string): string {
  const t = s.replace(/[^A-Za-z0-9._-]/g, '_');
  return t.startsWith('.') ? `_${t}` : t;
}
