/** Types for scripts/lazy-requires.mjs (used by test/startup/lazy-requires.unit.test.ts). */
import type { Plugin } from 'esbuild';

/** Package-relative file → [the exact line, what replaces it]. */
export const LAZY: Readonly<Record<string, readonly (readonly [string, string])[]>>;
export function lazify(
  source: string,
  rewrites: readonly (readonly [string, string])[],
): { text: string; missing: string[] };
export function lazyRequires(): Plugin;
