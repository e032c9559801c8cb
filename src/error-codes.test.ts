import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from './error-codes.js';

const ROOT = new URL('..', import.meta.url).pathname;
const SHIPPED = ['src', 'agent', 'bgp', 'ipam', 'policy', 'cni'];

function* sources(dir: string): Generator<string> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const n of names) {
    const p = join(dir, n);
    if (n === 'node_modules' || n === 'build' || n === 'dist') continue;
    if (statSync(p).isDirectory()) yield* sources(p);
    else if (
      p.endsWith('.ts') &&
      !p.endsWith('.test.ts') &&
      !p.endsWith('.d.ts') &&
      !/\/testing\/|test-helpers\.ts$/.test(p)
    )
      yield p;
  }
}

function scan(): { declared: Map<string, string[]>; used: Map<string, string[]> } {
  const declared = new Map<string, string[]>();
  const used = new Map<string, string[]>();
  const add = (m: Map<string, string[]>, k: string, where: string): void => void m.set(k, [...(m.get(k) ?? []), where]);
  for (const dir of SHIPPED) {
    for (const file of sources(join(ROOT, dir))) {
      if (file.endsWith('error-codes.ts')) continue;
      const text = readFileSync(file, 'utf8');
      const where = relative(ROOT, file);
      for (const m of text.matchAll(/readonly code = '(MGY_[A-Z0-9_]+)'/g)) add(declared, m[1]!, where);
      for (const m of text.matchAll(/'(MGY_[A-Z0-9_]+)'/g)) add(used, m[1]!, where);
    }
  }
  return { declared, used };
}

describe('MGY_* error catalogue', () => {
  const { declared, used } = scan();

  it('documents every code used in shipped code', () => {
    const missing = [...used.keys()].filter((c) => !(c in ERROR_CODES)).map((c) => `${c} (${used.get(c)!.join(', ')})`);
    expect(missing).toEqual([]);
  });

  it('each error class has its own code (no two classes share one)', () => {
    const shared = [...declared]
      .filter(([, files]) => files.length > 1)
      .map(([c, files]) => `${c}: ${files.join(', ')}`);
    expect(shared).toEqual([]);
  });

  it('lists no stale code and gives each a one-line meaning', () => {
    const stale = Object.keys(ERROR_CODES).filter((c) => !used.has(c));
    expect(stale).toEqual([]);
    for (const [code, meaning] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^MGY_[A-Z0-9_]+$/);
      expect(meaning.length, code).toBeGreaterThan(10);
      expect(meaning, code).not.toContain('\n');
    }
  });

  it('finds the declarations it checks (the scan itself works)', () => {
    expect(declared.get('MGY_CONFIG')).toEqual(['src/errors.ts']);
    expect(declared.get('MGY_PREFIX_SYNTAX')).toEqual(['src/net/errors.ts']);
  });
});
