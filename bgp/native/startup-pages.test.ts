import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cleanFileMappings, isSockoptAvailable, releaseStartupPages } from './index.js';

const mapping = (range: string, perms: string, path: string, rss: number, anon: number): string =>
  [
    `${range} ${perms} 00000000 fd:00 1234 ${path}`.trimEnd(),
    'Size:               1024 kB',
    `Rss:                 ${rss} kB`,
    'Pss:                  10 kB',
    `Anonymous:           ${anon} kB`,
    'VmFlags: rd ex mr mw me',
  ].join('\n');

const SMAPS = [
  mapping('00400000-0074a000', 'r--p', '/usr/bin/node', 3000, 0), // ELF header, dynamic symbols: released
  mapping('0074a000-03200000', 'r-xp', '/usr/bin/node', 20000, 0), // text: released
  mapping('03200000-06b52000', 'r--p', '/usr/bin/node', 0, 0), // nothing resident: skipped
  mapping('06b52000-06b56000', 'r--p', '/usr/bin/node', 16, 16), // RELRO, relocated (private pages): kept
  mapping('06b56000-06b7d000', 'rw-p', '/usr/bin/node', 100, 40), // data: kept
  mapping('7f0000000000-7f0000100000', 'rw-p', '', 500, 500), // anonymous: kept
  mapping('7f0000200000-7f0000300000', 'r-xp', '/usr/lib/libc.so.6', 900, 0), // released
  mapping('7f0000300000-7f0000301000', 'r-xp', '/tmp/gone.so (deleted)', 4, 0), // kept
  mapping('7ffd00000000-7ffd00002000', 'r-xp', '[vdso]', 8, 0), // kept
].join('\n');

describe('start-up pages (margay-bgpd, bgp/native/startup-pages.ts)', () => {
  it('picks only clean, read-only file mappings with resident pages', () => {
    expect(cleanFileMappings(SMAPS).map((m) => [m.start.toString(16), m.length, m.path, m.rssKb])).toEqual([
      ['400000', 0x34a000, '/usr/bin/node', 3000],
      ['74a000', 0x2ab6000, '/usr/bin/node', 20000],
      ['7f0000200000', 0x100000, '/usr/lib/libc.so.6', 900],
    ]);
  });

  it('releases each of them once and says how much was resident', () => {
    const calls: [number, number][] = [];
    const r = releaseStartupPages(
      () => SMAPS,
      (start, length) => calls.push([start, length]),
    );
    expect(calls).toEqual([
      [0x400000, 0x34a000],
      [0x74a000, 0x2ab6000],
      [0x7f0000200000, 0x100000],
    ]);
    expect(r).toEqual({ mappings: 3, rssKb: 23900 });
  });

  it('drops the pages of this very process from its resident set, and it runs on', () => {
    expect(isSockoptAvailable()).toBe(true); // `npm run build` builds the addon
    const resident = (): number =>
      cleanFileMappings(readFileSync('/proc/self/smaps', 'utf8'))
        .filter((m) => m.path === process.execPath)
        .reduce((kb, m) => kb + m.rssKb, 0);
    const before = resident();
    const r = releaseStartupPages();
    const after = resident();
    expect(r.mappings).toBeGreaterThan(0);
    expect(after).toBeLessThan(before / 2);
    expect(JSON.parse(JSON.stringify({ still: 'running' }))).toEqual({ still: 'running' });
  });
});
