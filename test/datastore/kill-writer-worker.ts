/**
 * A child process of the kill -9 test (test/datastore/sqlite-stress.int.test.ts): writes until it is
 * killed. Each iteration creates pod `argv[3]-<i>` and increments the counter pod; after each commit
 * it prints what is now committed ("created NAME RV" / "inc RV"), so the test knows what must survive.
 */
import { writeSync } from 'node:fs';
import { FileDatastore } from '../../src/datastore/file.js';
import { incrementCounter, podFixture } from '../../src/datastore/contract-fixtures.js';
import type { Resource } from '../../src/model/kinds.js';
import { createRootLogger } from '../../src/log.js';

const [dir, prefix] = process.argv.slice(2);
// Objects are not schema-validated here (validate: identity): validation is not what crash safety is
// about, and skipping the model's zod schemas saves each of the test's 100 processes ~0.3 s of CPU.
const store = await FileDatastore.open({
  dir: dir!,
  log: createRootLogger({ level: 'warn', name: 'kill-writer' }),
  validate: (raw) => raw as Resource,
});
writeSync(1, 'open\n');
for (let i = 0; ; i++) {
  const made = await store.create(podFixture('ns1', `${prefix}-${i}`));
  writeSync(1, `created ${made.metadata.name} ${made.metadata.resourceVersion}\n`);
  const inc = await incrementCounter(store, 'counter', 'ns1');
  writeSync(1, `inc ${inc.metadata.resourceVersion}\n`);
}
