import { isIP } from 'node:net';
import { TopologySpecError } from './errors.js';

/**
 * The declarative half of a lab topology: which namespaces exist, how veths join them, which
 * addresses sit where. Pure data, checked here before anything touches the kernel (`validateSpec`),
 * then built by `upTopology` (topology.ts). Every namespace is named `<prefix>-<node>`, so one
 * unique prefix per topology instance keeps concurrent instances apart and makes leftovers
 * recognisable.
 */
export interface TopologySpec {
  /** Unique per instance: `[a-z][a-z0-9]*` (≤ 24 chars); every namespace is `<prefix>-<node>`. */
  readonly prefix: string;
  readonly nodes: readonly NodeSpec[];
  readonly links?: readonly LinkSpec[];
  /**
   * Links with an end in the caller's own namespace (`HOST`). Only test rigs inside the sandbox's
   * private namespace use them; the lab never does (it never links to host interfaces).
   */
  readonly allowHostLinks?: boolean;
}

export interface NodeSpec {
  /** `[a-z0-9][a-z0-9-]*` (≤ 30 chars), unique in the spec. */
  readonly name: string;
  /** Turn on IPv4 and IPv6 forwarding inside this namespace (routers: the ToR, nodes). */
  readonly forwarding?: boolean;
  /** CIDRs added to `lo` (stand-in pods, router ids). */
  readonly loopback?: readonly string[];
  /** Extra sysctls set inside the namespace (only there). */
  readonly sysctls?: Readonly<Record<string, string>>;
  /** Linux bridges made in this namespace before the links (link ends join them with `master`). */
  readonly bridges?: readonly { readonly name: string; readonly addresses?: readonly string[] }[];
  /** Static routes added after the links: `dst` a CIDR or "default", `via` an address (its family picks -4/-6). */
  readonly routes?: readonly { readonly dst: string; readonly via: string }[];
}

/** The caller's own network namespace as a link end (sandbox-only, see `allowHostLinks`). */
export const HOST = '@host';

export interface LinkEnd {
  /** A node name, or HOST. */
  readonly node: string;
  /** Interface name (≤ 15 chars), unique in its namespace. */
  readonly ifName: string;
  /** CIDRs on this end; IPv6 ones are added `nodad` so they are usable at once. */
  readonly addresses?: readonly string[];
  /** A bridge of this end's node to enslave the end to. */
  readonly master?: string;
}

export interface LinkSpec {
  readonly a: LinkEnd;
  readonly b: LinkEnd;
}

const PREFIX_RE = /^[a-z][a-z0-9]{0,23}$/;
const NODE_RE = /^[a-z0-9][a-z0-9-]{0,29}$/;
const IFNAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;

export function nsName(prefix: string, node: string): string {
  return `${prefix}-${node}`;
}

/** Checks a CIDR like 10.0.0.1/24 or fd00::1/64 (address and length), returning its family. */
export function cidrFamily(cidr: string, field: string): 4 | 6 {
  const slash = cidr.indexOf('/');
  const addr = slash < 0 ? cidr : cidr.slice(0, slash);
  const family = isIP(addr);
  if (family === 0)
    throw new TopologySpecError(field, `${JSON.stringify(cidr)} is not an IP address with a prefix length`);
  const len = slash < 0 ? Number.NaN : Number(cidr.slice(slash + 1));
  const max = family === 4 ? 32 : 128;
  if (!Number.isInteger(len) || len < 0 || len > max || !/^\d+$/.test(cidr.slice(slash + 1))) {
    throw new TopologySpecError(field, `${JSON.stringify(cidr)} needs a prefix length 0..${max}`);
  }
  return family as 4 | 6;
}

/** Validates a spec; throws TopologySpecError naming the field. Returns the spec for chaining. */
export function validateSpec(spec: TopologySpec): TopologySpec {
  if (!PREFIX_RE.test(spec.prefix)) {
    throw new TopologySpecError('prefix', `${JSON.stringify(spec.prefix)} must match ${PREFIX_RE.source}`);
  }
  const names = new Set<string>();
  spec.nodes.forEach((n, i) => {
    if (!NODE_RE.test(n.name))
      throw new TopologySpecError(`nodes[${i}].name`, `${JSON.stringify(n.name)} must match ${NODE_RE.source}`);
    if (names.has(n.name)) throw new TopologySpecError(`nodes[${i}].name`, `${JSON.stringify(n.name)} appears twice`);
    names.add(n.name);
    (n.loopback ?? []).forEach((c, j) => cidrFamily(c, `nodes[${i}].loopback[${j}]`));
    (n.bridges ?? []).forEach((b, j) => {
      if (!IFNAME_RE.test(b.name))
        throw new TopologySpecError(
          `nodes[${i}].bridges[${j}].name`,
          `${JSON.stringify(b.name)} must be 1-15 chars of [A-Za-z0-9_.-]`,
        );
      (b.addresses ?? []).forEach((c, k) => cidrFamily(c, `nodes[${i}].bridges[${j}].addresses[${k}]`));
    });
    (n.routes ?? []).forEach((r, j) => {
      if (isIP(r.via) === 0)
        throw new TopologySpecError(`nodes[${i}].routes[${j}].via`, `${JSON.stringify(r.via)} is not an IP address`);
      if (r.dst !== 'default' && cidrFamily(r.dst, `nodes[${i}].routes[${j}].dst`) !== isIP(r.via)) {
        throw new TopologySpecError(`nodes[${i}].routes[${j}]`, `${r.dst} and ${r.via} are of different families`);
      }
    });
    for (const k of Object.keys(n.sysctls ?? {})) {
      if (!/^net\.[a-z0-9_.\-/]+$/.test(k))
        throw new TopologySpecError(
          `nodes[${i}].sysctls`,
          `${JSON.stringify(k)}: only net.* keys (they are per namespace)`,
        );
    }
  });
  const ifaces = new Set<string>();
  (spec.links ?? []).forEach((l, i) => {
    for (const side of ['a', 'b'] as const) {
      const end = l[side];
      const field = `links[${i}].${side}`;
      if (end.node === HOST) {
        if (spec.allowHostLinks !== true)
          throw new TopologySpecError(field, 'links to the host namespace are not allowed in this topology');
      } else if (!names.has(end.node)) {
        throw new TopologySpecError(`${field}.node`, `no node named ${JSON.stringify(end.node)}`);
      }
      if (!IFNAME_RE.test(end.ifName))
        throw new TopologySpecError(
          `${field}.ifName`,
          `${JSON.stringify(end.ifName)} must be 1-15 chars of [A-Za-z0-9_.-]`,
        );
      const key = `${end.node}/${end.ifName}`;
      if (ifaces.has(key)) throw new TopologySpecError(`${field}.ifName`, `${end.ifName} is used twice in ${end.node}`);
      ifaces.add(key);
      (end.addresses ?? []).forEach((c, j) => cidrFamily(c, `${field}.addresses[${j}]`));
      if (
        end.master !== undefined &&
        !spec.nodes.find((n) => n.name === end.node)?.bridges?.some((b) => b.name === end.master)
      ) {
        throw new TopologySpecError(`${field}.master`, `${end.node} has no bridge ${JSON.stringify(end.master)}`);
      }
    }
    if (l.a.node === l.b.node) throw new TopologySpecError(`links[${i}]`, 'both ends are in the same namespace');
  });
  return spec;
}
