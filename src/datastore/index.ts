import type { Logger } from 'pino';
import { ConfigError } from '../errors.js';
import { validateResource } from '../model/index.js';
import type { Datastore } from './types.js';
import { MemoryDatastore } from './memory.js';
import { FileDatastore } from './file.js';

export * from './types.js';
export { MemoryDatastore, type MemoryDatastoreOptions } from './memory.js';
export { FileDatastore, type FileDatastoreOptions } from './file.js';
export type { ManifestProblem } from './file-manifests.js';
export { applyManifests, parseManifests, type ApplyAction, type ApplyResult } from './apply.js';

export interface OpenDatastoreDeps {
  readonly log: Logger;
  /** Watch history length (memory and file backends). */
  readonly historyWindow?: number;
  /** Kubeconfig path for the kubernetes backend (default: in-cluster, then $KUBECONFIG as read by main). */
  readonly kubeconfig?: string;
}

/**
 * Opens the datastore named by MARGAY_DATASTORE / --datastore: `memory`, `file:<dir>` or
 * `kubernetes`. A spec that is none of these is a ConfigError naming it.
 */
export async function openDatastore(spec: string, deps: OpenDatastoreDeps): Promise<Datastore> {
  const s = spec.trim();
  if (s === 'memory') return new MemoryDatastore({ historyWindow: deps.historyWindow });
  if (s.startsWith('file:')) {
    const dir = s.slice('file:'.length);
    if (dir === '') throw new ConfigError('datastore', `${JSON.stringify(spec)}: file: needs a directory, e.g. file:/var/lib/margay`);
    return FileDatastore.open({
      dir,
      log: deps.log.child({ component: 'datastore', backend: 'file' }),
      ...(deps.historyWindow !== undefined ? { historyWindow: deps.historyWindow } : {}),
    });
  }
  if (s === 'kubernetes') return openKubernetes(deps);
  throw new ConfigError('datastore', `unknown datastore ${JSON.stringify(spec)}: expected memory, file:<dir> or kubernetes`);
}

async function openKubernetes(deps: OpenDatastoreDeps): Promise<Datastore> {
  // Loaded lazily: only the kubernetes backend pulls in @kubernetes/client-node.
  const { openKubernetesDatastore } = await import('./kubernetes.js');
  return openKubernetesDatastore({
    log: deps.log.child({ component: 'datastore', backend: 'kubernetes' }),
    validate: validateResource,
    ...(deps.kubeconfig !== undefined ? { kubeconfig: deps.kubeconfig } : {}),
  });
}
