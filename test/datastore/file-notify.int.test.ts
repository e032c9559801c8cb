import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recordWatch, summarize } from '../../src/datastore/contract.js';
import { FileDatastore } from '../../src/datastore/file.js';
import { silentLogger } from '../../src/log.js';

/**
 * The file datastore's promise to agents sharing a directory (ARCHITECTURE.md §3): a change reaches
 * them within a second. Timed, so it lives here and not among the unit tests.
 */
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const pod = (name: string, app: string): string =>
  `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}, namespace: team-a, labels: {app: ${app}}}\nspec: {nodeName: node-1}\n`;

describe('file datastore change notification latency', () => {
  for (const useFsWatch of [true, false]) {
    it(`a hand edit, a new nested file and a removal each reach a watcher within a second (${useFsWatch ? 'fs.watch' : 'rescan only'})`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'mgy-notify-'));
      dirs.push(dir);
      await writeFile(join(dir, 'web.yaml'), pod('web', 'web'));
      const store = await FileDatastore.open({ dir, log: silentLogger(), useFsWatch });
      try {
        const w = recordWatch(store, 'Pod', {});
        await w.until('in-sync', (evs) => evs.some((e) => e.type === 'in-sync'));
        const timed = async (what: string, change: () => Promise<void>, seen: string): Promise<number> => {
          const t0 = Date.now();
          await change();
          await w.until(what, (evs) => summarize(evs).includes(seen));
          return Date.now() - t0;
        };
        const edit = await timed(
          'the edit',
          () => writeFile(join(dir, 'web.yaml'), pod('web', 'changed')),
          'modified:team-a/web',
        );
        await mkdir(join(dir, 'more', 'nested'), { recursive: true });
        const nested = await timed(
          'the nested file',
          () => writeFile(join(dir, 'more', 'nested', 'db.yml'), pod('db', 'db')),
          'added:team-a/db',
        );
        const removal = await timed('the removal', () => rm(join(dir, 'web.yaml')), 'deleted:team-a/web');
        expect(
          { edit: edit < 1_000, nested: nested < 1_000, removal: removal < 1_000 },
          `latencies ${edit}/${nested}/${removal} ms`,
        ).toEqual({ edit: true, nested: true, removal: true });
        w.handle.stop();
      } finally {
        await store.close();
      }
    });
  }
});
