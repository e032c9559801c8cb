/** Types for scripts/cjs-launcher.mjs (used by test/startup/cjs-launcher.unit.test.ts). */

/** The code cache's name for a command line (argv without node and script). */
export function commandKey(args: readonly string[]): string;
/** 32-bit FNV-1a of a string, 8 hex digits. */
export function fnv1a(text: string): string;
/** Why a file or folder may not be trusted with code (undefined: it may). */
export function untrusted(st: { readonly uid: number; readonly mode: number }, uid: number): string | undefined;
/** A daemon's code cache name: `help` or `run`. */
export function daemonKey(args: readonly string[]): string;
/** `Symbol.for(STARTED)`: the global callback a daemon's launcher installs, called by the daemon once it is up. */
export const STARTED: 'margay.started';
/** The launcher's source text (`groupDir` undefined: no lazily loaded groups; `daemon`: caches written when started). */
export function launcherSource(
  name: string,
  firstLine: string,
  core: string,
  groupDir: string | undefined,
  hash: string,
  daemon?: boolean,
  fused?: Readonly<Record<string, string>>,
): string;
/** The fused core + group file a margayctl command line runs (undefined: the core). */
export function fusedFile(args: readonly string[], fused: Readonly<Record<string, string>>): string | undefined;
/** Why a cache folder may not be trusted (undefined: it may); `lstat` is fs.lstatSync. */
export function untrustedDir(
  lstat: (path: string) => { readonly uid: number; readonly mode: number; isDirectory(): boolean },
  dir: string,
  uid: number,
): string | undefined;
/** Whether a file name is one the launcher writes (the only files it removes). */
export function isCacheFileName(name: string): boolean;
/** Turns on Node's compile cache in a folder no one else controls; the folder, or undefined (off). */
export function enableCompileCacheSafely(
  fs: typeof import('node:fs'),
  nodeModule: typeof import('node:module'),
  env: Record<string, string | undefined>,
  uid: number,
): string | undefined;
/** The function a bundle file runs in (margayctl's group and fused files are written inside it). */
export const WRAPPER: string;
/** A bundle file's URL from its absolute path (pathToFileURL's, without URL parsing when nothing needs escaping). */
export function fileUrl(file: string): string;
