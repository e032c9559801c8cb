import { rm } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { build } from 'esbuild';

/**
 * Bundles a test worker's TypeScript sources into one ESM file that `node` can run as a child
 * process (our code only; packages stay external and resolve from node_modules, hence the output
 * location). Returns the bundle's path and a function that removes it.
 */
export async function bundleWorker(entry: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const outdir = resolve('node_modules/.cache/margay-datastore-test');
  const path = join(outdir, `${basename(entry, '.ts')}-${process.pid}.mjs`);
  await build({
    entryPoints: [resolve(entry)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    packages: 'external',
    outfile: path,
    logLevel: 'error',
  });
  return { path, remove: () => rm(path, { force: true }) };
}
