import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { silentLogger } from '../log.js';
import { FileDatastore, MemoryDatastore, openDatastore } from './index.js';

describe('openDatastore', () => {
  it('opens memory and file:<dir>', async () => {
    const mem = await openDatastore('memory', { log: silentLogger() });
    expect(mem).toBeInstanceOf(MemoryDatastore);
    await mem.close();
    const dir = await mkdtemp(join(tmpdir(), 'mgy-ds-open-'));
    try {
      const file = await openDatastore(`file:${dir}`, { log: silentLogger() });
      expect(file).toBeInstanceOf(FileDatastore);
      expect((file as FileDatastore).directory).toBe(dir);
      await file.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each(['', 'etcd', 'file:', 'File:/x', 'kubernetes:foo'])(
    'rejects %j with a ConfigError naming it',
    async (spec) => {
      const err = await openDatastore(spec, { log: silentLogger() }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).message).toContain(JSON.stringify(spec));
    },
  );
});

describe('openDatastore kubernetes', () => {
  it('reports an unreadable kubeconfig as a ConfigError', async () => {
    const err = await openDatastore('kubernetes', { log: silentLogger(), kubeconfig: '/nonexistent/kubeconfig' }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
  }, 30_000); // loading @kubernetes/client-node takes seconds on a busy machine
});
