/**
 * What the agent writes to the datastore at start (never to the kernel): its node's BGP address
 * and AS (Node spec.bgp in file mode — creating the Node if none exists, as calico-node does with
 * etcd — or annotations in Kubernetes mode, where kubelet owns the Node), and the default IP pools
 * when a family has none (calico-node's CALICO_IPV4POOL_CIDR behaviour). Writes are
 * compare-and-swap, retried on conflict.
 */
import type { DefaultPools } from '../src/config/index.js';
import { AlreadyExistsError, ConflictError, type Datastore } from '../src/datastore/index.js';
import { MargayError } from '../src/errors.js';
import type { Logger } from '../src/log.js';
import { MARGAY_API_VERSION, type IPPool, type Node, type Resource } from '../src/model/index.js';
import { withOwnBgp, type OwnNodeBgp } from './bgp/index.js';

export class NodeNotRegisteredError extends MargayError {
  readonly code = 'MGY_NODE_NOT_REGISTERED';
}

const CAS_ATTEMPTS = 8;

export async function recordNodeBgp(
  store: Datastore,
  o: {
    readonly nodeName: string;
    readonly mode: 'file' | 'kubernetes';
    readonly own: OwnNodeBgp;
    readonly log: Logger;
  },
): Promise<void> {
  for (let i = 1; ; i++) {
    const cur = (await store.get('Node', o.nodeName)) as Node | undefined;
    try {
      if (!cur) {
        if (o.mode === 'kubernetes')
          throw new NodeNotRegisteredError(`Node ${o.nodeName} does not exist yet (kubelet registers it)`);
        const fresh = { apiVersion: 'v1', kind: 'Node', metadata: { name: o.nodeName }, spec: {} } as unknown as Node;
        await store.create(withOwnBgp(fresh, o.own, 'file') as unknown as Resource);
        o.log.info({ node: o.nodeName, ...o.own }, 'node created with its BGP address');
        return;
      }
      const next = withOwnBgp(cur, o.own, o.mode);
      if (!next) return;
      await store.update(next as unknown as Resource);
      o.log.info({ node: o.nodeName, ...o.own }, 'node BGP address recorded');
      return;
    } catch (err) {
      if ((err instanceof ConflictError || err instanceof AlreadyExistsError) && i < CAS_ATTEMPTS) continue;
      throw err;
    }
  }
}

/** Creates the default pool of each family that has no IPPool at all. Returns the names created. */
export async function ensureDefaultPools(store: Datastore, pools: DefaultPools, log: Logger): Promise<string[]> {
  const existing = (await store.list('IPPool')).items as unknown as IPPool[];
  const has = (family: 'ipv4' | 'ipv6'): boolean =>
    existing.some((p) => p.spec.cidr.includes(':') === (family === 'ipv6'));
  const created: string[] = [];
  for (const [family, pool] of [
    ['ipv4', pools.v4],
    ['ipv6', pools.v6],
  ] as const) {
    if (!pool || has(family)) continue;
    try {
      await store.create({
        apiVersion: MARGAY_API_VERSION,
        kind: 'IPPool',
        metadata: { name: pool.name },
        spec: { cidr: pool.cidr, blockSize: pool.blockSize, natOutgoing: pool.natOutgoing, nodeSelector: 'all()' },
      });
      created.push(pool.name);
      log.info(
        { pool: pool.name, cidr: pool.cidr, blockSize: pool.blockSize, natOutgoing: pool.natOutgoing },
        'default IP pool created',
      );
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
      log.info({ pool: pool.name }, 'default IP pool created by another agent meanwhile');
    }
  }
  return created;
}
