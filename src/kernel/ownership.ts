/**
 * Everything Margay writes into the kernel is recognisable, and only that is ever touched or removed.
 * These names are a contract (ARCHITECTURE.md §3): changing one strands what older versions wrote.
 */
export const OWNERSHIP = {
  /** iptables chains: mgy-INPUT, mgy-FORWARD, mgy-from-wl-<hash>, ... (max 28 chars per iptables). */
  chainPrefix: 'mgy-',
  /** ipsets: mgy<kind><hash>, e.g. mgys4a1b2c3 (max 31 chars per ipset). */
  ipsetPrefix: 'mgy',
  /** Host-side veths and other links: mgy + 11 hex chars of a hash (15-char IFNAMSIZ limit). */
  interfacePrefix: 'mgy',
  /** Comment carried by every iptables rule Margay writes: `mgy:<hash>`. */
  ruleCommentPrefix: 'mgy:',
  /**
   * Route protocol numbers (`ip route ... proto N`). Chosen outside /etc/iproute2/rt_protos
   * (0-4, 8-17 incl. zebra 11 and bird 12, 42 babel, 99 openr, 186-192 FRR) and away from
   * Calico Felix's 80, so Margay can never mistake another daemon's routes for its own.
   *   workload: /32 and /128 routes to local pod veths (the agent's route reconciler).
   *   bgp:      routes learned over BGP and installed by the speaker's FIB sync.
   *   blackhole: blackhole routes for local IPAM blocks (so unallocated addresses in a local block
   *              are not forwarded back out).
   */
  routeProtocol: { workload: 109, bgp: 110, blackhole: 111 },
} as const;

export type Ownership = typeof OWNERSHIP;

/** Route protocol numbers Margay writes (and the only ones it reads back as its own or removes). */
export const OWNED_ROUTE_PROTOCOLS: readonly number[] = Object.values(OWNERSHIP.routeProtocol);

export function isOwnedRouteProtocol(proto: number): boolean {
  return OWNED_ROUTE_PROTOCOLS.includes(proto);
}

export function isOwnedChain(chain: string): boolean {
  return chain.startsWith(OWNERSHIP.chainPrefix);
}

export function isOwnedIpset(name: string): boolean {
  return name.startsWith(OWNERSHIP.ipsetPrefix);
}

export function isOwnedInterface(name: string): boolean {
  return name.startsWith(OWNERSHIP.interfacePrefix);
}

/** True when an iptables rule comment marks the rule as Margay's (`mgy:<hash>`). */
export function isOwnedRuleComment(comment: string | undefined): boolean {
  return comment !== undefined && comment.startsWith(OWNERSHIP.ruleCommentPrefix);
}
