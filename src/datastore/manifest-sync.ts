import { lstatSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import type { KindId, Resource } from '../model/index.js';
import { MargayError } from '../errors.js';
import { DatastoreUnavailableError } from './types.js';
import { objectKey, stripManaged, type JournalEntry } from './store-state.js';
import type { ManifestDoc, ManifestProblem, Normalize } from './file-manifests.js';
import { examine, readManifest, scanManifestDir, type ScannedFile } from './manifest-dir.js';
import type { FileRow, ObjectRow, SqliteDb } from './sqlite-db.js';
import type { ObjectTable } from './sqlite-objects.js';
import { threeWayMerge, type Json } from './three-way-merge.js';

/**
 * Applies the manifest files of the datastore directory into the database, the way `kubectl apply`
 * would (docs/datastore.md "Manifest files"):
 *   - a new or changed file: each valid document is created, or three-way merged into the stored
 *     object (file fields win, fields the file dropped are removed, fields written through the API
 *     are kept) — the object is then owned by the file;
 *   - objects the file owned and no longer defines are deleted, unless the file has problems (then
 *     they stay at their last good version until it is fixed);
 *   - a removed file: the objects it owns are deleted;
 *   - problems (bad YAML, invalid object, duplicate, hostile entry) are recorded per file with line
 *     and reason; one file's problems never stop the others.
 * Files are parsed outside the write transaction; inside it each file is re-checked (still the
 * version parsed, not yet applied by another process sharing the directory).
 */
export interface SyncResult {
  /** Files applied (or removed) by this call. */
  readonly applied: number;
  /** Files left for later: modified too recently or while read. */
  readonly unsettled: number;
  /** Problems of the files this call applied, by file ([] when a file became clean). */
  readonly problems: ReadonlyMap<string, readonly ManifestProblem[]>;
  readonly changes: readonly JournalEntry[];
  /** The directory as scanned, when it matched the database: pass it back as `lastCleanScan`. */
  readonly cleanScan?: string;
}

interface Parsed {
  readonly file: ScannedFile;
  readonly docs: readonly ManifestDoc[];
  readonly problems: readonly ManifestProblem[];
}

export interface SyncDeps {
  readonly dir: string;
  readonly sql: SqliteDb;
  readonly objects: ObjectTable;
  readonly normalize: Normalize;
  /** Makes `normalize` usable (loads the validators); called before the first file is parsed. */
  readonly prepare: () => Promise<void>;
  readonly settleMs: number;
  /** Runs a write transaction with SQLITE_BUSY retry. */
  readonly write: <T>(what: string, fn: () => T) => Promise<T>;
  /**
   * The scan the last call found equal to the database: the same directory again needs no query.
   * (Every query on the event loop is one that can meet SQLite locks that broke since the lock
   * guard's last probe, and the rescan runs every 500 ms.)
   */
  readonly lastCleanScan?: string;
  /** Why SQLite must not be called now (the lock guard), checked after the directory scan. */
  readonly blocked?: () => string | undefined;
}

/** Cheap check: does anything on disk differ from what the database last applied? */
export function filesChanged(known: ReadonlyMap<string, FileRow>, onDisk: ReadonlyMap<string, ScannedFile>): boolean {
  if (known.size !== onDisk.size) return true;
  for (const [rel, f] of onDisk) if (known.get(rel)?.stat !== f.key) return true;
  return false;
}

export function knownFiles(sql: SqliteDb): Map<string, FileRow> {
  const rows = sql.st.allFiles.all() as unknown as FileRow[];
  return new Map(rows.map((r) => [r.path, r]));
}

export async function syncManifests(deps: SyncDeps, now: () => number): Promise<SyncResult> {
  const onDisk = await scanManifestDir(deps.dir);
  const none: SyncResult = { applied: 0, unsettled: 0, problems: new Map(), changes: [] };
  const scan = [...onDisk.values()].map((f) => `${f.rel}\0${f.key}`).join('\n');
  if (scan === deps.lastCleanScan || deps.blocked?.()) return { ...none, cleanScan: deps.lastCleanScan };
  const known = knownFiles(deps.sql);
  if (!filesChanged(known, onDisk)) return { ...none, cleanScan: scan };
  const parsed: Parsed[] = [];
  let unsettled = 0;
  for (const f of [...onDisk.values()].sort((a, b) => (a.rel < b.rel ? -1 : 1))) {
    if (known.get(f.rel)?.stat === f.key) continue;
    if (f.problem !== undefined || !f.target || !f.targetKey) {
      parsed.push({
        file: f,
        docs: [],
        problems: [{ file: f.rel, line: 1, reason: f.problem ?? 'not a regular file' }],
      });
      continue;
    }
    const read = await readManifest(f.target, f.targetKey, deps.settleMs, now());
    if (read === 'gone') continue;
    if (read === 'unsettled') {
      unsettled++;
      continue;
    }
    if ('problem' in read) {
      parsed.push({ file: f, docs: [], problems: [{ file: f.rel, line: 1, reason: read.problem }] });
      continue;
    }
    await deps.prepare();
    const { parseManifestText } = await import('./file-manifests.js'); // yaml: loaded only when a file is read
    const p = parseManifestText(read.text, f.rel, deps.normalize);
    parsed.push({ file: f, docs: p.docs, problems: p.problems });
  }
  const removed = [...known.keys()].filter((rel) => !onDisk.has(rel));
  if (parsed.length === 0 && removed.length === 0) return { ...none, unsettled };
  let realRoot: string;
  try {
    realRoot = realpathSync(deps.dir);
  } catch (err) {
    throw new DatastoreUnavailableError(`cannot resolve ${deps.dir}`, { cause: err });
  }
  return deps.write('applying manifest files', () => {
    const changes: JournalEntry[] = [];
    const problems = new Map<string, ManifestProblem[]>();
    let applied = 0;
    for (const rel of removed) {
      if (lstatSync(join(deps.dir, rel), { throwIfNoEntry: false })) continue; // back meanwhile: next scan
      if (!deps.sql.st.getFile.get(rel)) continue; // another process removed it already
      for (const row of deps.sql.st.ownedBy.all(rel) as unknown as ObjectRow[])
        changes.push(deps.objects.remove(row.kind as KindId, row));
      deps.sql.st.deleteFile.run(rel);
      problems.set(rel, []);
      applied++;
    }
    for (const p of parsed) {
      const now = examine(join(deps.dir, p.file.rel), p.file.rel, realRoot);
      if (now?.key !== p.file.key) continue; // changed since read: the next scan applies the newer version
      const row = deps.sql.st.getFile.get(p.file.rel) as FileRow | undefined;
      if (row?.stat === p.file.key) continue; // applied by another process meanwhile
      const all = applyFile(deps, p, changes);
      deps.sql.st.putFile.run(p.file.rel, p.file.key, JSON.stringify(all));
      const before = row ? (JSON.parse(row.problems) as ManifestProblem[]) : [];
      if (all.length > 0 || before.length > 0) problems.set(p.file.rel, all);
      applied++;
    }
    return { applied, unsettled, problems, changes };
  });
}

/** Applies one parsed file (inside the write transaction); returns all its problems. */
function applyFile(deps: SyncDeps, p: Parsed, changes: JournalEntry[]): ManifestProblem[] {
  const rel = p.file.rel;
  const problems = [...p.problems];
  const seen = new Map<string, number>();
  for (const d of p.docs) {
    const { name, namespace } = d.object.metadata;
    const key = objectKey(d.info.id, name, namespace);
    const first = seen.get(key);
    if (first !== undefined) {
      problems.push({
        file: rel,
        line: d.line,
        reason: `duplicate: ${key} is defined twice in this file (first at line ${first}); this one is ignored`,
      });
      continue;
    }
    seen.set(key, d.line);
    const row = deps.objects.row(d.info.id, name, namespace);
    if (row?.source && row.source !== rel) {
      problems.push({
        file: rel,
        line: d.line,
        reason: `duplicate: ${key} is already defined in ${row.source}; ignored here`,
      });
      continue;
    }
    let object: Resource = d.object;
    if (row) {
      const last = row.source === rel && row.applied ? (JSON.parse(row.applied) as Json) : undefined;
      const live = stripManaged(JSON.parse(row.body) as Resource) as unknown as Json;
      const merged = threeWayMerge(last, d.object as unknown as Json, live);
      try {
        object = deps.normalize(merged).object;
      } catch (err) {
        if (!(err instanceof MargayError)) throw err;
        problems.push({
          file: rel,
          line: d.line,
          reason: `merged with the stored ${key}, it is invalid: ${err.message}`,
        });
        continue;
      }
    }
    const change = deps.objects.putChecked(d.info, object, row, { source: rel, applied: d.object });
    if (change) changes.push(change);
  }
  if (problems.length === 0) {
    for (const row of deps.sql.st.ownedBy.all(rel) as unknown as ObjectRow[]) {
      if (!seen.has(objectKey(row.kind as KindId, row.name, row.ns || undefined)))
        changes.push(deps.objects.remove(row.kind as KindId, row));
    }
  }
  return problems;
}
