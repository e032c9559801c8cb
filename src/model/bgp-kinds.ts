import * as v from 'valibot';
import { lazy } from './lazy.js';
import { MARGAY_API_VERSION } from './kinds.js';
import { AsNumber, BgpPassword, Cidr, DnsSubdomain, Duration, Ip, SelectorString } from './fields.js';
import { ObjectMetaSchema } from './metadata.js';
import { type IpFamily, parseIp } from './net.js';
import { int, parsedString, refined, strictObject } from './schema.js';

/**
 * margay.dev/v1 BGPConfiguration and BGPPeer, Calico v3 field names and defaults. The object named
 * `default` holds cluster-wide settings and gets Calico's defaults (mesh on, AS 64512, port 179,
 * log level Info); `node.<name>` objects override per node and may not set cluster-wide fields.
 */

export const DEFAULT_AS_NUMBER = 64512;
export const DEFAULT_BGP_PORT = 179;

const U16 = '(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})';
const U32 = '([0-9]{1,10})';
const STANDARD_COMMUNITY = new RegExp(`^${U16}:${U16}$`);
const LARGE_COMMUNITY = new RegExp(`^${U32}:${U32}:${U32}$`);

export function isCommunityValue(v: string): boolean {
  if (STANDARD_COMMUNITY.test(v)) return true;
  return LARGE_COMMUNITY.test(v) && v.split(':').every((p) => Number(p) <= 4_294_967_295);
}

const Community = lazy(() =>
  strictObject({
    name: DnsSubdomain(),
    value: v.pipe(v.string(), v.check(isCommunityValue, 'must be "aa:nn" (16-bit parts) or "aa:nn:mm" (32-bit parts)')),
  }),
);

const CidrBlock = lazy(() => strictObject({ cidr: Cidr() }));

/** Fields only the cluster-wide `default` BGPConfiguration may set. */
const CLUSTER_ONLY = [
  'nodeToNodeMeshEnabled',
  'asNumber',
  'serviceClusterIPs',
  'serviceExternalIPs',
  'serviceLoadBalancerIPs',
  'nodeMeshPassword',
  'nodeMeshMaxRestartTime',
] as const;

const BGPConfigurationSpec = lazy(() =>
  refined(
    strictObject({
      logSeverityScreen: v.optional(v.picklist(['Debug', 'Info', 'Warning', 'Error', 'Fatal'])),
      nodeToNodeMeshEnabled: v.optional(v.boolean()),
      asNumber: v.optional(AsNumber()),
      serviceClusterIPs: v.optional(v.array(CidrBlock())),
      serviceExternalIPs: v.optional(v.array(CidrBlock())),
      serviceLoadBalancerIPs: v.optional(v.array(CidrBlock())),
      listenPort: v.optional(int(1, 65_535)),
      bindMode: v.optional(v.picklist(['None', 'NodeIP'])),
      communities: v.optional(v.array(Community())),
      prefixAdvertisements: v.optional(
        v.array(strictObject({ cidr: Cidr(), communities: v.pipe(v.array(v.string()), v.minLength(1)) })),
      ),
      nodeMeshPassword: v.optional(BgpPassword()),
      nodeMeshMaxRestartTime: v.optional(Duration()),
      ignoredInterfaces: v.optional(v.array(v.pipe(v.string(), v.minLength(1)))),
    }),
    (s, add) => {
      const names = new Set((s.communities ?? []).map((c) => c.name));
      s.prefixAdvertisements?.forEach((pa, i) =>
        pa.communities.forEach((c, j) => {
          if (!names.has(c) && !isCommunityValue(c)) {
            add(
              ['prefixAdvertisements', i, 'communities', j],
              `${JSON.stringify(c)} is neither a community defined in spec.communities nor a community value`,
            );
          }
        }),
      );
    },
  ),
);

export const BGPConfigurationSchema = lazy(() =>
  v.pipe(
    refined(
      strictObject({
        apiVersion: v.literal(MARGAY_API_VERSION),
        kind: v.literal('BGPConfiguration'),
        metadata: ObjectMetaSchema(),
        spec: v.optional(BGPConfigurationSpec(), () => ({})),
      }),
      (o, add) => {
        const name = o.metadata.name;
        if (name !== 'default' && !name.startsWith('node.')) {
          add(['metadata', 'name'], 'must be "default" or "node.<node name>"');
        }
        if (name === 'default') return;
        for (const f of CLUSTER_ONLY) {
          if (o.spec[f] !== undefined) add(['spec', f], 'can only be set on the BGPConfiguration named "default"');
        }
      },
    ),
    v.transform((o) =>
      o.metadata.name !== 'default'
        ? o
        : {
            ...o,
            spec: {
              ...o.spec,
              logSeverityScreen: o.spec.logSeverityScreen ?? 'Info',
              nodeToNodeMeshEnabled: o.spec.nodeToNodeMeshEnabled ?? true,
              asNumber: o.spec.asNumber ?? DEFAULT_AS_NUMBER,
              listenPort: o.spec.listenPort ?? DEFAULT_BGP_PORT,
            },
          },
    ),
  ),
);

/** A peer address with optional port: `10.0.0.1`, `10.0.0.1:1179`, `fd00::1`, `[fd00::1]:1179`. */
export function parsePeerIp(s: string): { ip: string; family: IpFamily; port?: number } | undefined {
  const bracket = /^\[([^\]]+)\](?::([0-9]{1,5}))?$/.exec(s);
  const v4port = /^([0-9.]+):([0-9]{1,5})$/.exec(s);
  const [host, portText] = bracket ? [bracket[1]!, bracket[2]] : v4port ? [v4port[1]!, v4port[2]] : [s, undefined];
  const ip = parseIp(host);
  if (!ip || (bracket && ip.family !== 'ipv6')) return undefined;
  if (portText === undefined) return { ip: ip.address, family: ip.family };
  const port = Number(portText);
  if (port < 1 || port > 65_535) return undefined;
  return { ip: ip.address, family: ip.family, port };
}

const PeerIp = lazy(() =>
  parsedString(
    (s) => {
      const p = parsePeerIp(s);
      if (!p) return undefined;
      if (p.port === undefined) return p.ip;
      return p.family === 'ipv4' ? `${p.ip}:${p.port}` : `[${p.ip}]:${p.port}`;
    },
    (s) => `${JSON.stringify(s)} is not an IP address with optional port ("10.0.0.1", "10.0.0.1:179", "[fd00::1]:179")`,
  ),
);

const BGPPeerSpec = lazy(() =>
  refined(
    strictObject({
      node: v.optional(DnsSubdomain()),
      nodeSelector: v.optional(SelectorString()),
      peerIP: v.optional(PeerIp()),
      asNumber: v.optional(AsNumber()),
      peerSelector: v.optional(SelectorString()),
      keepOriginalNextHop: v.optional(v.boolean(), false),
      /** Calico 3.30: Auto (default: next-hop-self toward eBGP, kept toward iBGP), Self, or Keep. */
      nextHopMode: v.optional(v.picklist(['Auto', 'Self', 'Keep'])),
      password: v.optional(BgpPassword()),
      sourceAddress: v.optional(v.picklist(['UseNodeIP', 'None']), 'UseNodeIP'),
      maxRestartTime: v.optional(Duration()),
      numAllowedLocalASNumbers: v.optional(int(0)),
      ttlSecurity: v.optional(int(0, 255)),
      reachableBy: v.optional(Ip()),
      filters: v.optional(v.array(DnsSubdomain())),
    }),
    (s, addIssue) => {
      const add = (path: string, message: string): void => addIssue([path], message);
      if (s.node !== undefined && s.nodeSelector !== undefined) add('nodeSelector', 'cannot be set together with node');
      if (s.peerSelector !== undefined) {
        if (s.peerIP !== undefined) add('peerIP', 'cannot be set together with peerSelector');
        if (s.asNumber !== undefined)
          add('asNumber', "cannot be set together with peerSelector (the remote nodes' AS numbers are used)");
      } else if (s.peerIP === undefined) {
        add('peerIP', 'either peerIP (with asNumber) or peerSelector is required');
      } else if (s.asNumber === undefined) {
        add('asNumber', 'is required with peerIP');
      }
      if (s.nextHopMode !== undefined && s.keepOriginalNextHop && s.nextHopMode !== 'Keep')
        add('nextHopMode', 'conflicts with keepOriginalNextHop: true (use nextHopMode: Keep alone)');
      if (s.reachableBy !== undefined && s.peerIP !== undefined) {
        const peer = parsePeerIp(s.peerIP)!;
        if (parseIp(s.reachableBy)!.family !== peer.family) add('reachableBy', 'must be the same IP family as peerIP');
      }
    },
  ),
);

export const BGPPeerSchema = lazy(() =>
  strictObject({
    apiVersion: v.literal(MARGAY_API_VERSION),
    kind: v.literal('BGPPeer'),
    metadata: ObjectMetaSchema(),
    spec: BGPPeerSpec(),
  }),
);
