import type { KindId, Resource } from '../model/index.js';
import { MargayError } from '../errors.js';
import type { WatchEvent, WatchHandle, WatchOptions } from './types.js';
import { DatastoreUnavailableError, VersionExpiredError } from './types.js';
import { parseRevision } from './store-state.js';
import { compileFilter, eventFor, matchesFilter, type ObjectFilter, WatchHub } from './watch-hub.js';
import type { ChangeRow, SqliteDb } from './sqlite-db.js';
import { entryOf, type ObjectTable } from './sqlite-objects.js';

const PAGE = 1000;

/**
 * Feeds this process's watches from the SQLite change log. `pump()` publishes every change after the
 * last one published, read in one snapshot; the store calls it after each of its own commits and
 * whenever `PRAGMA data_version` shows another connection committed (polled on one short timer per
 * process, see file.ts). A watch starts from a consistent snapshot (objects or changes since a
 * version, and the revision) read in one read transaction; the hub then skips changes up to that
 * revision, so nothing is lost or delivered twice. A watcher that needs changes already compacted
 * away gets VersionExpiredError and relists.
 */
export class ChangeFeed {
  readonly hub = new WatchHub();
  #published = 0;
  /** Reads of the change log by pump() (tests). */
  reads = 0;

  constructor(
    private readonly sql: SqliteDb,
    private readonly objects: ObjectTable,
  ) {
    this.#published = sql.counter().revision;
  }

  /** Publishes changes committed since the last call (by anyone). Synchronous. */
  pump(): void {
    if (this.hub.size === 0) return; // nobody to tell; a new watch starts from its own snapshot
    this.reads++;
    this.sql.readTx(() => {
      const { revision, compacted } = this.sql.counter();
      if (revision <= this.#published) return;
      if (this.#published < compacted) {
        this.hub.failBehind(
          compacted,
          new VersionExpiredError(
            `this process fell behind the change log (at ${this.#published}, history starts after ${compacted}): relist`,
          ),
        );
        this.#published = compacted;
      }
      for (;;) {
        const rows = this.sql.st.changesAfter.all(this.#published, PAGE) as unknown as ChangeRow[];
        if (rows.length === 0) break;
        this.hub.publish(rows.map(entryOf));
        this.#published = rows[rows.length - 1]!.rev;
        if (rows.length < PAGE) break;
      }
    });
  }

  /** A watch that fails at once with `error` (delivered asynchronously, as every watch event). */
  failed(kind: KindId, onEvent: (ev: WatchEvent) => void, error: MargayError): WatchHandle {
    const { handle, watcher } = this.hub.create(kind, { matchLabels: () => false }, onEvent);
    this.hub.fail(watcher, error);
    return handle;
  }

  watch(kind: KindId, opts: WatchOptions, onEvent: (ev: WatchEvent) => void): WatchHandle {
    let filter: ObjectFilter;
    try {
      filter = compileFilter(opts);
    } catch (err) {
      if (!(err instanceof MargayError)) throw err;
      const { handle, watcher } = this.hub.create(kind, { matchLabels: () => false }, onEvent);
      this.hub.fail(watcher, err); // a bad selector is the watch's error event
      return handle;
    }
    const first = this.hub.size === 0;
    const { handle, watcher } = this.hub.create(kind, filter, onEvent);
    let init: { events: WatchEvent[]; fromRev: number } | { error: MargayError };
    try {
      init = this.sql.readTx(() => this.#initial(kind, filter, opts.resourceVersion));
    } catch (err) {
      init = {
        error: new DatastoreUnavailableError(`starting a watch of ${kind}: ${(err as Error).message}`, { cause: err }),
      };
    }
    if ('error' in init) {
      this.hub.fail(watcher, init.error);
    } else {
      // With no watcher nothing was published meanwhile: continue from this snapshot.
      if (first) this.#published = Math.max(this.#published, init.fromRev);
      this.hub.start(watcher, init.events, init.fromRev);
    }
    return handle;
  }

  #initial(
    kind: KindId,
    filter: ObjectFilter,
    resourceVersion: string | undefined,
  ): { events: WatchEvent[]; fromRev: number } | { error: MargayError } {
    const { revision, compacted } = this.sql.counter();
    const inSync: WatchEvent = { type: 'in-sync', resourceVersion: String(revision) };
    if (resourceVersion === undefined || resourceVersion === '0') {
      const events: WatchEvent[] = [];
      for (const body of this.objects.bodies(kind, filter.namespace)) {
        const object = JSON.parse(body) as Resource;
        if (matchesFilter(filter, object)) events.push({ type: 'added', object });
      }
      return { events: [...events, inSync], fromRev: revision };
    }
    const from = parseRevision(resourceVersion);
    if (from !== undefined && from > revision) {
      return {
        error: new VersionExpiredError(
          `resourceVersion ${JSON.stringify(resourceVersion)} is newer than the store's revision ${revision} ` +
            '(from another store, or a database that was recreated): relist',
        ),
      };
    }
    if (from === undefined || from < compacted) {
      return {
        error: new VersionExpiredError(
          `resourceVersion ${JSON.stringify(resourceVersion)} is too old or unknown (history starts after ${compacted}): relist`,
        ),
      };
    }
    const events: WatchEvent[] = [];
    for (let at = from; ; ) {
      const rows = this.sql.st.changesAfter.all(at, PAGE) as unknown as ChangeRow[];
      for (const r of rows) {
        const ev = eventFor(kind, filter, entryOf(r));
        if (ev) events.push(ev);
      }
      if (rows.length < PAGE) break;
      at = rows[rows.length - 1]!.rev;
    }
    return { events: [...events, inSync], fromRev: revision };
  }
}
