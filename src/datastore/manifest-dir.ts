import { constants, lstatSync, readdirSync, realpathSync, statSync, type BigIntStats, type Dirent } from 'node:fs';
import { open } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

/**
 * Finding and reading the manifest files of a datastore directory, treating every entry as hostile:
 * - only `*.yaml` / `*.yml` names count; names starting with `.` (files and directories) are skipped,
 *   so the store's own `.margay/` and editors' temp files never count;
 * - directories are walked only when they are real directories (a symlinked directory is not
 *   followed: no loops, nothing outside the tree);
 * - a symlink is followed only to a regular file inside the directory; a loop, a dangling link, a
 *   target outside, a FIFO, device, socket or directory is reported as a problem and never opened;
 * - a file over MAX_MANIFEST_BYTES is reported from its size, never read;
 * - the read itself opens the vetted target with O_NOFOLLOW|O_NONBLOCK, checks with fstat that it is
 *   still the same regular file and reads at most MAX_MANIFEST_BYTES + 1 bytes.
 */
export const MAX_MANIFEST_BYTES = 1024 * 1024;
const MAX_DEPTH = 32;
const SCAN_SLICE = 1000;

export interface ScannedFile {
  /** Path relative to the directory, '/'-separated. */
  readonly rel: string;
  /** Identity of what is there now (inode, size, times; of the link and of its target). */
  readonly key: string;
  /** Absolute path of the regular file to read (the link's target for a symlink). */
  readonly target?: string;
  /** Stat identity of `target` when vetted: the read checks it is still that file, unchanged. */
  readonly targetKey?: string;
  /** Why the entry is not read at all (it is reported as a problem of `rel`). */
  readonly problem?: string;
}

const statKey = (s: BigIntStats): string => `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;

function typeName(s: {
  isFIFO(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isSocket(): boolean;
  isDirectory(): boolean;
}): string {
  if (s.isFIFO()) return 'a FIFO';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isSocket()) return 'a socket';
  if (s.isDirectory()) return 'a directory';
  return 'not a regular file';
}

const tooBig = (size: bigint): string =>
  `file is ${size} bytes, over the limit of ${MAX_MANIFEST_BYTES} bytes (1 MiB): not read`;

/** Every manifest entry under `root` (async only to yield to the event loop every SCAN_SLICE entries). */
export async function scanManifestDir(root: string): Promise<Map<string, ScannedFile>> {
  const realRoot = realpathSync(root);
  const out = new Map<string, ScannedFile>();
  let budget = SCAN_SLICE;
  const walk = async (dir: string, depth: number): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      if (dir === root) throw err; // the directory itself unreadable: the caller reports it
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return; // removed or replaced while scanning
      out.set(rel(dir), {
        rel: rel(dir),
        key: `err:${code}`,
        problem: `cannot list directory: ${code ?? String(err)}`,
      });
      return;
    }
    for (const e of entries) {
      if (--budget <= 0) {
        budget = SCAN_SLICE;
        await new Promise((r) => setImmediate(r));
      }
      if (e.name.startsWith('.')) continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (depth < MAX_DEPTH) await walk(p, depth + 1);
        continue;
      }
      if (!/\.ya?ml$/.test(e.name)) continue;
      const f = examine(p, rel(p), realRoot);
      if (f) out.set(f.rel, f);
    }
  };
  const rel = (p: string) => relative(root, p).split(sep).join('/');
  await walk(root, 0);
  return out;
}

/** What one entry is, from lstat/stat only (never opened). undefined: gone meanwhile. */
export function examine(abs: string, rel: string, realRoot: string): ScannedFile | undefined {
  const l = lstatSync(abs, { bigint: true, throwIfNoEntry: false });
  if (!l) return undefined;
  if (l.isFile()) {
    const key = statKey(l);
    return l.size > BigInt(MAX_MANIFEST_BYTES)
      ? { rel, key, problem: tooBig(l.size) }
      : { rel, key, target: abs, targetKey: key };
  }
  if (!l.isSymbolicLink()) return { rel, key: statKey(l), problem: `is ${typeName(l)}: not read` };
  const linkKey = statKey(l);
  let real: string;
  try {
    real = realpathSync(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ELOOP'
        ? 'symlink loop (ELOOP)'
        : code === 'ENOENT'
          ? 'dangling symlink (target missing)'
          : `unresolvable symlink (${code ?? String(err)})`;
    return { rel, key: `${linkKey}>${code}`, problem: `${why}: not read` };
  }
  if (!real.startsWith(realRoot + sep)) {
    return {
      rel,
      key: `${linkKey}>${real}`,
      problem: `symlink to ${real}, outside the datastore directory: not followed`,
    };
  }
  const t = statSync(real, { bigint: true, throwIfNoEntry: false });
  if (!t) return { rel, key: `${linkKey}>gone`, problem: 'dangling symlink (target missing): not read' };
  const key = `${linkKey}>${real}:${statKey(t)}`;
  if (!t.isFile()) return { rel, key, problem: `symlink to ${typeName(t)}: not read` };
  if (t.size > BigInt(MAX_MANIFEST_BYTES)) return { rel, key, problem: tooBig(t.size) };
  return { rel, key, target: real, targetKey: statKey(t) };
}

export type ReadOutcome = { readonly text: string } | { readonly problem: string } | 'unsettled' | 'gone';

/**
 * Reads a vetted regular file safely (see the file comment). 'unsettled': modified less than
 * `settleMs` ago, or changed while read (people and tools write files in place; a half-written
 * multi-document file can parse cleanly with documents missing). `now` is ms since the epoch.
 */
export async function readManifest(
  target: string,
  targetKey: string,
  settleMs: number,
  now: number,
): Promise<ReadOutcome> {
  let fh;
  try {
    fh = await open(target, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'gone';
    if (code === 'ELOOP') return { problem: 'replaced by a symlink while being read: not read' };
    return { problem: `cannot read file: ${code ?? String(err)}` };
  }
  try {
    const before = await fh.stat({ bigint: true });
    if (!before.isFile()) return { problem: `is ${typeName(before)}: not read` };
    if (before.size > BigInt(MAX_MANIFEST_BYTES)) return { problem: tooBig(before.size) };
    if (statKey(before) !== targetKey) return 'unsettled'; // not the file vetted by the scan: look again
    const nowNs = BigInt(now) * 1_000_000n;
    // A time far in the future is a skewed stamp (`cp -p`, `touch -d`), not a write in progress.
    if (before.mtimeNs > nowNs - BigInt(settleMs) * 1_000_000n && before.mtimeNs <= nowNs + 1_000_000_000n)
      return 'unsettled';
    // One byte more than fstat says: a file that grows while read is caught, never read past the limit.
    const buf = Buffer.alloc(Number(before.size) + 1);
    let n = 0;
    while (n < buf.length) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    if (n > Number(before.size)) return 'unsettled';
    const after = await fh.stat({ bigint: true });
    if (statKey(before) !== statKey(after) || BigInt(n) !== after.size) return 'unsettled';
    return { text: buf.toString('utf8', 0, n) };
  } catch (err) {
    return { problem: `cannot read file: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
  } finally {
    await fh.close();
  }
}
