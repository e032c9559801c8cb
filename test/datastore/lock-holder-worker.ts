/**
 * A child process of the SIGSTOP test (test/datastore/sqlite-stress.int.test.ts): opens the store's
 * database at argv[2], begins a write transaction (BEGIN IMMEDIATE: it now holds SQLite's write lock),
 * reads the counter pod, prints "locked", then stays inside the transaction for argv[3] ms (the test
 * SIGSTOPs it there), increments the counter with the store's own compare-and-swap code and commits.
 * Prints the version it wrote.
 */
import { writeSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteDb } from '../../src/datastore/sqlite-db.js';
import { ObjectTable } from '../../src/datastore/sqlite-objects.js';
import { defaultStoreContext } from '../../src/datastore/memory.js';
import { normalizeResource } from '../../src/datastore/store-state.js';
import { counterOf, withCounter } from '../../src/datastore/contract-fixtures.js';

const [dir, holdMs] = process.argv.slice(2);
const sql = await SqliteDb.open(join(dir!, '.margay', 'store.db'), 120_000);
const ctx = defaultStoreContext(undefined);
const table = new ObjectTable(sql, ctx, 10_000);
const wait = new Int32Array(new SharedArrayBuffer(4));
const written = sql.writeTx(() => {
  const cur = table.get('Pod', 'counter', 'ns1')!;
  writeSync(1, `locked ${cur.metadata.resourceVersion}\n`);
  Atomics.wait(wait, 0, 0, Number(holdMs)); // still inside the transaction, holding the write lock
  return table.update(normalizeResource(withCounter(cur, counterOf(cur) + 1), ctx));
});
sql.close();
writeSync(1, `${JSON.stringify({ versions: [written.object.metadata.resourceVersion] })}\n`);
