/**
 * bgp/route-policy: BGP import/export route policy — config types (RoutePolicy…) and the compiler
 * (compileRoutePolicy), plus Calico BGPFilter translation. "Policy" alone means NetworkPolicy (policy/).
 */
export * from './types.js';
export {
  compileRoutePolicy,
  compileRoutePolicyOnce,
  RoutePolicyCompileError,
  type CompiledRoutePolicy,
  type RouteContext,
} from './compile.js';
export {
  policyFromBgpFilters,
  podCidrsOnlyPolicy,
  torExportPolicy,
  type CalicoBgpFilterRule,
  type CalicoBgpFilterSpec,
} from './calico.js';
