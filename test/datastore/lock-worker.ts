/**
 * A child process of the lock stress test (src/datastore/file-lock.test.ts). Takes the lock at
 * argv[2] argv[3] times; inside, it claims the marker file argv[4] exclusively (a second holder
 * would find it there: an overlap). Every `argv[5]`-th time it leaves the lock behind as a crashed
 * process would (rewritten to name a dead pid), so the other workers race to break it.
 * Prints {"overlaps": n, "planted": m}.
 */
import { hostname } from 'node:os';
import { open, rename, unlink, writeFile } from 'node:fs/promises';
import { withFileLock } from '../../src/datastore/file-lock.js';
import { silentLogger } from '../../src/log.js';

const [lock, iterations, marker, plantEvery, deadPid] = process.argv.slice(2);
const opts = { timeoutMs: 30_000, staleMs: 60_000, log: silentLogger() };
let overlaps = 0;
let planted = 0;
for (let i = 0; i < Number(iterations); i++) {
  await withFileLock(lock!, opts, async () => {
    let fh;
    try {
      fh = await open(marker!, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      overlaps++;
      return;
    }
    await fh.close();
    await new Promise((r) => setImmediate(r));
    await unlink(marker!);
    if (i % Number(plantEvery) === 0) {
      // Crash while holding: the lock stays, naming a process that no longer exists.
      const tmp = `${lock!}.plant-${process.pid}`;
      await writeFile(tmp, `${deadPid!} ${hostname()} ${Date.now()} crashed`);
      await rename(tmp, lock!);
      planted++;
    }
  });
}
process.stdout.write(`${JSON.stringify({ overlaps, planted })}\n`);
