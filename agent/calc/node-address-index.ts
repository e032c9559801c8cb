/**
 * NodeAddressIndex: each Node's routing addresses (IPv4 and IPv6), for host-gw routes.
 *
 *   Node ──▶ [NodeAddressIndex] ──▶ nodeAddressChanged(node, {v4, v6}) ──▶ RouteResolver
 *
 * Where an address comes from, first found wins (the agent records its own in the first two):
 * `spec.bgp.ipv4Address`/`ipv6Address` (file mode), annotations `margay.dev/IPv4Address` /
 * `margay.dev/IPv6Address` (and Calico's `projectcalico.org/…`, for migrated clusters), then the
 * first `InternalIP` of each family in status.addresses. A prefix length (`10.0.0.1/24`) is dropped.
 */
import type { Resource } from '../../src/model/index.js';
import { canonicalCidr } from './addr.js';
import type { IpFamily } from './types.js';

export interface NodeAddresses {
  readonly v4?: string;
  readonly v6?: string;
}

export interface NodeAddressListener {
  nodeAddressChanged(node: string, addrs: NodeAddresses | undefined): void;
}

function addressOfFamily(text: unknown, family: IpFamily): string | undefined {
  if (typeof text !== 'string' || text === '') return undefined;
  const c = canonicalCidr(text.includes('/') ? text.slice(0, text.indexOf('/')) : text);
  return c !== undefined && c.family === family ? c.address : undefined;
}

/** The node's routing address of one family, or undefined. */
export function nodeAddress(node: Resource, family: IpFamily): string | undefined {
  const spec = node['spec'] as { bgp?: Record<string, unknown> } | undefined;
  const ann = node.metadata.annotations ?? {};
  const status = node['status'] as { addresses?: { type?: string; address?: string }[] } | undefined;
  const tag = family === 4 ? 'IPv4Address' : 'IPv6Address';
  const candidates: unknown[] = [
    spec?.bgp?.[family === 4 ? 'ipv4Address' : 'ipv6Address'],
    ann[`margay.dev/${tag}`],
    ann[`projectcalico.org/${tag}`],
    ...(status?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => a.address),
  ];
  for (const c of candidates) {
    const a = addressOfFamily(c, family);
    if (a !== undefined) return a;
  }
  return undefined;
}

export class NodeAddressIndex {
  readonly #nodes = new Map<string, NodeAddresses>();

  constructor(private readonly out: NodeAddressListener) {}

  onNode(name: string, node: Resource | undefined): void {
    const before = this.#nodes.get(name);
    let after: NodeAddresses | undefined;
    if (node !== undefined) {
      const v4 = nodeAddress(node, 4);
      const v6 = nodeAddress(node, 6);
      after = { ...(v4 === undefined ? {} : { v4 }), ...(v6 === undefined ? {} : { v6 }) };
    }
    if (before?.v4 === after?.v4 && before?.v6 === after?.v6 && (before === undefined) === (after === undefined))
      return;
    if (after === undefined) this.#nodes.delete(name);
    else this.#nodes.set(name, after);
    this.out.nodeAddressChanged(name, after);
  }

  get(name: string): NodeAddresses | undefined {
    return this.#nodes.get(name);
  }
}
