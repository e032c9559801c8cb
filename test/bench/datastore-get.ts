/**
 * A light `get pods -A` for the datastore benchmark's RSS figure: imports only
 * src/datastore/open-datastore.ts (no validators, no yaml), lists every Pod of the file datastore at
 * argv[2] and prints a table line per Pod, like `margayctl get pods -A`. Shows the store's own
 * footprint apart from the CLI's imports.
 */
import { openDatastore } from '../../src/datastore/open-datastore.js';
import { silentLogger } from '../../src/log.js';

const store = await openDatastore(`file:${process.argv[2]!}`, { log: silentLogger() });
const { items } = await store.list('Pod');
const lines: string[] = [];
for (const p of items) lines.push(`${p.metadata.namespace}\t${p.metadata.name}\t${p.metadata.resourceVersion}`);
process.stdout.write(`${lines.join('\n')}\n`);
await store.close();
