import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { datastoreContract } from '../../src/datastore/contract.js';
import { openKubernetesDatastore } from '../../src/datastore/kubernetes.js';
import { silentLogger } from '../../src/log.js';
import { FakeApiServer } from '../fake-apiserver/server.js';

/**
 * The shared datastore contract against the Kubernetes backend talking HTTP to the fake API server.
 * The contract creates Pods in namespaces it never creates and expects to see only its own Namespaces,
 * so this server starts without system namespaces and without the namespace-exists check.
 */
datastoreContract(
  'kubernetes (fake API server)',
  async (o) => {
    const server = await FakeApiServer.start({
      namespaces: [],
      requireNamespace: false,
      ...(o.historyWindow !== undefined ? { historyLimit: o.historyWindow } : {}),
    });
    const dir = mkdtempSync(join(tmpdir(), 'mgy-kube-'));
    const store = await openKubernetesDatastore({
      kubeconfig: server.writeKubeconfig(join(dir, 'kubeconfig')),
      log: silentLogger(),
    });
    return {
      store,
      cleanup: async () => {
        await store.close();
        await server.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  { createAll: false },
);
