/**
 * EndpointChainRenderer: the per-endpoint iptables chains and the dispatch chains that send each
 * workload interface's traffic to them, per family.
 *
 *   endpointPoliciesChanged ──▶ [EndpointChainRenderer] ──▶ chainUpdated / chainRemoved ──▶ sequencer
 *                                 mgy-fw-<veth>  from the workload (its egress policies)
 *                                 mgy-tw-<veth>  to the workload (its ingress policies)
 *                                 mgy-from-wl-dispatch / mgy-to-wl-dispatch:
 *                                    -i|-o <veth> -g mgy-fw|tw-<veth>, one per endpoint, then DROP
 *                                    (a packet from/to an `mgy*` interface we do not know is dropped)
 *
 * An endpoint chain returns when the packet is allowed (mgy-FORWARD then accepts it) and drops it
 * when not. Established and related flows return at once; invalid ones are dropped. With no policy
 * the chain allows everything (Kubernetes default-allow); with policies each policy chain is jumped
 * to in order, a packet a policy allowed (ACCEPT_MARK) returns, and the rest is dropped. An
 * endpoint is dispatched in a family only when it has addresses of that family. Dispatch chains are
 * rebuilt in `flush()` (once per batch, not once per endpoint).
 */
import { ACCEPT_MARK, CHAINS, fromWorkloadChain, toWorkloadChain } from './names.js';
import type { EndpointPolicies } from './policy-resolver.js';
import type { DesiredChain, IpFamily, LocalEndpoint, RuleArgs } from './types.js';

export interface ChainSink {
  chainUpdated(chain: DesiredChain): void;
  chainRemoved(family: IpFamily, table: 'filter' | 'nat', name: string): void;
}

interface Rendered {
  readonly iface: string;
  readonly families: readonly IpFamily[];
}

/** Rules of one endpoint chain for one direction and family. */
export function renderEndpointRules(family: IpFamily, policyChains: readonly string[]): RuleArgs[] {
  const rules: RuleArgs[] = [
    ['-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'RETURN'],
    ['-m', 'conntrack', '--ctstate', 'INVALID', '-j', 'DROP'],
  ];
  if (family === 6) {
    // Neighbour discovery and router solicitation must work with any policy (Calico does the same).
    for (const t of ['133', '135', '136'])
      rules.push(['-p', 'ipv6-icmp', '-m', 'icmp6', '--icmpv6-type', t, '-j', 'RETURN']);
  }
  if (policyChains.length === 0) {
    rules.push(['-j', 'RETURN']); // no policy selects this endpoint: default allow
    return rules;
  }
  rules.push(['-j', 'MARK', '--set-xmark', `0x0/${ACCEPT_MARK}`]);
  for (const c of policyChains) {
    rules.push(['-j', c]);
    rules.push(['-m', 'mark', '--mark', `${ACCEPT_MARK}/${ACCEPT_MARK}`, '-j', 'RETURN']);
  }
  rules.push(['-j', 'DROP']); // selected by a policy, allowed by none
  return rules;
}

export class EndpointChainRenderer {
  readonly #rendered = new Map<string, Rendered>();
  readonly #dispatchDirty = new Set<IpFamily>();

  constructor(
    private readonly families: readonly IpFamily[],
    private readonly out: ChainSink,
  ) {
    for (const f of families) this.#dispatchDirty.add(f);
  }

  endpointPoliciesChanged(key: string, ep: LocalEndpoint | undefined, policies: EndpointPolicies): void {
    const before = this.#rendered.get(key);
    const families =
      ep === undefined ? [] : this.families.filter((f) => (f === 4 ? ep.ipv4Nets : ep.ipv6Nets).length > 0);
    // Chains of the old interface/families that are no longer wanted.
    for (const f of before?.families ?? []) {
      if (ep !== undefined && ep.iface === before!.iface && families.includes(f)) continue;
      if (this.#ifaceStillUsed(before!.iface, f, key)) continue;
      this.out.chainRemoved(f, 'filter', fromWorkloadChain(before!.iface));
      this.out.chainRemoved(f, 'filter', toWorkloadChain(before!.iface));
    }
    if (ep === undefined || families.length === 0) this.#rendered.delete(key);
    else this.#rendered.set(key, { iface: ep.iface, families });
    for (const f of families) {
      this.out.chainUpdated({
        family: f,
        table: 'filter',
        name: fromWorkloadChain(ep!.iface),
        rules: renderEndpointRules(f, policies.egress),
      });
      this.out.chainUpdated({
        family: f,
        table: 'filter',
        name: toWorkloadChain(ep!.iface),
        rules: renderEndpointRules(f, policies.ingress),
      });
    }
    const was = before?.families ?? [];
    const sameFamilies = was.length === families.length && was.every((f) => families.includes(f));
    if (before?.iface !== (families.length === 0 ? undefined : ep?.iface) || !sameFamilies) {
      for (const f of new Set([...was, ...families])) this.#dispatchDirty.add(f);
    }
  }

  flush(): void {
    for (const f of this.#dispatchDirty) {
      const ifaces = [
        ...new Set([...this.#rendered.values()].filter((r) => r.families.includes(f)).map((r) => r.iface)),
      ].sort();
      this.out.chainUpdated({
        family: f,
        table: 'filter',
        name: CHAINS.fromWorkloadDispatch,
        rules: [...ifaces.map((i) => ['-i', i, '-g', fromWorkloadChain(i)]), ['-j', 'DROP']],
      });
      this.out.chainUpdated({
        family: f,
        table: 'filter',
        name: CHAINS.toWorkloadDispatch,
        rules: [...ifaces.map((i) => ['-o', i, '-g', toWorkloadChain(i)]), ['-j', 'DROP']],
      });
    }
    this.#dispatchDirty.clear();
  }

  #ifaceStillUsed(iface: string, family: IpFamily, exceptKey: string): boolean {
    for (const [k, r] of this.#rendered)
      if (k !== exceptKey && r.iface === iface && r.families.includes(family)) return true;
    return false;
  }
}
