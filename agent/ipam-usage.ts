/**
 * This node's IPAM usage for the metrics (Calico kube-controllers' ipam_allocations_* per pool, here
 * for the agent's own node): addresses in use by its workloads, how many are borrowed from blocks
 * affine to another node, and GC candidates (allocations naming a pod that no longer exists). Pure.
 */
import type { IPAMBlock, IPPool } from '../src/model/index.js';
import { blockAffinityHost, cidrContains, parseCidr } from '../src/model/index.js';
import type { IpamUsage } from './metrics.js';

export function ipamUsage(
  nodeName: string,
  blocks: Iterable<IPAMBlock>,
  pools: Iterable<IPPool>,
  podExists: (ns: string, name: string) => boolean,
): IpamUsage[] {
  const poolList = [...pools].map((p) => ({ name: p.metadata.name, cidr: parseCidr(p.spec.cidr)! }));
  const usage = new Map<string, { inUse: number; borrowed: number; gcCandidates: number }>();
  for (const b of blocks) {
    const c = parseCidr(b.spec.cidr);
    if (!c) continue;
    const pool = poolList.find((p) => cidrContains(p.cidr, c))?.name ?? '(none)';
    const host = blockAffinityHost(b);
    for (const a of b.spec.allocations) {
      if (a === null) continue;
      const attr = b.spec.attributes[a]?.secondary ?? {};
      const node = attr.node ?? host;
      if (node !== nodeName) continue;
      const u = usage.get(pool) ?? { inUse: 0, borrowed: 0, gcCandidates: 0 };
      u.inUse++;
      if (host !== nodeName) u.borrowed++;
      if (attr.namespace !== undefined && attr.pod !== undefined && !podExists(attr.namespace, attr.pod))
        u.gcCandidates++;
      usage.set(pool, u);
    }
  }
  return [...usage]
    .map(([pool, u]) => ({ pool, ...u }))
    .sort((x, y) => (x.pool < y.pool ? -1 : x.pool > y.pool ? 1 : 0)); // not localeCompare: ICU's start-up
}
