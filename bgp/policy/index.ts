/** Public surface of the policy engine: config types and the compiler. */
export * from './types.js';
export { compilePolicy, PolicyCompileError, type CompiledPolicy, type RouteContext } from './compile.js';
/** @deprecated import community helpers from bgp/attrs. */
export { parseCommunity, formatCommunity, parseLargeCommunity, CommunitySyntaxError, WELL_KNOWN } from '../attrs/index.js';
export { policyFromBgpFilters, podCidrsOnlyPolicy, torExportPolicy, type CalicoBgpFilterRule, type CalicoBgpFilterSpec } from './calico.js';
