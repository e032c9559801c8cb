#!/usr/bin/env node
/**
 * margay-node, the per-node agent. Today it validates its configuration, opens the datastore, keeps an
 * in-sync cache of every kind the agent reads (ResourceCache: relists and back-off on failures) and
 * serves liveness/readiness. The calculation graph and the dataplane reconcilers attach to the cache's
 * consumer interface (agent issue); until they exist the agent programs nothing in the kernel.
 *
 * The only place that reads process.env and creates the root logger.
 */
import { loadAgentConfig, type AgentConfig } from '../src/config/agent.js';
import { openDatastore } from '../src/datastore/index.js';
import { ConfigError, MargayError } from '../src/errors.js';
import { createRootLogger } from '../src/log.js';
import type { KindId } from '../src/model/kinds.js';
import { HealthServer } from './health.js';
import { ResourceCache } from './sync/resource-cache.js';

/** Every kind the agent reads (ARCHITECTURE.md §3 "Resources"). */
export const AGENT_KINDS: readonly KindId[] = [
  'Node', 'Namespace', 'Pod', 'K8sNetworkPolicy', 'IPPool', 'IPAMBlock', 'BlockAffinity',
  'IPAMConfiguration', 'BGPConfiguration', 'BGPPeer', 'NetworkPolicy', 'GlobalNetworkPolicy',
];

function datastoreSpec(c: AgentConfig): string {
  return c.datastore.type === 'kubernetes' ? 'kubernetes' : `file:${c.datastore.dir}`;
}

async function main(): Promise<number> {
  let config: AgentConfig;
  try {
    config = loadAgentConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`margay-node: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const log = createRootLogger({ level: config.logLevel, name: 'margay-node' });
  log.info({ node: config.nodeName, datastore: datastoreSpec(config) }, 'starting');
  const health = new HealthServer(log.child({ component: 'health' }));
  health.setReady('datastore', false);
  if (config.healthPort !== 0) await health.listen(config.healthPort);

  const store = await openDatastore(datastoreSpec(config), {
    log,
    ...(config.kubeconfig !== undefined ? { kubeconfig: config.kubeconfig } : {}),
  });
  // The file datastore reports when its database cannot be read at all: not ready meanwhile.
  store.onStatus?.((s) => health.setReady('datastore-storage', s.readable));
  const cacheLog = log.child({ component: 'cache' });
  const cache = new ResourceCache(
    store,
    AGENT_KINDS,
    {
      upserted: (kind, obj) => cacheLog.isLevelEnabled('debug') && cacheLog.debug({ kind, name: obj.metadata.name }, 'upserted'),
      removed: (kind, key, _last) => cacheLog.isLevelEnabled('debug') && cacheLog.debug({ kind, key }, 'removed'),
      inSync: () => {
        health.setReady('datastore', true);
        cacheLog.info({ kinds: cache.status() }, 'datastore in sync');
      },
    },
    cacheLog,
  );
  cache.start();

  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'stopping');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  cache.stop();
  await store.close();
  await health.close();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    const msg = err instanceof MargayError ? `${err.code}: ${err.message}` : String((err as Error)?.stack ?? err);
    process.stderr.write(`margay-node: fatal: ${msg}\n`);
    process.exit(1);
  },
);
