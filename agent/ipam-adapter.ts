/**
 * The CNI server's IPAM port (agent/cni CniIpam) over the IPAM service (ipam/ Ipam): pool choice
 * from the netconf's `ipam` section (assign_ipv4, assign_ipv6, ipv4_pools, ipv6_pools, as Calico's
 * CNI plugin reads them), addresses returned as /32 and /128, handles of this node from the blocks.
 */
import type { CniIpam, IpamAssignRequest } from './cni/index.js';
import type { Ipam } from '../ipam/index.js';
import { MargayError } from '../src/errors.js';
import type { IPAMBlock } from '../src/model/index.js';

export class IpamConfigError extends MargayError {
  readonly code = 'MGY_CNI_IPAM_CONFIG';
}

function flag(cfg: Readonly<Record<string, unknown>>, key: string, def: boolean): boolean {
  const v = cfg[key];
  if (v === undefined) return def;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw new IpamConfigError(`ipam.${key} must be true or false, got ${JSON.stringify(v)}`);
}

function pools(cfg: Readonly<Record<string, unknown>>, key: string): string[] | undefined {
  const v = cfg[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
    throw new IpamConfigError(`ipam.${key} must be a list of pool names or CIDRs`);
  return v as string[];
}

export function cniIpamAdapter(ipam: Ipam, nodeName: string, blocks: () => readonly IPAMBlock[]): CniIpam {
  return {
    async assign(req: IpamAssignRequest): Promise<readonly string[]> {
      const cfg = req.ipamConfig;
      const suffix = `.${req.containerId}`;
      if (!req.handleId.endsWith(suffix))
        throw new IpamConfigError(`handle ${req.handleId} does not end with the container id ${req.containerId}`);
      const network = req.handleId.slice(0, -suffix.length);
      const ann = (req.podObject?.metadata as { annotations?: Record<string, string> } | undefined)?.annotations;
      const v4Pools = pools(cfg, 'ipv4_pools');
      const v6Pools = pools(cfg, 'ipv6_pools');
      const r = await ipam.assign({
        network,
        containerId: req.containerId,
        node: nodeName,
        ...(req.namespace !== undefined &&
          req.pod !== undefined && { pod: { namespace: req.namespace, name: req.pod } }),
        ipv4: flag(cfg, 'assign_ipv4', true),
        ipv6: flag(cfg, 'assign_ipv6', false),
        ...(v4Pools && { ipv4Pools: v4Pools }),
        ...(v6Pools && { ipv6Pools: v6Pools }),
        ...(ann && { podAnnotations: ann }),
      });
      return r.addresses.map((a) => `${a.address}/${a.address.includes(':') ? 128 : 32}`);
    },
    async release(handleId: string): Promise<void> {
      await ipam.releaseByHandle(handleId);
    },
    async handlesOf(network: string): Promise<readonly string[]> {
      const out = new Set<string>();
      for (const b of blocks()) {
        b.spec.allocations.forEach((a) => {
          if (a === null) return;
          const attr = b.spec.attributes[a];
          const node = attr?.secondary?.node ?? (b.spec.affinity === `host:${nodeName}` ? nodeName : undefined);
          if (attr?.handle_id?.startsWith(`${network}.`) && node === nodeName) out.add(attr.handle_id);
        });
      }
      return [...out];
    },
    async hasRoom(): Promise<boolean> {
      const u = await ipam.usage();
      return u.pools.some((p) => BigInt(p.allocated) < BigInt(p.size));
    },
  };
}
