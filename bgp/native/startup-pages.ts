/**
 * Start-up pages of mapped files, handed back once margay-bgpd is up (issue 8 §5, docs/bgp.md).
 *
 * Node maps its 120 MB executable and every shared library from the page cache. Starting a process
 * touches ≈ 30 MB of the `node` executable alone (snapshot deserialisation, the dynamic symbol tables,
 * the module loader, the sources and code cache of Node's own modules, OpenSSL and ICU set-up), and
 * loading the daemon another ≈ 10 MB; an idle event loop then runs from ≈ 9 MB of it. Those pages
 * stay in this process's resident set (RSS) for its whole life. `releaseStartupPages` drops them from
 * the page tables once, after start-up (madvise MADV_DONTNEED): they stay in the page cache, shared
 * with every other process, and what runs later maps again the pages it touches (a minor fault, no
 * I/O). Only clean, read-only file mappings are touched — no `w` permission, no anonymous (private,
 * written) pages, a real path — so nothing a process wrote is lost: the RELRO and data segments, the
 * heap and JIT code are left alone.
 */
import { readFileSync } from 'node:fs';
import { releaseFilePages } from './sockopt.js';

/** One mapping from /proc/PID/smaps that can be released. */
export interface FileMapping {
  readonly start: number;
  readonly length: number;
  readonly path: string;
  /** Resident kB before release. */
  readonly rssKb: number;
}

export interface ReleasedPages {
  readonly mappings: number;
  /** Resident kB of those mappings before release (what was dropped, before anything maps again). */
  readonly rssKb: number;
}

const HEADER = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \S+\s*(.*)$/;

/** The clean, read-only, file-backed mappings with resident pages in an smaps text. Pure. */
export function cleanFileMappings(smaps: string): FileMapping[] {
  const out: FileMapping[] = [];
  let cur: { start: number; end: number; perms: string; path: string; rss: number; anon: number } | undefined;
  const flush = (): void => {
    if (!cur) return;
    const usable =
      cur.path.startsWith('/') && !cur.path.endsWith(' (deleted)') && cur.perms[0] === 'r' && cur.perms[1] !== 'w';
    if (usable && cur.anon === 0 && cur.rss > 0)
      out.push({ start: cur.start, length: cur.end - cur.start, path: cur.path, rssKb: cur.rss });
    cur = undefined;
  };
  for (const line of smaps.split('\n')) {
    const m = HEADER.exec(line);
    if (m) {
      flush();
      cur = { start: parseInt(m[1]!, 16), end: parseInt(m[2]!, 16), perms: m[3]!, path: m[4]!, rss: 0, anon: -1 };
    } else if (cur && line.startsWith('Rss:')) cur.rss = Number(line.split(/\s+/)[1]);
    else if (cur && line.startsWith('Anonymous:')) cur.anon = Number(line.split(/\s+/)[1]);
  }
  flush();
  return out;
}

/**
 * Releases the resident pages of this process's clean file mappings (above). `readSmaps` and `release`
 * are the seams for tests. Throws what they throw (no /proc, no addon, madvise refused).
 */
export function releaseStartupPages(
  readSmaps: () => string = () => readFileSync('/proc/self/smaps', 'utf8'),
  release: (start: number, length: number) => void = releaseFilePages,
): ReleasedPages {
  const mappings = cleanFileMappings(readSmaps());
  let rssKb = 0;
  for (const m of mappings) {
    release(m.start, m.length);
    rssKb += m.rssKb;
  }
  return { mappings: mappings.length, rssKb };
}
