/**
 * A child process of the cross-process compare-and-swap test (src/datastore/file.test.ts):
 * opens the file datastore at argv[2] and increments the counter pod argv[3] (namespace ns1)
 * argv[4] times with read-modify-write and retry on conflict, then prints the versions it wrote.
 */
import { FileDatastore } from '../../src/datastore/file.js';
import { incrementCounter } from '../../src/datastore/contract-fixtures.js';
import { createRootLogger } from '../../src/log.js';

const [dir, name, count] = process.argv.slice(2);
const log = createRootLogger({ level: 'warn', name: 'cas-worker' });
const store = await FileDatastore.open({ dir: dir!, log });
const versions: string[] = [];
for (let i = 0; i < Number(count); i++) {
  versions.push((await incrementCounter(store, name!, 'ns1')).metadata.resourceVersion!);
}
await store.close();
process.stdout.write(`${JSON.stringify({ versions })}\n`);
