import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type SyncDeps, syncManifests } from './manifest-sync.js';
import type { SqliteDb } from './sqlite-db.js';

/** A database that only counts the one query a clean rescan makes (the files table). */
function countingDb(): { sql: SqliteDb; queries: () => number } {
  let n = 0;
  const sql = {
    st: {
      allFiles: {
        all: () => {
          n++;
          return [];
        },
      },
    },
  } as unknown as SqliteDb;
  return { sql, queries: () => n };
}

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

function deps(dir: string, sql: SqliteDb, extra: Partial<SyncDeps> = {}): SyncDeps {
  return {
    dir,
    sql,
    objects: {} as SyncDeps['objects'],
    normalize: () => {
      throw new Error('not reached');
    },
    prepare: async () => {},
    settleMs: 0,
    write: async () => {
      throw new Error('not reached');
    },
    ...extra,
  };
}

describe('syncManifests: rescans of an unchanged directory do not query SQLite', () => {
  it('queries once, then not again while the directory is the same scan; again once it changes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mgy-msync-'));
    dirs.push(dir);
    const db = countingDb();
    const first = await syncManifests(deps(dir, db.sql), Date.now);
    expect(db.queries()).toBe(1);
    expect(first.cleanScan).toBe('');
    const again = await syncManifests(deps(dir, db.sql, { lastCleanScan: first.cleanScan! }), Date.now);
    expect(db.queries()).toBe(1);
    expect(again.cleanScan).toBe('');
    await writeFile(join(dir, 'pool.yaml'), 'kind: IPPool\n');
    const changed = await syncManifests(deps(dir, db.sql, { lastCleanScan: '', settleMs: 60_000 }), Date.now);
    expect(db.queries()).toBe(2);
    expect(changed.cleanScan).toBeUndefined(); // not applied yet (unsettled): not clean
    expect(changed.unsettled).toBe(1);
  });

  it('does not query while the lock guard says SQLite must not be called', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mgy-msync-'));
    dirs.push(dir);
    const db = countingDb();
    const r = await syncManifests(deps(dir, db.sql, { blocked: () => 'locks not answering' }), Date.now);
    expect(db.queries()).toBe(0);
    expect(r.applied).toBe(0);
  });
});
