/**
 * Pure translation from margay-bgpd's validated config (bgp/config.ts) into what the modules below
 * take: session inputs (bgp/session), RIB peer settings and options (bgp/rib), policy definitions
 * (bgp/policy). Kept apart from the speaker so it is unit-tested without sockets.
 */
import { prefixTextContains } from '../../src/net/index.js';
import { isIP } from 'node:net';
import { FAMILY, type FamilyKey } from '../codec/index.js';
import type { AddPathMode } from '../codec/index.js';
import type { BgpdConfig, PeerConfig, PolicyConfig, ListenRangeConfig } from '../config.js';
import type { RoutePolicy, RoutePolicyStatement } from '../route-policy/index.js';
import type { Family, OriginateAttrs, RibOptions, RibPeerConfig } from '../rib/index.js';
import type { SessionConfigInput } from '../session/index.js';
import type { LinkFacts } from './interfaces.js';

export type SpeakerConfig = Readonly<BgpdConfig>;
/** A configured peer or one accepted from a listen range. */
export type PeerSettings = Readonly<PeerConfig> | (Readonly<ListenRangeConfig> & { readonly address: string });

export const FAMILY_KEY: Readonly<Record<Family, FamilyKey>> = { ipv4: FAMILY.IPV4_UNICAST, ipv6: FAMILY.IPV6_UNICAST };

export function familyOfKey(k: FamilyKey): Family | undefined {
  return k === FAMILY.IPV4_UNICAST ? 'ipv4' : k === FAMILY.IPV6_UNICAST ? 'ipv6' : undefined;
}

export function policyDefinition(name: string, p: Readonly<PolicyConfig>): RoutePolicy {
  const statements: RoutePolicyStatement[] = p.rules.map((r, i) => {
    const m = r.match;
    const asPath = {
      ...(m.asPathContains && { contains: m.asPathContains }),
      ...(m.originAs && { originAs: m.originAs }),
      ...(m.asPathMaxLength !== undefined && { maxLength: m.asPathMaxLength }),
    };
    const s = r.set;
    return {
      name: `${name}[${i}]`,
      result: r.action,
      match: {
        ...(m.family && { family: m.family }),
        ...(m.prefixes && {
          prefix: {
            entries: m.prefixes.map((e) => ({
              prefix: e.prefix,
              ...(e.ge !== undefined && { ge: e.ge }),
              ...(e.le !== undefined && { le: e.le }),
            })),
          },
        }),
        ...(m.communities && { community: { any: m.communities } }),
        ...(m.largeCommunities && { largeCommunity: { any: m.largeCommunities } }),
        ...(Object.keys(asPath).length > 0 && { asPath }),
      },
      ...(s && {
        actions: {
          ...(s.localPref !== undefined && { setLocalPref: s.localPref }),
          ...(s.med !== undefined && { setMed: s.med }),
          ...(s.addCommunities && { addCommunities: s.addCommunities }),
          ...(s.removeCommunities && { removeCommunities: s.removeCommunities }),
          ...(s.addLargeCommunities && { addLargeCommunities: s.addLargeCommunities }),
          ...(s.nextHop !== undefined && { setNextHop: s.nextHop }),
          ...(s.asPathPrepend !== undefined && { prepend: { count: s.asPathPrepend } }),
        },
      }),
    };
  });
  return { name, statements, defaultResult: p.defaultAction };
}

/** Every named policy, compiled once per config. */
export function policyDefinitions(c: SpeakerConfig): ReadonlyMap<string, RoutePolicy> {
  return new Map(Object.entries(c.policies).map(([n, p]) => [n, policyDefinition(n, p)] as const));
}

export function ribOptions(c: SpeakerConfig): RibOptions {
  return {
    localAs: c.asn,
    routerId: c.routerId,
    ...(c.routeReflector?.clusterId !== undefined && { clusterId: c.routeReflector.clusterId }),
    ebgpRequiresPolicy: c.ebgpRequiresPolicy,
    maxPaths: c.multipath.maxPaths,
    trackBestChanges: true,
  };
}

/** Peer ASN once known: numbers as configured, 'internal' = ours, else what the OPEN said. */
export function resolvePeerAs(c: SpeakerConfig, p: PeerSettings, learned?: number): number | undefined {
  if (typeof p.asn === 'number') return p.asn;
  if (p.asn === 'internal') return c.asn;
  return learned;
}

export function ribPeerConfig(
  _c: SpeakerConfig,
  p: PeerSettings,
  id: string,
  facts: { readonly peerAs: number; readonly localAddress: string; readonly link?: LinkFacts | undefined },
  policies: ReadonlyMap<string, RoutePolicy>,
): RibPeerConfig {
  const imp = p.import === undefined ? undefined : policies.get(p.import);
  const exp = p.export === undefined ? undefined : policies.get(p.export);
  return {
    id,
    address: p.address,
    peerAs: facts.peerAs,
    localAddress: facts.localAddress,
    routeReflectorClient: p.routeReflectorClient,
    nextHopSelf: p.nextHopSelf ? true : 'auto',
    allowAsIn: p.allowasIn,
    ...(p.maxPrefix !== undefined && { maxPrefixes: p.maxPrefix.limit }),
    ...(p.ipv6NextHop !== undefined && { localAddressV6: p.ipv6NextHop }),
    ...(facts.link && {
      localAddresses: facts.link.localAddresses,
      ...(facts.link.connectedSubnets && { connectedSubnets: facts.link.connectedSubnets }),
      multihop: facts.link.multihop,
    }),
    ...(imp && { importPolicy: imp }),
    ...(exp && { exportPolicy: exp }),
  };
}

function addPathMode(v: PeerSettings['addPath']): AddPathMode | undefined {
  return v === 'none' ? undefined : v;
}

/** Session input for one peer. `restarting`: we are coming back from a restart (GR R bit). */
export function sessionInput(
  c: SpeakerConfig,
  p: PeerSettings,
  opts: { readonly restarting: boolean; readonly forwardingPreserved: boolean; readonly passive?: boolean },
): SessionConfigInput {
  const families = p.families.map((f) => FAMILY_KEY[f]);
  const mode = addPathMode(p.addPath);
  return {
    peerAddress: p.address,
    peerPort: p.port,
    ...(p.sourceAddress !== undefined && { localAddress: p.sourceAddress }),
    localAs: c.asn,
    peerAs: p.asn,
    routerId: c.routerId,
    holdTimeSeconds: p.holdTime,
    ...(p.keepalive !== undefined && { keepaliveSeconds: p.keepalive }),
    connectRetrySeconds: p.connectRetry,
    delayOpenSeconds: p.delayOpen,
    passive: opts.passive ?? p.passive,
    ...(p.password !== undefined && { md5Password: p.password }),
    ...(p.ttlSecurity !== undefined && { ttlSecurityHops: p.ttlSecurity }),
    families,
    ...(mode !== undefined && { addPath: new Map(families.map((f) => [f, mode] as const)) }),
    extendedMessages: p.extendedMessages,
    extendedNextHop: extendedNextHopWanted(p),
    gracefulRestart: p.gracefulRestart.enabled
      ? {
          restartTimeSeconds: p.gracefulRestart.restartTime,
          restarting: opts.restarting,
          notification: true,
          forwardingPreserved: opts.forwardingPreserved ? families : [],
        }
      : undefined,
  };
}

/** RFC 8950 offered: as configured, else on for IPv6 sessions that carry ipv4. */
export function extendedNextHopWanted(p: Pick<PeerSettings, 'address' | 'families' | 'extendedNextHop'>): boolean {
  return p.extendedNextHop ?? (isIP(p.address) === 6 && p.families.includes('ipv4'));
}

/**
 * What changing a peer's config needs: nothing, a RIB-only update (policies, next-hop-self, ...; no
 * reset), or a session reset (Cease 6) because something the OPEN carries changed.
 */
export function peerChange(a: PeerSettings, b: PeerSettings): 'none' | 'rib' | 'reset' {
  const sessionKeys = [
    'asn',
    'port',
    'passive',
    'holdTime',
    'keepalive',
    'connectRetry',
    'delayOpen',
    'password',
    'ttlSecurity',
    'addPath',
    'families',
    'extendedMessages',
    'extendedNextHop',
    'gracefulRestart',
    'sourceAddress',
  ] as const;
  for (const k of sessionKeys) if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) return 'reset';
  const ribKeys = [
    'routeReflectorClient',
    'nextHopSelf',
    'allowasIn',
    'maxPrefix',
    'import',
    'export',
    'ipv6NextHop',
    'multihop',
  ] as const;
  for (const k of ribKeys) if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) return 'rib';
  return 'none';
}

/** The listen range an address falls in, if any (first match). IPv4 and IPv6. */
export function matchListenRange(c: SpeakerConfig, address: string): Readonly<ListenRangeConfig> | undefined {
  return c.listenRanges.find((r) => prefixTextContains(r.prefix, address));
}

/** The FIB's prefix filter (`fib.prefixes`, with ge/le); undefined = every prefix. */
export function fibAccept(c: SpeakerConfig): ((prefix: string) => boolean) | undefined {
  const ranges = c.fib.prefixes;
  if (!ranges || ranges.length === 0) return undefined;
  return (prefix) => {
    const [addr, lenText] = prefix.split('/');
    const len = Number(lenText);
    return ranges.some((r) => {
      const rl = Number(r.prefix.split('/')[1]);
      const max = r.prefix.includes(':') ? 128 : 32;
      const ge = r.ge ?? rl;
      const le = r.le ?? (r.ge !== undefined ? max : rl);
      return len >= ge && len <= le && prefixTextContains(r.prefix, addr!);
    });
  };
}

/** What the Rib originates for a configured `originate` entry or an advertise() request (empty lists left out). */
export function originateAttrs(a: {
  readonly nextHop?: string | undefined;
  readonly communities?: readonly string[];
  readonly largeCommunities?: readonly string[];
  readonly med?: number | undefined;
  readonly localPref?: number | undefined;
}): OriginateAttrs {
  return {
    ...(a.nextHop !== undefined && { nextHop: a.nextHop }),
    ...(a.communities && a.communities.length > 0 && { communities: a.communities }),
    ...(a.largeCommunities && a.largeCommunities.length > 0 && { largeCommunities: a.largeCommunities }),
    ...(a.med !== undefined && { med: a.med }),
    ...(a.localPref !== undefined && { localPref: a.localPref }),
  };
}
