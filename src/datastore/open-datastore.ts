import type { Logger } from 'pino';
import { ConfigError } from '../errors.js';
import type { Datastore } from './types.js';

export interface OpenDatastoreDeps {
  readonly log: Logger;
  /** Watch history length (memory and file backends). */
  readonly historyWindow?: number;
  /** Kubeconfig path for the kubernetes backend (default: in-cluster, then $KUBECONFIG as read by main). */
  readonly kubeconfig?: string;
  /** File backend: when its lock-probe thread starts (FileDatastoreOptions, file.ts). */
  readonly lockGuardDelayMs?: number;
  readonly lockGuardStart?: Promise<unknown>;
}

/**
 * Opens the datastore named by MARGAY_DATASTORE / --datastore: `memory`, `file:<dir>` or
 * `kubernetes`. A spec that is none of these is a ConfigError naming it.
 *
 * Every backend is loaded on demand, and this module imports none of the model's validators (zod)
 * nor yaml: a reader such as `margayctl get` that imports only this file opens a file datastore in
 * ~55 MB (docs/datastore.md, benchmark). `src/datastore/index.ts` re-exports it.
 */
export async function openDatastore(spec: string, deps: OpenDatastoreDeps): Promise<Datastore> {
  const s = spec.trim();
  if (s === 'memory') {
    const { MemoryDatastore } = await import('./memory.js');
    return new MemoryDatastore({ historyWindow: deps.historyWindow });
  }
  if (s.startsWith('file:')) {
    const dir = s.slice('file:'.length);
    if (dir === '')
      throw new ConfigError('datastore', `${JSON.stringify(spec)}: file: needs a directory, e.g. file:/var/lib/margay`);
    const { FileDatastore } = await import('./file.js');
    return FileDatastore.open({
      dir,
      log: deps.log.child({ component: 'datastore', backend: 'file' }),
      ...(deps.historyWindow !== undefined ? { historyWindow: deps.historyWindow } : {}),
      ...(deps.lockGuardDelayMs !== undefined ? { lockGuardDelayMs: deps.lockGuardDelayMs } : {}),
      ...(deps.lockGuardStart !== undefined ? { lockGuardStart: deps.lockGuardStart } : {}),
    });
  }
  if (s === 'kubernetes') {
    // Loaded lazily: only the kubernetes backend pulls in @kubernetes/client-node.
    const [{ openKubernetesDatastore }, { validateResource }] = await Promise.all([
      import('./kubernetes.js'),
      import('../model/index.js'),
    ]);
    return openKubernetesDatastore({
      log: deps.log.child({ component: 'datastore', backend: 'kubernetes' }),
      validate: validateResource,
      ...(deps.kubeconfig !== undefined ? { kubeconfig: deps.kubeconfig } : {}),
    });
  }
  throw new ConfigError(
    'datastore',
    `unknown datastore ${JSON.stringify(spec)}: expected memory, file:<dir> or kubernetes`,
  );
}
