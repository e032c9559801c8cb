/**
 * What a node sends its BGP peers, as the speaker's export policies. Pure.
 *
 * Towards other cluster nodes (mesh, selector peers, BGPPeers at a node's address) it mirrors Calico's
 * `calico_export_to_bgp_peers` (confd's bird_ipam + bird_aggr templates): reject prefixes of pools
 * with disableBGPExport; `calico_aggr` — accept each of this node's blocks exactly and reject what lies
 * beneath them; accept whatever else is inside an enabled pool; reject the rest. The speaker adds
 * RFC 4271's iBGP rule on top: a route learned over iBGP goes to another iBGP peer only through route
 * reflection (RFC 4456), so a mesh node never re-advertises another node's block.
 *
 * Towards peers outside the cluster (the ToR and other global peers) a node advertises only what it
 * originates — its own blocks and the /32s (/128s) it borrowed — so the fabric learns each block from
 * its owner alone. (BIRD under Calico also re-exports mesh-learned blocks to an eBGP ToR, which makes
 * the ToR see every block via every node: projectcalico/calico#3810.)
 */
import type { IPPool } from '../../src/model/index.js';
import { familyIs } from '../../src/config/index.js';
import { parseCidr } from '../../src/model/index.js';
import { parseCidrCached } from './cidr-cache.js';

export const IMPORT_POLICY = 'margay-import';
/** Towards cluster nodes. */
export const EXPORT_POLICY = 'margay-export';
/** Towards peers that are not cluster nodes (ToR, global peers). */
export const EXPORT_EXTERNAL_POLICY = 'margay-export-external';

interface PrefixRange {
  readonly prefix: string;
  readonly ge: number;
  readonly le: number;
}
interface Rule {
  readonly match: { readonly prefixes: readonly PrefixRange[] };
  readonly action: 'accept' | 'reject';
}
export interface ExportPolicy {
  readonly rules: readonly Rule[];
  readonly defaultAction: 'reject';
}

function range(cidr: string, beneath = false): PrefixRange | undefined {
  const c = parseCidrCached(cidr);
  if (!c) return undefined;
  const max = familyIs(c.family, 4) ? 32 : 128;
  if (beneath && c.prefix >= max) return undefined;
  return { prefix: c.cidr, ge: beneath ? c.prefix + 1 : c.prefix, le: beneath ? max : c.prefix };
}

function poolRange(p: IPPool): PrefixRange | undefined {
  const c = parseCidr(p.spec.cidr);
  if (!c) return undefined;
  return { prefix: c.cidr, ge: c.prefix, le: familyIs(c.family, 4) ? 32 : 128 };
}

const defined = <T>(x: T | undefined): x is T => x !== undefined;

/** Calico's calico_export_to_bgp_peers for a node originating `originate` (blocks and borrowed /32s). */
export function clusterExportPolicy(pools: readonly IPPool[], originate: readonly string[]): ExportPolicy {
  const rules: Rule[] = [];
  const disabled = pools
    .filter((p) => p.spec.disableBGPExport)
    .map(poolRange)
    .filter(defined);
  const enabled = pools
    .filter((p) => !p.spec.disableBGPExport)
    .map(poolRange)
    .filter(defined);
  if (disabled.length > 0) rules.push({ match: { prefixes: disabled }, action: 'reject' });
  const own = originate.map((p) => range(p)).filter(defined);
  if (own.length > 0) rules.push({ match: { prefixes: own }, action: 'accept' });
  const beneath = originate.map((p) => range(p, true)).filter(defined);
  if (beneath.length > 0) rules.push({ match: { prefixes: beneath }, action: 'reject' });
  if (enabled.length > 0) rules.push({ match: { prefixes: enabled }, action: 'accept' });
  return { rules, defaultAction: 'reject' };
}

/** Only what this node originates (its blocks and borrowed addresses, already without disabled pools). */
export function externalExportPolicy(originate: readonly string[]): ExportPolicy {
  const own = originate.map((p) => range(p)).filter(defined);
  return { rules: own.length > 0 ? [{ match: { prefixes: own }, action: 'accept' }] : [], defaultAction: 'reject' };
}
