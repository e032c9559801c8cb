/**
 * PolicyResolver: for each local endpoint, the ordered policy chains that apply to it — THE SEAM
 * where NetworkPolicy plugs into the graph.
 *
 *   endpointChanged ──▶ [PolicyResolver] ──▶ endpointPoliciesChanged(key, EndpointPolicies)
 *                            ▲                     ──▶ EndpointChainRenderer
 *          (policy issue:  ActivePolicyCalculator ◀── NetworkPolicy / GlobalNetworkPolicy /
 *           K8sNetworkPolicy, SelectorIndex ◀── endpoint + namespace labels)
 *
 * Today no policy exists, so every endpoint gets NO_POLICIES and its chains allow everything
 * (Kubernetes' default: a pod no policy selects is open). The policy issue extends this node, and
 * only this node and graph.ts:
 *   1. graph.ts registers the policy kinds with the dispatcher and feeds them to a new
 *      ActivePolicyCalculator + SelectorIndex (one file each), which call
 *      `policiesMatched(endpointKey, {ingress, egress})` here with the ordered policy chain names;
 *   2. those nodes emit each policy's rendered chains (`mgy-pi-…`/`mgy-po-…`) and selector ipsets
 *      through the same sequencer (`chainUpdated`, `ipsetUpdated`), which orders them before the
 *      endpoint chains that jump to them;
 *   3. a rendered policy chain marks an allowed packet with ACCEPT_MARK (names.ts) and returns; the
 *      endpoint chain returns on that mark and drops at its end when any policy applied
 *      (chain-renderer.ts) — "selected by a policy but not allowed" is denied.
 * Until a policy chain for an endpoint is emitted, the endpoint chain does not name it, so a jump
 * to a missing chain cannot happen.
 */
import type { LocalEndpoint } from './types.js';

export interface EndpointPolicies {
  /** Policy chains for traffic to the endpoint, in order (empty: no policy selects it). */
  readonly ingress: readonly string[];
  /** Policy chains for traffic from the endpoint, in order. */
  readonly egress: readonly string[];
}

export const NO_POLICIES: EndpointPolicies = Object.freeze({ ingress: Object.freeze([]), egress: Object.freeze([]) });

export interface EndpointPolicyListener {
  endpointPoliciesChanged(key: string, ep: LocalEndpoint | undefined, policies: EndpointPolicies): void;
}

export class PolicyResolver {
  readonly #matched = new Map<string, EndpointPolicies>();
  readonly #endpoints = new Map<string, LocalEndpoint>();

  constructor(private readonly out: EndpointPolicyListener) {}

  endpointChanged(key: string, ep: LocalEndpoint | undefined): void {
    if (ep === undefined) {
      this.#endpoints.delete(key);
      this.#matched.delete(key);
      this.out.endpointPoliciesChanged(key, undefined, NO_POLICIES);
      return;
    }
    this.#endpoints.set(key, ep);
    this.out.endpointPoliciesChanged(key, ep, this.#matched.get(key) ?? NO_POLICIES);
  }

  /** The extension point: the policy chains that now apply to an endpoint (from the policy nodes). */
  policiesMatched(key: string, policies: EndpointPolicies): void {
    if (policies.ingress.length === 0 && policies.egress.length === 0) this.#matched.delete(key);
    else this.#matched.set(key, policies);
    const ep = this.#endpoints.get(key);
    if (ep !== undefined) this.out.endpointPoliciesChanged(key, ep, policies);
  }
}
