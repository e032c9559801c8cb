import type { KindId } from '../src/model/index.js';

/** Every kind the agent reads (ARCHITECTURE.md §3 "Resources"). */
export const AGENT_KINDS: readonly KindId[] = [
  'Node',
  'Namespace',
  'Pod',
  'K8sNetworkPolicy',
  'IPPool',
  'IPAMBlock',
  'BlockAffinity',
  'IPAMConfiguration',
  'BGPConfiguration',
  'BGPPeer',
  'NetworkPolicy',
  'GlobalNetworkPolicy',
];
/** Kinds that feed the BGP plan. */
export const BGP_INPUT_KINDS = new Set<KindId>([
  'Node',
  'BGPConfiguration',
  'BGPPeer',
  'IPPool',
  'IPAMBlock',
  'BlockAffinity',
]);
