/**
 * bgp/route-policy: BGP import/export route policy — config types (RoutePolicy…) and the compiler
 * (compileRoutePolicy), plus Calico BGPFilter translation. "Policy" alone means NetworkPolicy (policy/).
 */
export * from './types.js';
export { compileRoutePolicy, RoutePolicyCompileError, type CompiledRoutePolicy, type RouteContext } from './compile.js';
export {
  policyFromBgpFilters,
  podCidrsOnlyPolicy,
  torExportPolicy,
  type CalicoBgpFilterRule,
  type CalicoBgpFilterSpec,
} from './calico.js';
/** @deprecated import community helpers from bgp/attrs. */
export {
  parseCommunity,
  formatCommunity,
  parseLargeCommunity,
  CommunitySyntaxError,
  WELL_KNOWN,
} from '../attrs/index.js';

import type {
  RoutePolicy,
  RoutePolicyActions,
  RoutePolicyMatch,
  RoutePolicyResult,
  RoutePolicySet,
  RoutePolicyStatement,
} from './types.js';
import { compileRoutePolicy, RoutePolicyCompileError, type CompiledRoutePolicy } from './compile.js';

/** @deprecated renamed RoutePolicy (the plain word belongs to NetworkPolicy). */
export type PolicyDefinition = RoutePolicy;
/** @deprecated renamed RoutePolicyStatement. */
export type PolicyStatement = RoutePolicyStatement;
/** @deprecated renamed RoutePolicyMatch. */
export type PolicyMatch = RoutePolicyMatch;
/** @deprecated renamed RoutePolicyActions. */
export type PolicyActions = RoutePolicyActions;
/** @deprecated renamed RoutePolicySet. */
export type PolicySet = RoutePolicySet;
/** @deprecated renamed RoutePolicyResult. */
export type PolicyResult = RoutePolicyResult;
/** @deprecated renamed CompiledRoutePolicy. */
export type CompiledPolicy = CompiledRoutePolicy;
/** @deprecated renamed compileRoutePolicy. */
export const compilePolicy = compileRoutePolicy;
/** @deprecated renamed RoutePolicyCompileError. */
export const PolicyCompileError = RoutePolicyCompileError;
