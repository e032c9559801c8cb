/**
 * A child process of the concurrent-apply test: opens argv[4] independent connections to the file
 * datastore at argv[2] (one FileDatastore each, as that many `margayctl apply` processes would), prints
 * "ready", waits for "go" on stdin, then applies manifest files argv[3]/apply-<argv[5]+i>.yaml, one
 * per connection, all at once — what `margayctl apply -f FILE` does after parsing its arguments
 * (parseManifests, applyManifests, close). Prints one line per apply; exits 1 if any failed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyManifests, openDatastore, parseManifests } from '../../src/datastore/index.js';
import { createRootLogger } from '../../src/log.js';

const [dir, mdir, count, first] = process.argv.slice(2);
const log = createRootLogger({ level: 'warn', name: 'apply-worker' });
const stores = await Promise.all(Array.from({ length: Number(count) }, () => openDatastore(`file:${dir}`, { log })));
process.stdout.write('ready\n');
await new Promise<void>((r) => process.stdin.once('data', () => r()));
const results = await Promise.allSettled(
  stores.map(async (store, i) => {
    const file = join(mdir!, `apply-${Number(first) + i}.yaml`);
    const { objects, problems } = parseManifests(readFileSync(file, 'utf8'), file);
    if (problems.length) throw new Error(JSON.stringify(problems));
    const r = await applyManifests(store, objects);
    await store.close();
    return r.map((x) => `${x.name} ${x.action}`).join(',');
  }),
);
let failed = 0;
for (const r of results) {
  if (r.status === 'fulfilled') process.stdout.write(`${r.value}\n`);
  else {
    failed++;
    process.stderr.write(`apply failed: ${String((r.reason as Error).stack ?? r.reason)}\n`);
  }
}
process.exit(failed ? 1 : 0);
