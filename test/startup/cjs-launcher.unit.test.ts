import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  commandKey,
  daemonKey,
  enableCompileCacheSafely,
  fileUrl,
  fnv1a,
  fusedFile,
  isCacheFileName,
  launcherSource,
  STARTED,
  untrusted,
  untrustedDir,
} from '../../scripts/cjs-launcher.mjs';

describe('margayctl launcher (scripts/cjs-launcher.mjs)', () => {
  it('names a code cache after the command: its first plain words, help apart', () => {
    expect(commandKey(['apply', '-f', 'pool.yaml'])).toBe('apply');
    expect(commandKey(['get', 'ippools', '--datastore', 'file:/x'])).toBe('get-ippools');
    expect(commandKey(['get', 'ippool', 'p1'])).toBe('get-ippool');
    expect(commandKey(['ipam', 'show'])).toBe('ipam-show');
    expect(commandKey(['get', '--help'])).toBe('get-help');
    expect(commandKey(['--help'])).toBe('help');
    expect(commandKey(['help'])).toBe('help');
    expect(commandKey([])).toBe('none');
    // Nothing a user types becomes a path: no slashes, dots, upper case or long names.
    expect(commandKey(['../../etc', 'x'])).toBe('none');
    expect(commandKey(['get', 'IPPool'])).toBe('get');
    expect(commandKey(['a'.repeat(40)])).toBe('none');
  });

  it("gives a bundle file's URL exactly as pathToFileURL does", () => {
    for (const p of [
      '/repo/dist/bundle/entries/margayctl-src-cli-resources.cjs',
      '/opt/margay-1.2_3/dist/x.cjs',
      '/with space/x.cjs',
      '/per%cent/#hash?q/x.cjs',
      '/ünï/cödé.cjs',
      '/tab\there/x.cjs',
      '/a~b/[c]/x.cjs',
    ])
      expect(fileUrl(p), p).toBe(pathToFileURL(p).href);
    const src = launcherSource('margayctl', '#!/usr/bin/env node', 'margayctl.cjs', 'margayctl', '0');
    expect(src).toContain(fileUrl.toString());
  });

  it('hashes the bundle path (FNV-1a, 32 bits)', () => {
    expect(fnv1a('')).toBe('811c9dc5');
    expect(fnv1a('a')).toBe('e40c292c');
    expect(fnv1a('/repo/dist/bundle/entries/margayctl.cjs')).toMatch(/^[0-9a-f]{8}$/);
  });

  it('trusts a cache only when the user owns it and no one else may write it', () => {
    expect(untrusted({ uid: 1000, mode: 0o100600 }, 1000)).toBeUndefined();
    expect(untrusted({ uid: 1000, mode: 0o40700 }, 1000)).toBeUndefined();
    expect(untrusted({ uid: 0, mode: 0o100600 }, 1000)).toBe('owned by uid 0');
    expect(untrusted({ uid: 1000, mode: 0o100620 }, 1000)).toBe('mode 620');
    expect(untrusted({ uid: 1000, mode: 0o40777 }, 1000)).toBe('mode 777');
  });

  it('trusts a cache folder only when it and its parent are real directories no one else may change', () => {
    const uid = process.getuid!();
    const root = mkdtempSync(join(tmpdir(), 'mgy-cc-trust-'));
    try {
      const dir = join(root, 'margayctl-0-abc');
      mkdirSync(dir, { mode: 0o700 });
      chmodSync(root, 0o755);
      expect(untrustedDir(lstatSync, dir, uid)).toBeUndefined();
      // A symlink to a folder that would pass (the user's own, 0700) is refused: whoever owns the parent
      // could point it anywhere, and the launcher writes and prunes there.
      const victim = join(root, 'victim');
      mkdirSync(victim, { mode: 0o700 });
      const link = join(root, 'margayctl-0-link');
      symlinkSync(victim, link);
      expect(untrustedDir(lstatSync, link, uid)).toBe('not a directory (a symlink?)');
      chmodSync(dir, 0o770);
      expect(untrustedDir(lstatSync, dir, uid)).toBe('mode 770');
      chmodSync(dir, 0o700);
      chmodSync(root, 0o777);
      expect(untrustedDir(lstatSync, dir, uid)).toBe(`parent ${root} mode 777`);
      chmodSync(root, 0o755);
      expect(untrustedDir(lstatSync, dir, uid + 1)).toBe(`owned by uid ${uid}`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("turns Node's compile cache on only in a folder no one else controls (its default is shared /tmp)", () => {
    const uid = process.getuid!();
    const tmp = mkdtempSync(join(tmpdir(), 'mgy-cc-root-'));
    const calls: string[] = [];
    const nodeModule = {
      enableCompileCache: (dir: string) => {
        calls.push(dir);
        return { status: 1, directory: `${dir}/v-versioned` };
      },
      constants: { compileCacheStatus: { FAILED: 0, ENABLED: 1, ALREADY_ENABLED: 2, DISABLED: 3 } },
    } as unknown as typeof import('node:module');
    try {
      const root = join(tmp, 'node-compile-cache');
      // Missing: made here, 0700, and used.
      const env: Record<string, string | undefined> = { TMPDIR: `${tmp}/` };
      expect(enableCompileCacheSafely(fs, nodeModule, env, uid)).toBe(root);
      expect(statSync(root).mode & 0o777).toBe(0o700);
      expect(env.NODE_COMPILE_CACHE).toBe(root);
      // Writable by others (someone made it first, or opened it up): not used, the cache stays off.
      chmodSync(root, 0o777);
      const open: Record<string, string | undefined> = { TMPDIR: tmp };
      expect(enableCompileCacheSafely(fs, nodeModule, open, uid)).toBeUndefined();
      expect(open.NODE_COMPILE_CACHE).toBeUndefined();
      // A symlink, even to a folder of the user's own: not used.
      rmSync(root, { recursive: true });
      const mine = join(tmp, 'mine');
      mkdirSync(mine, { mode: 0o700 });
      symlinkSync(mine, root);
      expect(enableCompileCacheSafely(fs, nodeModule, { TMPDIR: tmp }, uid)).toBeUndefined();
      // Owned by someone else (not root): not used.
      expect(enableCompileCacheSafely(fs, nodeModule, { TMPDIR: tmp }, uid + 1)).toBeUndefined();
      // Off, and the operator's own folder as given.
      expect(
        enableCompileCacheSafely(fs, nodeModule, { TMPDIR: tmp, NODE_DISABLE_COMPILE_CACHE: '1' }, uid),
      ).toBeUndefined();
      expect(enableCompileCacheSafely(fs, nodeModule, { NODE_COMPILE_CACHE: '/var/cache/x' }, uid)).toBe(
        '/var/cache/x',
      );
      expect(calls).toEqual([root, '/var/cache/x']);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('removes only files it writes itself', () => {
    expect(isCacheFileName('v24.21.0-x64-ae5a66fe7f271c57-core-apply.v8')).toBe(true);
    expect(isCacheFileName('v24.21.0-x64-ae5a66fe7f271c57-src-cli-resources-get-ippools.v8')).toBe(true);
    expect(isCacheFileName('v24.21.0-x64-ae5a66fe7f271c57-core-run.v8.12345.tmp')).toBe(true);
    for (const other of ['passwd', 'x.v8', 'v24-x64-ab-core.v8', '.v8', 'v24.21.0-x64-zz-core-apply.v8', 'a/b.v8'])
      expect(isCacheFileName(other), other).toBe(false);
  });

  it('writes a launcher holding these functions and the bundle hash', () => {
    const src = launcherSource('margayctl', '#!/usr/bin/env node', 'margayctl.cjs', 'margayctl', '0123abcd');
    expect(src.split('\n')[0]).toBe('#!/usr/bin/env node');
    expect(src).toContain(commandKey.toString());
    expect(src).toContain(untrusted.toString());
    expect(src).toContain(untrustedDir.toString());
    expect(src).toContain(isCacheFileName.toString());
    expect(src).toContain(enableCompileCacheSafely.toString());
    expect(src).toContain('const HASH = "0123abcd";');
    expect(src).toContain('"../bundle/entries/margayctl.cjs"');
  });

  it('runs a fused core + group file for the commands that have one, unless they ask for help', () => {
    const fused = { apply: 'margayctl-src-cli-resources.cjs', ipam: 'margayctl-ipam-cli.cjs' };
    expect(fusedFile(['apply', '-f', 'x.yaml'], fused)).toBe('margayctl-src-cli-resources.cjs');
    expect(fusedFile(['ipam', 'show'], fused)).toBe('margayctl-ipam-cli.cjs');
    expect(fusedFile(['ipam'], fused)).toBe('margayctl-ipam-cli.cjs');
    for (const args of [[], ['apply', '--help'], ['apply', '-f', 'x', '-h'], ['bgp', 'peers'], ['--help'], ['version']])
      expect(fusedFile(args, fused), args.join(' ')).toBeUndefined();
    // Only its own keys: nothing a user types reaches Object.prototype.
    for (const word of ['constructor', 'toString', '__proto__', 'hasOwnProperty'])
      expect(fusedFile([word], fused), word).toBeUndefined();
    const src = launcherSource('margayctl', '#!/usr/bin/env node', 'margayctl.cjs', 'margayctl', '0', false, fused);
    expect(src).toContain(fusedFile.toString());
    expect(src).toContain(`fusedFile(process.argv.slice(2), ${JSON.stringify(fused)})`);
    expect(src).toContain('process.argv[1] = mainFile');
  });

  it("names a daemon's cache run or help", () => {
    expect(daemonKey([])).toBe('run');
    expect(daemonKey(['--node-name', 'a', '--datastore', 'file:/x'])).toBe('run');
    expect(daemonKey(['--help'])).toBe('help');
    expect(daemonKey(['-h'])).toBe('help');
  });

  it("writes a daemon's launcher: caches written by the started hook, argv[1] left to the launcher", () => {
    const src = launcherSource('margay-node', '#!/usr/bin/env node', 'margay-node.cjs', undefined, '0123abcd', true);
    expect(STARTED).toBe('margay.started'); // agent/main.ts: Symbol.for('margay.started')
    expect(src).toContain(`globalThis[Symbol.for(${JSON.stringify(STARTED)})] = writeCaches;`);
    expect(src).toContain(daemonKey.toString());
    expect(src).toContain('const key = daemonKey(process.argv.slice(2));');
    expect(src).toContain("if (code === 0 && key === 'help') writeCaches();");
    expect(src).not.toContain('process.argv[1] = ');
    expect(src).not.toContain('fusedFile');
    expect(src).toContain('const groupDir = undefined;');
    expect(src).toContain("NODE_DEBUG ?? '')");
    expect(src).toContain('margay-node code cache: ');
    const ctl = launcherSource('margayctl', '#!/usr/bin/env node', 'margayctl.cjs', 'margayctl', '0123abcd');
    expect(ctl).toContain('process.argv[1] = mainFile');
    expect(ctl).not.toContain('Symbol.for(');
  });
});
