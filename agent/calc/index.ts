/**
 * agent/calc: the pure calculation graph (see graph.ts for the wiring diagram). The agent feeds it
 * datastore changes (the ResourceCache consumer interface: upserted / removed / inSync), CNI
 * registrations and BGP best paths, and hands it a DataplaneSink (agent/dataplane's Dataplane).
 */
export { CalcGraph, CALC_KINDS } from './graph.js';
export { workloadInterfaceName } from './endpoint-resolver.js';
export { sha1Hex } from './sha1.js';
export { NO_POLICIES, type EndpointPolicies } from './policy-resolver.js';
export { ACCEPT_MARK, CHAINS, allPoolsIpset, fromWorkloadChain, masqPoolsIpset, toWorkloadChain } from './names.js';
export { nodeAddress } from './node-address-index.js';
export * from './types.js';
