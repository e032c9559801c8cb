import { randomUUID } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { KindId } from '../../model/index.js';
import { DatastoreUnavailableError } from '../types.js';
import { emptySnapshot, objectKey, type StoreState, type StoreSnapshot } from '../store-state.js';
import { parseManifestText, type ManifestProblem, type Normalize } from '../file-manifests.js';

/**
 * The file datastore's index, `<dir>/.margay/state.json`: the StoreSnapshot (objects with their
 * store-assigned metadata, revision, bounded journal) plus where each object lives and what each
 * manifest file looked like when last read. YAML files are the desired state; this index is what
 * gives them versions. It is only written under the directory lock, always atomically.
 */
export interface SourceRef {
  /** Path relative to the datastore directory, '/'-separated. */
  readonly file: string;
  /** Document index within the file. */
  readonly doc: number;
}

export interface FileRecord {
  /** Identity of the version of the file last read: "ino:size:mtimeNs:ctimeNs". */
  readonly stat: string;
  readonly problems: readonly ManifestProblem[];
}

export interface FileDb extends StoreSnapshot {
  format: 1;
  /** Changes when the index is recreated: versions from another epoch mean nothing here. */
  epoch: string;
  sources: Record<string, SourceRef>;
  files: Record<string, FileRecord>;
}

export const STATE_DIR = '.margay';

export function newDb(): FileDb {
  return { format: 1, epoch: randomUUID(), ...emptySnapshot(), sources: {}, files: {} };
}

export async function statKey(path: string): Promise<string | undefined> {
  try {
    const s = await stat(path, { bigint: true });
    return `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Reads the index with the stat identity of exactly the version read, or undefined if absent. */
export async function readDb(path: string): Promise<{ db: FileDb; stat: string } | undefined> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const s = await fh.stat({ bigint: true });
    const text = await fh.readFile('utf8');
    let db: FileDb;
    try {
      db = JSON.parse(text) as FileDb;
    } catch (err) {
      throw new DatastoreUnavailableError(
        `datastore index ${path} is corrupt; delete it to rebuild from the manifests`,
        {
          cause: err,
        },
      );
    }
    if (db.format !== 1)
      throw new DatastoreUnavailableError(`datastore index ${path} has unknown format ${String(db.format)}`);
    return { db, stat: `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}` };
  } finally {
    await fh.close();
  }
}

/**
 * Every *.yaml / *.yml under `dir` (recursively, skipping dot-entries) with its stat identity.
 * Synchronous readdir/stat in slices of SCAN_SLICE entries, yielding to the event loop between
 * slices: the periodic rescan runs this every half second, and one async stat per file cost ~10×
 * the CPU (3000 files: ~300 ms async, ~20 ms sync; docs/datastore.md).
 */
export async function scanManifestFiles(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let budget = SCAN_SLICE;
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && d !== dir) return; // removed while scanning
      throw err;
    }
    for (const e of entries) {
      if (--budget <= 0) {
        budget = SCAN_SLICE;
        await new Promise((r) => setImmediate(r));
      }
      if (e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if ((e.isFile() || e.isSymbolicLink()) && /\.ya?ml$/.test(e.name)) {
        const k = statKeySync(p);
        if (k !== undefined) out.set(relative(dir, p).split(sep).join('/'), k);
      }
    }
  };
  await walk(dir);
  return out;
}

const SCAN_SLICE = 1000;

function statKeySync(path: string): string | undefined {
  const s = statSync(path, { bigint: true, throwIfNoEntry: false });
  return s && `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}

/** True when the files on disk differ from what the index last read. */
export function filesDiffer(db: FileDb, onDisk: ReadonlyMap<string, string>): boolean {
  if (Object.keys(db.files).length !== onDisk.size) return true;
  for (const [rel, k] of onDisk) if (db.files[rel]?.stat !== k) return true;
  return false;
}

/**
 * Brings the index up to date with the manifest files (caller holds the lock). A changed file is
 * re-read: its objects are created/modified, and objects it no longer defines are deleted — unless
 * the file has problems, in which case they are kept (last good version) until it is fixed. A
 * removed file's objects are deleted. An object defined in two files belongs to the first; the
 * second gets a problem.
 *
 * A file modified less than `settleMs` ago, or that changed while it was read, is left for a later
 * sync (`unsettled`): people and tools write files in place (`cat > f`, `cp`), and a file caught
 * half-written can parse cleanly with documents missing, which would delete their objects for a
 * moment (tearing down and rebuilding their dataplane). `changed`: the index changed.
 */
export async function syncFiles(
  db: FileDb,
  state: StoreState,
  dir: string,
  normalize: Normalize,
  settleMs: number,
): Promise<{ changed: boolean; unsettled: number }> {
  const onDisk = await scanManifestFiles(dir);
  if (!filesDiffer(db, onDisk)) return { changed: false, unsettled: 0 };
  const parsed = new Map<string, ReturnType<typeof parseManifestText> & { stat: string }>();
  const now = BigInt(Date.now()) * 1_000_000n;
  const recent = { from: now - BigInt(settleMs) * 1_000_000n, to: now + FUTURE_TOLERANCE_NS };
  let unsettled = 0;
  for (const [rel, k] of [...onDisk].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (db.files[rel]?.stat === k) continue;
    let read;
    try {
      read = await readSettled(join(dir, rel), recent);
    } catch (err) {
      // Unreadable (EACCES, EISDIR, EIO…): a problem of this file only; its objects are kept.
      const code = (err as NodeJS.ErrnoException).code;
      parsed.set(rel, {
        docs: [],
        problems: [{ file: rel, line: 1, reason: `cannot read file: ${code ?? String(err)}` }],
        stat: k,
      });
      continue;
    }
    if (read === 'gone') continue; // removed since the scan
    if (read === 'unsettled') {
      unsettled++; // its record keeps the old stat, so the next sync looks again; its objects stay
      continue;
    }
    parsed.set(rel, { ...parseManifestText(read.text, rel, normalize), stat: read.stat });
  }
  const gone = (rel: string) => !onDisk.has(rel) && !parsed.has(rel);
  // Deletions first, so an object that moved between files is not reported as a duplicate.
  for (const [key, src] of Object.entries(db.sources)) {
    const p = parsed.get(src.file);
    const dropped = p !== undefined && p.problems.length === 0 && !p.docs.some((d) => docKey(d) === key);
    if (!gone(src.file) && !dropped) continue;
    const obj = db.objects[key];
    delete db.sources[key];
    if (obj) state.delete(obj.kind, obj.object.metadata.name, obj.object.metadata.namespace);
  }
  for (const [rel, p] of parsed) {
    const problems = [...p.problems];
    for (const d of p.docs) {
      const key = docKey(d);
      const owner = db.sources[key];
      if (owner && owner.file !== rel) {
        problems.push({
          file: rel,
          line: d.line,
          reason: `duplicate: ${key} is already defined in ${owner.file}; ignored here`,
        });
        continue;
      }
      state.upsertUnchecked(d.info, d.object);
      db.sources[key] = { file: rel, doc: d.index };
    }
    db.files[rel] = { stat: p.stat, problems };
  }
  let changed = parsed.size > 0;
  for (const rel of Object.keys(db.files)) {
    if (onDisk.has(rel)) continue;
    delete db.files[rel];
    changed = true;
  }
  return { changed, unsettled };
}

/**
 * A modification time further ahead than this is not a write in progress (that would carry the
 * current time) but a file stamped in the future (`cp -p` from a skewed clock, `touch -d`): it is
 * read at once, or it would never be.
 */
const FUTURE_TOLERANCE_NS = 1_000_000_000n;

/**
 * Reads a manifest through one descriptor: its stat before and after the read must agree and its
 * modification time must not fall in `recent` (ns since the epoch), else 'unsettled'.
 */
async function readSettled(
  abs: string,
  recent: { readonly from: bigint; readonly to: bigint },
): Promise<{ text: string; stat: string } | 'unsettled' | 'gone'> {
  let fh;
  try {
    fh = await open(abs, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw err;
  }
  try {
    const before = await fh.stat({ bigint: true });
    if (before.mtimeNs > recent.from && before.mtimeNs <= recent.to) return 'unsettled';
    const text = await fh.readFile('utf8');
    const after = await fh.stat({ bigint: true });
    const stat = `${before.ino}:${before.size}:${before.mtimeNs}:${before.ctimeNs}`;
    return stat === `${after.ino}:${after.size}:${after.mtimeNs}:${after.ctimeNs}` ? { text, stat } : 'unsettled';
  } finally {
    await fh.close();
  }
}

function docKey(d: { info: { id: KindId }; object: { metadata: { name: string; namespace?: string } } }): string {
  return objectKey(d.info.id, d.object.metadata.name, d.object.metadata.namespace);
}
