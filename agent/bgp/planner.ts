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
 *                             │ keepOriginalNextHop / nextHopMode, sourceAddress, ttlSecurity, ...
 *   IPPools ──────────────────┤ export policy: prefixes inside pools (not disableBGPExport)
 *   blocks + borrowed /32s ───┘ originated routes (with the communities that apply)
 *
 * Peer precedence for one address: BGPPeer objects (by name) before the mesh.
 */
import { isIP } from 'node:net';
import type { BGPConfiguration, BGPPeer, IPPool } from '../../src/model/index.js';
import { DEFAULT_AS_NUMBER, DEFAULT_BGP_PORT, parseCidr, parseGoDuration, parsePeerIp } from '../../src/model/index.js';
import { compileSelector, parseSelector } from '../../src/selector/index.js';
import type { NodeBgp } from './node-bgp.js';
import { familyIs } from '../../src/config/index.js';

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

export const IMPORT_POLICY = 'margay-import';
export const EXPORT_POLICY = 'margay-export';

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

function exportPolicy(pools: readonly IPPool[]): Record<string, unknown> {
  const rules: unknown[] = [];
  const sorted = [...pools].sort((a, b) => Number(b.spec.disableBGPExport) - Number(a.spec.disableBGPExport));
  for (const p of sorted) {
    const c = parseCidr(p.spec.cidr);
    if (!c) continue;
    const max = familyIs(c.family, 4) ? 32 : 128;
    rules.push({
      match: { prefixes: [{ prefix: c.cidr, ge: c.prefix, le: max }] },
      action: p.spec.disableBGPExport ? 'reject' : 'accept',
    });
  }
  return { rules, defaultAction: 'reject' };
}

function communitiesFor(
  prefix: string,
  cfg: BGPConfiguration['spec'] | undefined,
): { communities: string[]; largeCommunities: string[] } {
  const named = new Map((cfg?.communities ?? []).map((c) => [c.name, c.value] as const));
  const out = { communities: [] as string[], largeCommunities: [] as string[] };
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
  const add = (
    address: string,
    asn: number,
    extra: Partial<PlannedPeer> & { description: string; noSource?: boolean },
    peerNode: NodeBgp | undefined,
  ): void => {
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
      export: EXPORT_POLICY,
      description: extra.description,
    });
  };

  for (const p of [...input.peers].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    const what = `BGPPeer ${p.metadata.name}`;
    let applies: boolean;
    try {
      applies = peerAppliesTo(p, me);
    } catch (err) {
      problems.push(`${what}: nodeSelector does not parse (${(err as Error).message})`);
      continue;
    }
    if (!applies) continue;
    let password: string | undefined;
    if (p.spec.password) {
      password = input.password(p.spec.password.secretKeyRef);
      if (password === undefined) {
        problems.push(
          `${what}: password secret ${p.spec.password.secretKeyRef.name}/${p.spec.password.secretKeyRef.key} cannot be read; peer skipped`,
        );
        continue;
      }
    }
    const mode = p.spec.nextHopMode ?? (p.spec.keepOriginalNextHop ? 'Keep' : 'Auto');
    const extra = {
      description: what,
      ...(password !== undefined && { password }),
      noSource: p.spec.sourceAddress === 'None',
      ...(p.spec.ttlSecurity !== undefined &&
        p.spec.ttlSecurity > 0 && { ttlSecurity: Math.min(254, p.spec.ttlSecurity) }),
      nextHopSelf: mode === 'Self',
      allowasIn: Math.min(10, p.spec.numAllowedLocalASNumbers ?? 0),
      gracefulRestart: { enabled: true as const, restartTime: seconds(p.spec.maxRestartTime, restartTime, 4095) },
    };
    if (p.spec.peerIP !== undefined) {
      const ip = parsePeerIp(p.spec.peerIP)!;
      const node = nodeByAddress.get(ip.ip);
      add(ip.ip, p.spec.asNumber ?? clusterAs, { ...extra, ...(ip.port !== undefined && { port: ip.port }) }, node);
      continue;
    }
    let match: (labels: Readonly<Record<string, string>>) => boolean;
    try {
      match = compileSelector(parseSelector(p.spec.peerSelector!));
    } catch (err) {
      problems.push(`${what}: peerSelector does not parse (${(err as Error).message})`);
      continue;
    }
    for (const n of [...input.nodes.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      if (n.name === me.name || !match(n.labels)) continue;
      for (const a of [n.ipv4, n.ipv6]) {
        if (a === undefined || (isIP(a) === 4 ? me.ipv4 : me.ipv6) === undefined) continue;
        add(a, asOf(n), extra, n);
      }
    }
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
      for (const n of [...input.nodes.values()].sort((a, b) => a.name.localeCompare(b.name))) {
        if (n.name === me.name) continue;
        for (const a of [n.ipv4, n.ipv6]) {
          if (a === undefined || (isIP(a) === 4 ? me.ipv4 : me.ipv6) === undefined) continue;
          add(
            a,
            asOf(n),
            {
              description: `mesh ${n.name}`,
              ...(meshPassword !== undefined && { password: meshPassword }),
              gracefulRestart: { enabled: true, restartTime: meshRestart },
            },
            n,
          );
        }
      }
    }
  }

  const communityCfg = own?.prefixAdvertisements || own?.communities ? own : def;
  const originate = [...new Set(input.advertise)]
    .sort()
    .map((prefix) => ({ prefix, ...communitiesFor(prefix, communityCfg) }));
  return {
    config: {
      routerId: me.ipv4 ?? hashRouterId(me.name),
      asn: myAs,
      listen: { addresses: [...mine], port: listenPort },
      peers: [...planned.values()],
      originate,
      policies: { [IMPORT_POLICY]: { rules: [], defaultAction: 'accept' }, [EXPORT_POLICY]: exportPolicy(input.pools) },
      ...(me.rrClusterId !== undefined && { routeReflector: { clusterId: me.rrClusterId } }),
      gracefulRestart: { restartTime, stalePathTime: 360 },
      fib: { enabled: false },
    },
    problems,
  };
}
