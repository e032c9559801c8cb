import type { IPAMBlock, Node, Pod } from './validate.js';

/** Typed accessors for fields that several subsystems read the same way. */

/** A pod's IPs: status.podIPs if present, else status.podIP, else none. */
export function podIPs(pod: Pod): string[] {
  const ips = pod.status?.podIPs?.map((p) => p.ip) ?? [];
  if (ips.length > 0) return ips;
  return pod.status?.podIP ? [pod.status.podIP] : [];
}

/** The port number a pod's containers give to the named port for `protocol`, if any. */
export function resolveNamedPort(pod: Pod, name: string, protocol: 'TCP' | 'UDP' | 'SCTP'): number | undefined {
  for (const c of pod.spec.containers) {
    for (const p of c.ports ?? []) if (p.name === name && p.protocol === protocol) return p.containerPort;
  }
  return undefined;
}

/** Node addresses of one type (`InternalIP` by default), in the order the node lists them. */
export function nodeAddresses(node: Node, type = 'InternalIP'): string[] {
  return (node.status?.addresses ?? []).filter((a) => a.type === type).map((a) => a.address);
}

/** The node a block is affine to (`host:<node>`), or undefined for an unaffine/virtual block. */
export function blockAffinityHost(block: IPAMBlock): string | undefined {
  const a = block.spec.affinity;
  return a?.startsWith('host:') ? a.slice('host:'.length) : undefined;
}
