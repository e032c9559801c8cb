/**
 * Resource model: the kinds Margay reads and writes, validated and defaulted at the edge.
 * See docs/model.md for the kinds, their defaults and the deviations from Calico.
 */
export * from './kinds.js';
export {
  SCHEMAS,
  builtSchemaKinds,
  schemaOf,
  formatPath,
  isResourceOf,
  kindIdOf,
  validateResource,
  validateResourceOf,
  type BGPConfiguration,
  type BGPPeer,
  type BlockAffinity,
  type GlobalNetworkPolicy,
  type IPAMBlock,
  type IPAMConfiguration,
  type IPAMHandle,
  type IPReservation,
  type IPPool,
  type K8sNetworkPolicy,
  type Namespace,
  type NetworkPolicy,
  type Node,
  type Pod,
  type ResourceOf,
} from './validate.js';
export {
  BLOCK_SIZE_RANGE,
  DEFAULT_BLOCK_SIZE,
  blockAffinityName,
  ipamBlockName,
  ipamHandleName,
  poolOverlapProblem,
} from './ipam-names.js';
export { DEFAULT_AS_NUMBER, DEFAULT_BGP_PORT, isCommunityValue, parsePeerIp } from './bgp-kinds.js';
export {
  PROTOCOL_NAMES,
  PROTOCOL_NUMBERS,
  parsePort,
  parseProtocol,
  type PortSpec,
  type ProtocolName,
  type Rule,
} from './policy-rules.js';
export { defaultPolicyTypes } from './policy-kinds.js';
export { portNameProblem } from './k8s-kinds.js';
export { dnsLabelProblem, dnsSubdomainProblem, parseAsNumber, parseGoDuration } from './fields.js';
export {
  addressCount,
  cidrContains,
  parseCidr,
  parseIp,
  type IpFamily,
  type ParsedCidr,
  type ParsedIp,
} from './net.js';
export { blockAffinityHost, nodeAddresses, podIPs, resolveNamedPort } from './accessors.js';
