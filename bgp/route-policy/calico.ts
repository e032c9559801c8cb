/**
 * Calico-shaped policy inputs turned into PolicyDefinitions: BGPFilter rules (projectcalico.org/v3
 * BGPFilter: first matching rule wins, default Accept) and the defaults a cluster needs (nodes accept
 * only pod CIDRs from each other; only pod blocks and chosen service IPs go to the top-of-rack router).
 */
import { parsePrefix } from '../attrs/index.js';
import { RoutePolicyCompileError } from './compile.js';
import type { RoutePolicy, RoutePolicyStatement, PrefixListEntry } from './types.js';

export interface CalicoBgpFilterRule {
  readonly action: 'Accept' | 'Reject';
  readonly matchOperator?: 'Equal' | 'NotEqual' | 'In' | 'NotIn';
  readonly cidr?: string;
  readonly prefixLength?: { readonly min?: number; readonly max?: number };
  readonly source?: 'RemotePeers';
  readonly interface?: string;
}

export interface CalicoBgpFilterSpec {
  readonly exportV4?: readonly CalicoBgpFilterRule[];
  readonly importV4?: readonly CalicoBgpFilterRule[];
  readonly exportV6?: readonly CalicoBgpFilterRule[];
  readonly importV6?: readonly CalicoBgpFilterRule[];
}

function ruleStatement(
  policy: string,
  r: CalicoBgpFilterRule,
  family: 'ipv4' | 'ipv6',
  i: number,
): RoutePolicyStatement {
  if (r.interface !== undefined) {
    throw new RoutePolicyCompileError(
      policy,
      `${family} rule ${i}`,
      'interface matches are not supported (Margay originates routes explicitly, not from kernel interfaces)',
    );
  }
  const result = r.action === 'Accept' ? 'accept' : 'reject';
  if (r.cidr === undefined) {
    if (r.matchOperator !== undefined)
      throw new RoutePolicyCompileError(policy, `${family} rule ${i}`, 'matchOperator needs cidr');
    return { name: `${family}-${i}`, match: { family, ...(r.source && { local: false }) }, result };
  }
  const p = parsePrefix(r.cidr);
  if (p.family !== family)
    throw new RoutePolicyCompileError(policy, `${family} rule ${i}`, `cidr ${r.cidr} is not ${family}`);
  const max = family === 'ipv4' ? 32 : 128;
  const op = r.matchOperator ?? 'In';
  const exact = op === 'Equal' || op === 'NotEqual';
  const entry: PrefixListEntry = exact
    ? { prefix: r.cidr }
    : { prefix: r.cidr, ge: Math.max(p.len, r.prefixLength?.min ?? p.len), le: r.prefixLength?.max ?? max };
  return {
    name: `${family}-${i}`,
    match: {
      family,
      prefix: { entries: [entry], invert: op === 'NotEqual' || op === 'NotIn' },
      ...(r.source && { local: false }),
    },
    result,
  };
}

/** One policy for a peer's import or export from its BGPFilters, in order; unmatched routes are accepted. */
export function policyFromBgpFilters(
  name: string,
  filters: readonly CalicoBgpFilterSpec[],
  direction: 'import' | 'export',
): RoutePolicy {
  const statements: RoutePolicyStatement[] = [];
  for (const f of filters) {
    const v4 = direction === 'import' ? f.importV4 : f.exportV4;
    const v6 = direction === 'import' ? f.importV6 : f.exportV6;
    (v4 ?? []).forEach((r, i) => statements.push(ruleStatement(name, r, 'ipv4', i)));
    (v6 ?? []).forEach((r, i) => statements.push(ruleStatement(name, r, 'ipv6', i)));
  }
  return { name, statements, defaultResult: 'accept' };
}

const within = (cidr: string): PrefixListEntry => {
  const p = parsePrefix(cidr);
  return { prefix: cidr, ge: p.len, le: p.family === 'ipv4' ? 32 : 128 };
};

/** Node-to-node import: only routes inside the IP pools (blocks and borrowed /32, /128), nothing else. */
export function podCidrsOnlyPolicy(name: string, poolCidrs: readonly string[]): RoutePolicy {
  return {
    name,
    defaultResult: 'reject',
    statements: [{ name: 'pod-cidrs', match: { prefix: { entries: poolCidrs.map(within) } }, result: 'accept' }],
  };
}

/**
 * Export to a top-of-rack router: pod blocks inside the pools and the chosen service CIDRs/IPs
 * (exactly as configured or more specific), nothing else.
 */
export function torExportPolicy(
  name: string,
  poolCidrs: readonly string[],
  serviceCidrs: readonly string[],
): RoutePolicy {
  return {
    name,
    defaultResult: 'reject',
    statements: [
      { name: 'pod-blocks', match: { prefix: { entries: poolCidrs.map(within) } }, result: 'accept' },
      { name: 'services', match: { prefix: { entries: serviceCidrs.map(within) } }, result: 'accept' },
    ],
  };
}
