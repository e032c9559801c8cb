import { mkdir, readdir, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { KINDS, type KindId, type Resource } from '../model/index.js';
import { DatastoreUnavailableError } from './types.js';
import { stripManaged } from './store-state.js';
import type { SqliteDb } from './sqlite-db.js';
import { readDb, type FileDb } from './legacy/legacy-file-db.js';

/**
 * One-time import of a directory written by the previous file backend (lock files + JSON index):
 * `.margay/state.json` holds every object with its resourceVersion, uid and creation time, where it
 * lives, and the stat of every manifest file. On the first open by this version:
 *   1. in one write transaction: every object is inserted with its version, uid and creation time
 *      kept; the revision counter continues from the old one (no watch history is imported, so a
 *      watch from an old version relists); hand-written manifest files are recorded as applied
 *      (same stat identity, so they are not re-applied) and own their objects; the plan is stored
 *      under meta `legacy-import`;
 *   2. the files the old backend wrote for API-created objects (`<plural>/[<ns>/]<name>[.N].yaml`,
 *      one object each) are moved to `.margay/imported-v1/` (kept, no longer desired state: API
 *      writes go to the database now), then `state.json` is moved there too.
 * Step 2 is redone on every open while `state.json` is still in place, so a kill between the steps
 * is harmless; the manifest scan only runs after it.
 */
export const LEGACY_BACKUP_DIR = 'imported-v1';

interface Plan {
  readonly moves: readonly string[];
}

export async function importLegacyIndex(
  dir: string,
  sql: SqliteDb,
  write: <T>(what: string, fn: () => T) => Promise<T>,
  log: Logger,
): Promise<void> {
  const statePath = join(dir, '.margay', 'state.json');
  const read = await readDb(statePath);
  if (!read) return;
  const db = read.db;
  const planned = await write('importing the previous file datastore index', () => {
    const existing = sql.meta('legacy-import');
    if (existing) return JSON.parse(existing) as Plan;
    if (sql.counter().revision > 0) {
      log.warn({ statePath }, 'an old state.json is present but the database already has data: not imported');
      return { moves: [] };
    }
    const plan = planImport(db);
    insertAll(sql, db, plan);
    sql.st.putMeta.run('legacy-import', JSON.stringify(plan));
    return plan;
  });
  const backup = join(dir, '.margay', LEGACY_BACKUP_DIR);
  for (const rel of [...planned.moves, '.margay/state.json']) {
    const to = rel === '.margay/state.json' ? join(backup, 'state.json') : join(backup, rel);
    try {
      await mkdir(dirname(to), { recursive: true });
      await rename(join(dir, rel), to);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // moved by an earlier, interrupted open
      throw new DatastoreUnavailableError(`importing the old file datastore: cannot move ${rel} to ${to}`, {
        cause: err,
      });
    }
  }
  for (const name of await readdir(join(dir, '.margay'))) {
    if (name === 'lock' || name === 'lock.break' || name.startsWith('.state.json.tmp-') || name.startsWith('lock.')) {
      await unlink(join(dir, '.margay', name)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
  }
  log.info(
    { objects: Object.keys(db.objects).length, moved: planned.moves.length, backup },
    'imported the previous file datastore index',
  );
}

/** Which source files are the old backend's one-object-per-file API layout (moved aside). */
function planImport(db: FileDb): Plan {
  const perFile = new Map<string, number>();
  for (const s of Object.values(db.sources)) perFile.set(s.file, (perFile.get(s.file) ?? 0) + 1);
  const moves: string[] = [];
  for (const [key, s] of Object.entries(db.sources)) {
    const o = db.objects[key];
    if (!o || perFile.get(s.file) !== 1) continue;
    if (isApiLayout(s.file, o.kind, o.object)) moves.push(s.file);
  }
  return { moves: moves.sort() };
}

function isApiLayout(rel: string, kind: KindId, obj: Resource): boolean {
  const { name, namespace } = obj.metadata;
  const base = [KINDS[kind].plural, ...(namespace ? [safeName(namespace)] : []), safeName(name)].join('/');
  return rel === `${base}.yaml` || new RegExp(`^${escapeRe(base)}\\.\\d+\\.yaml$`).test(rel);
}

/** The old backend's file-name-safe form of a name. */
function safeName(s: string): string {
  const t = s.replace(/[^A-Za-z0-9._-]/g, '_');
  return t.startsWith('.') ? `_${t}` : t;
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function insertAll(sql: SqliteDb, db: FileDb, plan: Plan): void {
  const moved = new Set(plan.moves);
  for (const [key, o] of Object.entries(db.objects)) {
    const src = db.sources[key];
    const owned = src && !moved.has(src.file) ? src.file : null;
    const rev = Number(o.object.metadata.resourceVersion ?? '0');
    sql.st.insertObject.run(
      o.kind,
      o.object.metadata.namespace ?? '',
      o.object.metadata.name,
      rev,
      JSON.stringify(o.object),
      owned,
      owned ? JSON.stringify(stripManaged(o.object)) : null,
    );
  }
  for (const [rel, f] of Object.entries(db.files)) {
    if (!moved.has(rel)) sql.st.putFile.run(rel, f.stat, JSON.stringify(f.problems));
  }
  sql.st.setCounter.run(db.revision, db.revision);
}
