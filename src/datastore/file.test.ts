import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { silentLogger } from '../log.js';
// Loaded up front: the store imports the model's validators lazily, on its first write, and under
// vitest's transform that first import can take seconds on a busy machine (a test timeout, not a bug).
import '../model/index.js';
import { datastoreContract } from './contract.js';
import { FileDatastore } from './file.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

datastoreContract(
  'file (sqlite)',
  async (opts) => {
    const dir = await mkdtemp(join(tmpdir(), 'mgy-ds-'));
    dirs.push(dir);
    const store = await FileDatastore.open({ dir, log: silentLogger(), ...opts });
    return { store, cleanup: () => store.close() };
  },
  { createAll: true },
);
