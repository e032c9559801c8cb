/**
 * The BGP planner: cluster state (BGPConfiguration, BGPPeer, Nodes, IPPools, this node's blocks and
 * borrowed addresses) → the embedded speaker's configuration, the way calico-node's confd renders
 * BIRD's. Pure and synchronous: the agent's BGP component (speaker-host.ts) feeds it from the
 * resource cache and hands the result to the speaker.
 *
 *   BGPConfiguration default ─┐ AS, listen port, mesh on/off, mesh password + restart time, communities
 *   BGPConfiguration node.X ──┤ per-node listen port, communities, prefix advertisements
 *   Nodes (spec.bgp / annot.) ┤ mesh peers; peerSelector peers; route-reflector roles
 *   BGPPeer ──────────────────┤ global / node / nodeSelector; peerIP+AS or peerSelector; password,
 *                             │ keepOriginalNextHop / nextHopMode, sourceAddress, ttlSecurity, ...;
 *                             │ and its reverse on the peer side (Calico: a node a BGPPeer selects, or
 *                             │ whose address+AS it names, peers back with the nodes it applies to)
 *   IPPools ──────────────────┤ export policies (export-policy.ts): to cluster nodes Calico's
 *   blocks + borrowed /32s ───┘ calico_export_to_bgp_peers; to others only what this node originates
 *
 * Peer precedence for one address: global BGPPeers, node-scoped BGPPeers (by name), reverse
 * peerings, then the mesh — the first planned wins.
 */
import { isIP } from 'node:net';
import type { BGPConfiguration, BGPPeer, IPPool } from '../../src/model/index.js';
import { DEFAULT_AS_NUMBER, DEFAULT_BGP_PORT, parseCidr, parseGoDuration, parsePeerIp } from '../../src/model/index.js';
import { compileSelector, parseSelector } from '../../src/selector/index.js';
import type { NodeBgp } from './node-bgp.js';
import {
  clusterExportPolicy,
  EXPORT_EXTERNAL_POLICY,
  EXPORT_POLICY,
  externalExportPolicy,
  IMPORT_POLICY,
} from './export-policy.js';

export { EXPORT_EXTERNAL_POLICY, EXPORT_POLICY, IMPORT_POLICY } from './export-policy.js';

export interface SecretRef {
  readonly name: string;
  readonly key: string;
}

export interface PlannerInput {
  readonly nodeName: string;
  readonly nodes: ReadonlyMap<string, NodeBgp>;
  readonly configs: readonly BGPConfiguration[];
  readonly peers: readonly BGPPeer[];
  readonly pools: readonly IPPool[];
  /** This node's blocks and borrowed /32 (/128) addresses, as CIDRs. */
  readonly advertise: readonly string[];
  /** Resolves a password secret reference; undefined when it cannot be read. */
  readonly password: (ref: SecretRef) => string | undefined;
  /** Graceful-restart time we ask peers to keep our routes for (seconds). */
  readonly restartTimeSeconds?: number;
}

/** One planned peer (a bgp/config PeerConfig before defaults) and where it came from. */
export interface PlannedPeer {
  readonly address: string;
  readonly asn: number;
  readonly port: number;
  readonly families: readonly ('ipv4' | 'ipv6')[];
  readonly password?: string;
  readonly sourceAddress?: string;
  readonly ttlSecurity?: number;
  readonly routeReflectorClient: boolean;
  readonly nextHopSelf: boolean;
  readonly allowasIn: number;
  readonly gracefulRestart: { readonly enabled: true; readonly restartTime: number };
  readonly import: string;
  readonly export: string;
  readonly description: string;
}

export interface BgpPlan {
  /** Undefined: this node cannot speak BGP (no address recorded yet). */
  readonly config:
    | {
        readonly routerId: string;
        readonly asn: number;
        readonly listen: { readonly addresses: readonly string[]; readonly port: number };
        readonly peers: readonly PlannedPeer[];
        readonly originate: readonly {
          readonly prefix: string;
          readonly communities: readonly string[];
          readonly largeCommunities: readonly string[];
        }[];
        readonly policies: Record<string, unknown>;
        readonly routeReflector?: { readonly clusterId: string };
        readonly gracefulRestart: { readonly restartTime: number; readonly stalePathTime: number };
        readonly fib: { readonly enabled: false };
      }
    | undefined;
  /** Operator-facing problems (a BGPPeer skipped and why). */
  readonly problems: readonly string[];
}

function seconds(d: string | undefined, fallback: number, max: number): number {
  const ms = d === undefined ? undefined : parseGoDuration(d);
  if (ms === undefined) return fallback;
  return Math.max(1, Math.min(max, Math.round(ms / 1000)));
}

/** A stable router ID for a node without IPv4: 4 bytes of FNV-1a over its name (Calico hashes too). */
export function hashRouterId(name: string): string {
  let h = 0x811c9dc5;
  for (const ch of Buffer.from(name)) h = Math.imul(h ^ ch, 0x01000193) >>> 0;
  return [h >>> 24, (h >>> 16) & 255, (h >>> 8) & 255, h & 255].join('.');
}

function communitiesFor(
  prefix: string,
  cfg: BGPConfiguration['spec'] | undefined,
): { communities: string[]; largeCommunities: string[] } {
  const named = new Map((cfg?.communities ?? []).map((c) => [c.name, c.value] as const));
  const out = { communities: [] as string[], largeCommunities: [] as string[] };
  if (!cfg?.prefixAdvertisements?.length) return out; // no prefix to parse, no community to give
  const p = parseCidr(prefix);
  if (!p) return out;
  for (const pa of cfg?.prefixAdvertisements ?? []) {
    const c = parseCidr(pa.cidr);
    if (!c || c.family !== p.family || !(p.first >= c.first && p.last <= c.last)) continue;
    for (const v of pa.communities) {
      const value = named.get(v) ?? v;
      const list = value.split(':').length === 3 ? out.largeCommunities : out.communities;
      if (!list.includes(value)) list.push(value);
    }
  }
  return out;
}

function selects(selector: string | undefined, labels: Readonly<Record<string, string>>): boolean {
  if (selector === undefined) return true;
  return compileSelector(parseSelector(selector))(labels);
}

/** Does this BGPPeer apply to node `me` (global, `node`, or `nodeSelector`)? */
export function peerAppliesTo(p: BGPPeer, me: NodeBgp): boolean {
  if (p.spec.node !== undefined) return p.spec.node === me.name;
  return selects(p.spec.nodeSelector, me.labels);
}

/** A BGPPeer's session settings, as `add` in planBgp takes them. */
type PeerExtra = Partial<PlannedPeer> & { readonly description: string; readonly noSource?: boolean };

/** Settings of BGPPeer `p`; undefined (with a problem) when its password cannot be read. */
function bgpPeerSettings(
  p: BGPPeer,
  password: PlannerInput['password'],
  restartTime: number,
  problems: string[],
): PeerExtra | undefined {
  const what = `BGPPeer ${p.metadata.name}`;
  let secret: string | undefined;
  if (p.spec.password) {
    secret = password(p.spec.password.secretKeyRef);
    if (secret === undefined) {
      problems.push(
        `${what}: password secret ${p.spec.password.secretKeyRef.name}/${p.spec.password.secretKeyRef.key} cannot be read; peer skipped`,
      );
      return undefined;
    }
  }
  const mode = p.spec.nextHopMode ?? (p.spec.keepOriginalNextHop ? 'Keep' : 'Auto');
  return {
    description: what,
    ...(secret !== undefined && { password: secret }),
    noSource: p.spec.sourceAddress === 'None',
    ...(p.spec.ttlSecurity !== undefined &&
      p.spec.ttlSecurity > 0 && { ttlSecurity: Math.min(254, p.spec.ttlSecurity) }),
    nextHopSelf: mode === 'Self',
    allowasIn: Math.min(10, p.spec.numAllowedLocalASNumbers ?? 0),
    gracefulRestart: { enabled: true as const, restartTime: seconds(p.spec.maxRestartTime, restartTime, 4095) },
  };
}

/**
 * The families over which node `me` is the peer side of BGPPeer `p` (Calico's reverse peerings): all
 * when its peerSelector selects `me`; the peerIP's family when that is `me`'s address, the BGPPeer's
 * asNumber (or the cluster's) is `me`'s AS and a port in peerIP is `me`'s listen port.
 */
export function reverseFamilies(p: BGPPeer, me: NodeBgp, myAs: number, clusterAs: number, myPort: number): (4 | 6)[] {
  if (p.spec.peerSelector !== undefined) {
    try {
      return compileSelector(parseSelector(p.spec.peerSelector))(me.labels) ? [4, 6] : [];
    } catch {
      return []; // reported by the forward pass
    }
  }
  const ip = p.spec.peerIP === undefined ? undefined : parsePeerIp(p.spec.peerIP);
  if (!ip || (ip.ip !== me.ipv4 && ip.ip !== me.ipv6)) return [];
  if ((p.spec.asNumber ?? clusterAs) !== myAs) return [];
  if (ip.port !== undefined && ip.port !== myPort) return [];
  return [isIP(ip.ip) === 6 ? 6 : 4];
}

/**
 * Names in code-unit order, as Calico (Go's sort.Strings) orders them. Not localeCompare: its first
 * call initialises ICU collation, ≈ 11 ms of CPU on every agent's start, in the first plan.
 */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** One origination of the plan: a prefix with the communities BGPConfiguration gives it. */
export type PlannedOrigination = { readonly prefix: string } & ReturnType<typeof communitiesFor>;

/**
 * What planBgp's config will originate, without planning the rest (peers, policies): the agent sends
 * a new block out before the whole plan is made (speaker-host.ts). Undefined when planBgp gives no
 * config (no BGP address recorded for this node yet).
 */
export function plannedOriginate(input: PlannerInput): PlannedOrigination[] | undefined {
  const me = input.nodes.get(input.nodeName);
  if (!me || (me.ipv4 === undefined && me.ipv6 === undefined)) return undefined;
  const def = input.configs.find((c) => c.metadata.name === 'default')?.spec;
  const own = input.configs.find((c) => c.metadata.name === `node.${input.nodeName}`)?.spec;
  const communityCfg = own?.prefixAdvertisements || own?.communities ? own : def;
  return [...new Set(input.advertise)].sort().map((prefix) => ({ prefix, ...communitiesFor(prefix, communityCfg) }));
}

export function planBgp(input: PlannerInput): BgpPlan {
  const problems: string[] = [];
  const me = input.nodes.get(input.nodeName);
  if (!me || (me.ipv4 === undefined && me.ipv6 === undefined))
    return { config: undefined, problems: [`node ${input.nodeName} has no BGP address recorded yet`] };
  const def = input.configs.find((c) => c.metadata.name === 'default')?.spec;
  const own = input.configs.find((c) => c.metadata.name === `node.${input.nodeName}`)?.spec;
  const clusterAs = def?.asNumber ?? DEFAULT_AS_NUMBER;
  const asOf = (n: NodeBgp): number => n.asNumber ?? clusterAs;
  const myAs = asOf(me);
  const listenPort = own?.listenPort ?? def?.listenPort ?? DEFAULT_BGP_PORT;
  const clusterPort = def?.listenPort ?? DEFAULT_BGP_PORT;
  const portOf = (n: NodeBgp): number =>
    input.configs.find((c) => c.metadata.name === `node.${n.name}`)?.spec.listenPort ?? clusterPort;
  const restartTime = input.restartTimeSeconds ?? 120;
  const mine = new Set([me.ipv4, me.ipv6].filter((a): a is string => a !== undefined));
  const nodeByAddress = new Map<string, NodeBgp>();
  for (const n of input.nodes.values()) for (const a of [n.ipv4, n.ipv6]) if (a !== undefined) nodeByAddress.set(a, n);
  const rrClient = (peerNode: NodeBgp | undefined): boolean =>
    me.rrClusterId !== undefined &&
    peerNode !== undefined &&
    peerNode.rrClusterId !== me.rrClusterId &&
    asOf(peerNode) === myAs;

  const planned = new Map<string, PlannedPeer>();
  const add = (address: string, asn: number, extra: PeerExtra, peerNode: NodeBgp | undefined): void => {
    if (mine.has(address) || planned.has(address)) return;
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    const myAddr = family === 'ipv4' ? me.ipv4 : me.ipv6;
    if (myAddr === undefined) {
      problems.push(
        `${extra.description}: peer ${address} is IPv${family === 'ipv4' ? 4 : 6} but this node has no such address`,
      );
      return;
    }
    planned.set(address, {
      address,
      asn,
      port: extra.port ?? clusterPort,
      families: [family],
      ...(extra.password !== undefined && { password: extra.password }),
      ...(!extra.noSource && { sourceAddress: myAddr }),
      ...(extra.ttlSecurity !== undefined && { ttlSecurity: extra.ttlSecurity }),
      routeReflectorClient: rrClient(peerNode),
      nextHopSelf: extra.nextHopSelf ?? false,
      allowasIn: extra.allowasIn ?? 0,
      gracefulRestart: { enabled: true, restartTime: extra.gracefulRestart?.restartTime ?? restartTime },
      import: IMPORT_POLICY,
      // A node's own address: a cluster peer; anything else (the ToR, global peers): external.
      export: peerNode ? EXPORT_POLICY : EXPORT_EXTERNAL_POLICY,
      description: extra.description,
    });
  };

  // Calico's order (confd updatePeersV1): global BGPPeers, then node-scoped ones, then the reverse
  // of every BGPPeer; the first peering planned for an address wins.
  const byName = [...input.peers].sort((a, b) => compareNames(a.metadata.name, b.metadata.name));
  const isGlobal = (p: BGPPeer): boolean => p.spec.node === undefined && p.spec.nodeSelector === undefined;
  const settings = new Map<BGPPeer, PeerExtra | undefined>();
  const settingsOf = (p: BGPPeer): PeerExtra | undefined => {
    if (!settings.has(p)) settings.set(p, bgpPeerSettings(p, input.password, restartTime, problems));
    return settings.get(p);
  };
  const sortedNodes = [...input.nodes.values()].sort((a, b) => compareNames(a.name, b.name));
  const addNode = (n: NodeBgp, families: readonly (4 | 6)[], extra: PeerExtra): void => {
    if (n.name === me.name) return;
    for (const f of families) {
      const a = f === 4 ? n.ipv4 : n.ipv6;
      if (a === undefined || (f === 4 ? me.ipv4 : me.ipv6) === undefined) continue;
      add(a, asOf(n), { ...extra, port: portOf(n) }, n);
    }
  };
  for (const p of [...byName.filter(isGlobal), ...byName.filter((x) => !isGlobal(x))]) {
    const what = `BGPPeer ${p.metadata.name}`;
    let applies: boolean;
    try {
      applies = peerAppliesTo(p, me);
    } catch (err) {
      problems.push(`${what}: nodeSelector does not parse (${(err as Error).message})`);
      continue;
    }
    if (!applies) continue;
    const extra = settingsOf(p);
    if (!extra) continue;
    if (p.spec.peerIP !== undefined) {
      const ip = parsePeerIp(p.spec.peerIP)!;
      const node = nodeByAddress.get(ip.ip);
      const port = ip.port ?? (node ? portOf(node) : undefined);
      add(ip.ip, p.spec.asNumber ?? clusterAs, { ...extra, ...(port !== undefined && { port }) }, node);
      continue;
    }
    let match: (labels: Readonly<Record<string, string>>) => boolean;
    try {
      match = compileSelector(parseSelector(p.spec.peerSelector!));
    } catch (err) {
      problems.push(`${what}: peerSelector does not parse (${(err as Error).message})`);
      continue;
    }
    for (const n of sortedNodes) if (match(n.labels)) addNode(n, [4, 6], extra);
  }
  // The reverse: this node is the peer side of a BGPPeer (selected by its peerSelector, or its address
  // and AS are the peerIP and asNumber), so it peers back with each node the BGPPeer applies to.
  for (const p of byName) {
    const families = reverseFamilies(p, me, asOf(me), clusterAs, listenPort);
    if (families.length === 0) continue;
    let peerNodes: NodeBgp[];
    try {
      peerNodes = sortedNodes.filter((n) => peerAppliesTo(p, n));
    } catch {
      continue; // already reported by the forward pass
    }
    const extra = settingsOf(p);
    if (!extra) continue;
    for (const n of peerNodes) addNode(n, families, { ...extra, description: `${extra.description} (peer side)` });
  }

  if (def?.nodeToNodeMeshEnabled ?? true) {
    let meshPassword: string | undefined;
    if (def?.nodeMeshPassword) meshPassword = input.password(def.nodeMeshPassword.secretKeyRef);
    if (def?.nodeMeshPassword && meshPassword === undefined) {
      problems.push(
        `BGPConfiguration default: nodeMeshPassword secret ${def.nodeMeshPassword.secretKeyRef.name}/${def.nodeMeshPassword.secretKeyRef.key} cannot be read; mesh not configured`,
      );
    } else {
      const meshRestart = seconds(def?.nodeMeshMaxRestartTime, restartTime, 4095);
      for (const n of sortedNodes)
        addNode(n, [4, 6], {
          description: `mesh ${n.name}`,
          ...(meshPassword !== undefined && { password: meshPassword }),
          gracefulRestart: { enabled: true, restartTime: meshRestart },
        });
    }
  }

  const originate = plannedOriginate(input)!;
  const prefixes = originate.map((o) => o.prefix);
  return {
    config: {
      routerId: me.ipv4 ?? hashRouterId(me.name),
      asn: myAs,
      listen: { addresses: [...mine], port: listenPort },
      peers: [...planned.values()],
      originate,
      policies: {
        [IMPORT_POLICY]: { rules: [], defaultAction: 'accept' },
        [EXPORT_POLICY]: clusterExportPolicy(input.pools, prefixes),
        [EXPORT_EXTERNAL_POLICY]: externalExportPolicy(prefixes),
      },
      ...(me.rrClusterId !== undefined && { routeReflector: { clusterId: me.rrClusterId } }),
      gracefulRestart: { restartTime, stalePathTime: 360 },
      fib: { enabled: false },
    },
    problems,
  };
}
