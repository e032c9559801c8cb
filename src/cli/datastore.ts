import type { Logger } from 'pino';
import { FileDatastore, openDatastore, type Datastore } from '../datastore/index.js';
import { silentLogger } from '../log-silent.js';
import type { CliIo } from './command.js';

/**
 * The datastore a one-shot margayctl command works on (`apply`, `get`, `delete`, `ipam ...`): named by
 * --datastore, else MARGAY_DATASTORE, else the node's default file datastore. Opened for the command
 * and closed after it, with a logger that loads pino only when MARGAY_LOG_LEVEL asks for log lines.
 */
export const DEFAULT_DATASTORE = 'file:/var/lib/margay/datastore';

/** Runs fn with the datastore (and the command's logger); closes the store after it, whatever happens. */
export async function withStore<T>(
  values: { datastore?: string | undefined; kubeconfig?: string | undefined },
  io: CliIo,
  fn: (s: Datastore, log: Logger) => Promise<T>,
): Promise<T> {
  const spec = values.datastore ?? process.env.MARGAY_DATASTORE ?? DEFAULT_DATASTORE;
  const kubeconfig = values.kubeconfig ?? process.env.KUBECONFIG;
  // Warnings (e.g. a malformed manifest in a file datastore) go to stderr; everything else is quiet.
  const log = process.env.MARGAY_LOG_LEVEL
    ? (await import('../log.js')).createRootLogger({ level: 'warn', name: 'margayctl' })
    : silentLogger();
  // A file datastore is opened directly, without fs.watch on its directory: a one-shot command does
  // not follow manifest changes (and skips loading the watcher modules, docs/startup.md).
  const dir = spec.trim().startsWith('file:') ? spec.trim().slice('file:'.length) : '';
  const store =
    dir !== ''
      ? await FileDatastore.open({
          dir,
          log: log.child({ component: 'datastore', backend: 'file' }),
          useFsWatch: false,
        })
      : await openDatastore(spec, { log, ...(kubeconfig ? { kubeconfig } : {}) });
  try {
    if (store instanceof FileDatastore) {
      for (const p of store.problems()) io.err(`warning: ${p.file}:${p.line}: ${p.reason} (skipped)`);
    }
    return await fn(store, log);
  } finally {
    await store.close();
  }
}
