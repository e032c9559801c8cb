/**
 * margay-bgpd configuration: the YAML file, validated once at the edge (valibot), then frozen and passed
 * down as Readonly. Every error names the field (`peers[1].holdTime: must be 0 or ≥ 3`).
 *
 * Shape (all keys camelCase; see docs/bgp.md for a full example):
 *   routerId, asn (plain or asdot "1.10"), listen { addresses, port }, peers[], listenRanges[],
 *   originate[], policies{name → policy}, routeReflector { clusterId }, ebgpRequiresPolicy (RFC 8212,
 *   default true), multipath { maxPaths }, gracefulRestart { restartTime, stalePathTime },
 *   fib { enabled, table, routes }, control { socket }.
 */
import { isIP } from 'node:net';
import * as v from 'valibot';
import { ConfigError } from '../src/errors.js';
import {
  formatIssues,
  isCidr,
  issueMessage,
  type PathKey,
  type PlainIssue,
  plainIssues,
  strictObject,
} from './schema.js';

const ASN_MAX = 4_294_967_295;
const AS_NUMBER = `not an AS number (1..${ASN_MAX}, or asdot like 1.10)`;

/** Parses an ASN given as a number, a decimal string or asdot ("1.10" = 1·65536 + 10). */
export function parseAsn(value: number | string): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 1 && value <= ASN_MAX ? value : undefined;
  const dot = /^(\d{1,5})\.(\d{1,5})$/.exec(value);
  if (dot) {
    const hi = Number(dot[1]);
    const lo = Number(dot[2]);
    if (hi > 65_535 || lo > 65_535) return undefined;
    const asn = hi * 65_536 + lo;
    return asn >= 1 ? asn : undefined;
  }
  if (/^\d+$/.test(value)) return parseAsn(Number(value));
  return undefined;
}

// Dotted quad without leading zeros (as zod's ipv4).
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]\d|\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]\d|\d)$/;

const int = (min: number, max: number) => v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max));

const Asn = v.pipe(
  v.union([v.number(), v.string()], AS_NUMBER),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const asn = parseAsn(dataset.value);
    if (asn === undefined) {
      addIssue({ message: AS_NUMBER });
      return NEVER;
    }
    return asn;
  }),
);
const PeerAsn = v.union(
  [v.literal('internal'), v.literal('external'), Asn],
  `must be internal, external or an AS number (1..${ASN_MAX}, or asdot like 1.10)`,
);

const IpAddress = v.pipe(
  v.string(),
  v.check((s) => isIP(s) !== 0, 'must be an IPv4 or IPv6 address'),
);
const Ipv4 = v.pipe(v.string(), v.regex(IPV4, 'must be an IPv4 address'));
const CIDR = 'must be a CIDR like 10.0.0.0/24 or 2001:db8::/32';
const Cidr = v.pipe(v.string(CIDR), v.check(isCidr, CIDR));
const HoldTime = v.pipe(
  int(0, 65_535),
  v.check((n) => n === 0 || n >= 3, 'must be 0 or ≥ 3 (RFC 4271 §4.2)'),
);
const Family = v.picklist(['ipv4', 'ipv6']);
const Community = v.pipe(
  v.string(),
  v.regex(/^\d{1,5}:\d{1,5}$/, 'must be a community like 65000:100'),
  v.check((s) => s.split(':').every((p) => Number(p) <= 65_535), 'each half must be ≤ 65535'),
);
const LargeCommunity = v.pipe(
  v.string(),
  v.regex(/^\d{1,10}:\d{1,10}:\d{1,10}$/, 'must be a large community like 65000:1:2'),
  v.check((s) => s.split(':').every((p) => Number(p) <= ASN_MAX), 'each part must be ≤ 4294967295'),
);

export const PrefixMatch = v.pipe(
  strictObject({
    prefix: Cidr,
    ge: v.optional(int(0, 128)),
    le: v.optional(int(0, 128)),
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const m = dataset.value;
    const len = Number(m.prefix.split('/')[1]);
    const max = m.prefix.includes(':') ? 128 : 32;
    const ge = m.ge ?? len;
    const le = m.le ?? (m.ge !== undefined ? max : len);
    const at = (key: 'ge' | 'le', message: string): void =>
      addIssue({ message, path: [{ type: 'object', origin: 'value', input: m, key, value: m[key] }] });
    if (ge < len) at('ge', `must be ≥ the prefix length ${len}`);
    if (le > max) at('le', `must be ≤ ${max}`);
    if (ge > le) at('le', 'must be ≥ ge');
  }),
);

export const PolicyMatch = strictObject({
  /** Any of these prefix ranges. */
  prefixes: v.optional(v.array(PrefixMatch)),
  /** The route carries any of these communities. */
  communities: v.optional(v.array(Community)),
  largeCommunities: v.optional(v.array(LargeCommunity)),
  /** The AS_PATH contains any of these ASNs. */
  asPathContains: v.optional(v.array(Asn)),
  /** The originating (last) AS is one of these. */
  originAs: v.optional(v.array(Asn)),
  asPathMaxLength: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
  family: v.optional(Family),
});

export const PolicySet = strictObject({
  localPref: v.optional(int(0, ASN_MAX)),
  med: v.optional(int(0, ASN_MAX)),
  addCommunities: v.optional(v.array(Community)),
  removeCommunities: v.optional(v.array(Community)),
  addLargeCommunities: v.optional(v.array(LargeCommunity)),
  nextHop: v.optional(v.union([v.literal('self'), IpAddress], 'must be "self" or an IPv4 or IPv6 address')),
  asPathPrepend: v.optional(int(1, 16)),
});

export const PolicyRule = strictObject({
  match: v.optional(PolicyMatch, {}),
  action: v.optional(v.picklist(['accept', 'reject', 'next']), 'accept'),
  set: v.optional(PolicySet),
});

export const Policy = strictObject({
  rules: v.optional(v.array(PolicyRule), []),
  defaultAction: v.optional(v.picklist(['accept', 'reject']), 'reject'),
});

/** Names that would be dropped from (or change the prototype of) a plain object: never a policy name. */
const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const PolicyMap = v.pipe(
  v.unknown(),
  v.check((x: unknown) => !Array.isArray(x), 'expected an object, received array'),
  v.rawCheck(({ dataset, addIssue }) => {
    const raw = dataset.value;
    if (raw === null || typeof raw !== 'object') return;
    for (const key of Object.keys(raw)) {
      if (RESERVED_KEYS.has(key)) {
        const input = raw as Record<string, unknown>;
        const path: [v.IssuePathItem] = [{ type: 'object', origin: 'key', input, key, value: input[key] }];
        addIssue({ message: 'reserved name, not a policy name', path });
      }
    }
  }),
  v.record(v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]+$/, 'policy names use [A-Za-z0-9_.-]')), Policy),
);

const MaxPrefix = strictObject({
  limit: v.pipe(v.number(), v.integer(), v.minValue(1)),
  /** restart: Cease 1, then reconnect after restartSeconds; shutdown: Cease 1 and stay down; warn: log only. */
  action: v.optional(v.picklist(['restart', 'shutdown', 'warn']), 'restart'),
  restartSeconds: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 60),
});

const GracefulRestartPeer = strictObject({
  enabled: v.optional(v.boolean(), true),
  restartTime: v.optional(int(1, 4095), 120),
});

const PeerBase = {
  port: v.optional(int(1, 65_535), 179),
  passive: v.optional(v.boolean(), false),
  holdTime: v.optional(HoldTime, 90),
  keepalive: v.optional(int(0, 21_845)),
  connectRetry: v.optional(int(1, 3600), 30),
  delayOpen: v.optional(int(0, 240), 0),
  password: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(80))),
  ttlSecurity: v.optional(int(1, 254)),
  routeReflectorClient: v.optional(v.boolean(), false),
  nextHopSelf: v.optional(v.boolean(), false),
  allowasIn: v.optional(int(0, 10), 0),
  maxPrefix: v.optional(MaxPrefix),
  addPath: v.optional(v.picklist(['none', 'receive', 'send', 'both']), 'none'),
  gracefulRestart: v.optional(GracefulRestartPeer, { enabled: true, restartTime: 120 }),
  families: v.optional(v.pipe(v.array(Family), v.minLength(1)), ['ipv4']),
  extendedMessages: v.optional(v.boolean(), true),
  /**
   * RFC 8950: offer IPv4 unicast routes with IPv6 next hops (Extended Next Hop capability, like FRR's
   * `capability extended-nexthop`). Default: on for IPv6 sessions that carry ipv4.
   */
  extendedNextHop: v.optional(v.boolean()),
  /**
   * eBGP peer not directly connected: its NEXT_HOPs need not be on the session interface's subnets.
   * Default: multihop when the peer's address is on none of them, or ttlSecurity > 1.
   */
  multihop: v.optional(v.boolean()),
  /** Name of the import / export policy (see `policies`). */
  import: v.optional(v.string()),
  export: v.optional(v.string()),
  sourceAddress: v.optional(IpAddress),
  /** Our IPv6 address announced as next hop for IPv6 routes on an IPv4 session (next-hop-self). */
  ipv6NextHop: v.optional(
    v.pipe(
      v.string(),
      v.check((s) => isIP(s) === 6, 'must be an IPv6 address'),
    ),
  ),
  description: v.optional(v.pipe(v.string(), v.maxLength(200))),
};

export const PeerConfig = strictObject({
  address: IpAddress,
  /** A number/asdot, or 'internal' (= our ASN) / 'external' (any other ASN). */
  asn: PeerAsn,
  ...PeerBase,
});

export const ListenRange = strictObject({
  prefix: Cidr,
  asn: PeerAsn,
  ...PeerBase,
  passive: v.optional(v.literal(true), true),
});

export const OriginatedRoute = strictObject({
  prefix: Cidr,
  nextHop: v.optional(IpAddress),
  origin: v.optional(v.picklist(['igp', 'egp', 'incomplete']), 'igp'),
  med: v.optional(int(0, ASN_MAX)),
  localPref: v.optional(int(0, ASN_MAX)),
  communities: v.optional(v.array(Community), []),
  largeCommunities: v.optional(v.array(LargeCommunity), []),
});
const Originations = v.optional(v.array(OriginatedRoute), []);

/**
 * The whole file. Cross-field rules (duplicate peers, policy references, keepalive vs hold time, RR
 * clients) are in `crossFieldIssues`, run once every field has the right type (as zod's superRefine).
 */
export const BgpdConfig = strictObject({
  routerId: Ipv4,
  asn: Asn,
  listen: v.optional(
    strictObject({
      addresses: v.optional(v.array(IpAddress), ['0.0.0.0']),
      port: v.optional(int(0, 65_535), 179),
    }),
    { addresses: ['0.0.0.0'], port: 179 },
  ),
  peers: v.optional(v.pipe(v.array(PeerConfig), v.maxLength(4096)), []),
  listenRanges: v.optional(v.pipe(v.array(ListenRange), v.maxLength(256)), []),
  originate: Originations,
  policies: v.optional(PolicyMap, {}),
  routeReflector: v.optional(strictObject({ clusterId: v.optional(Ipv4) })),
  ebgpRequiresPolicy: v.optional(v.boolean(), true),
  multipath: v.optional(strictObject({ maxPaths: v.optional(int(1, 64), 1) }), { maxPaths: 1 }),
  gracefulRestart: v.optional(
    strictObject({
      restartTime: v.optional(int(1, 4095), 120),
      stalePathTime: v.optional(int(1, 3600), 360),
    }),
    { restartTime: 120, stalePathTime: 360 },
  ),
  fib: v.optional(
    strictObject({
      enabled: v.optional(v.boolean(), false),
      table: v.optional(int(1, 4_294_967_295), 254),
      /** Which learned best paths go into the kernel: those matching any entry (all when absent). */
      prefixes: v.optional(v.array(PrefixMatch)),
      batchSize: v.optional(int(1, 200_000), 50_000),
    }),
    { enabled: false, table: 254, batchSize: 50_000 },
  ),
  control: v.optional(
    strictObject({ socket: v.optional(v.pipe(v.string(), v.minLength(1)), '/run/margay/bgpd.sock') }),
    {
      socket: '/run/margay/bgpd.sock',
    },
  ),
});

export type BgpdConfig = v.InferOutput<typeof BgpdConfig>;
export type PeerConfig = v.InferOutput<typeof PeerConfig>;
export type ListenRangeConfig = v.InferOutput<typeof ListenRange>;
export type OriginatedRouteConfig = v.InferOutput<typeof OriginatedRoute>;
export type PolicyConfig = v.InferOutput<typeof Policy>;
export type PolicyRuleConfig = v.InferOutput<typeof PolicyRule>;

/** The rules that span fields; `c` has every field typed. */
function crossFieldIssues(c: BgpdConfig): PlainIssue[] {
  const out: PlainIssue[] = [];
  const names = new Set(Object.keys(c.policies));
  const seen = new Set<string>();
  const checkRef = (path: PathKey[], ref: string | undefined): void => {
    if (ref !== undefined && !names.has(ref)) out.push({ path, message: `unknown policy "${ref}"` });
  };
  c.peers.forEach((p, i) => {
    const key = p.address.toLowerCase();
    if (seen.has(key)) out.push({ path: ['peers', i, 'address'], message: 'duplicate peer' });
    seen.add(key);
    checkRef(['peers', i, 'import'], p.import);
    checkRef(['peers', i, 'export'], p.export);
    if (p.keepalive !== undefined && p.holdTime !== 0 && p.keepalive * 3 > p.holdTime) {
      out.push({ path: ['peers', i, 'keepalive'], message: 'must be ≤ holdTime / 3' });
    }
    if (p.routeReflectorClient && p.asn !== 'internal' && p.asn !== c.asn) {
      out.push({ path: ['peers', i, 'routeReflectorClient'], message: 'only iBGP peers can be clients' });
    }
  });
  c.listenRanges.forEach((r, i) => {
    checkRef(['listenRanges', i, 'import'], r.import);
    checkRef(['listenRanges', i, 'export'], r.export);
  });
  return out;
}

const PARSE_CONFIG = { message: issueMessage } as const;

/** Validates a parsed document; throws ConfigError naming every bad field. Result is deep-frozen. */
export function validateBgpdConfig(raw: unknown, source = 'margay-bgpd config'): Readonly<BgpdConfig> {
  const r = v.safeParse(BgpdConfig, raw, PARSE_CONFIG);
  const issues = r.issues ? plainIssues(r.issues) : [];
  // Like zod's superRefine: the cross-field rules run when every field has its type, even if some
  // failed a range check, so one pass reports both kinds.
  if (r.typed) issues.push(...crossFieldIssues(r.output));
  if (issues.length > 0) throw new ConfigError(source, formatIssues(issues, 'brackets', '(root)'));
  return deepFreeze(r.output as BgpdConfig);
}

/**
 * Validates the `originate` list alone (the agent applies new originations before the whole config:
 * agent/bgp/speaker-host.ts). Same rules and messages as that part of `validateBgpdConfig`.
 */
export function parseOriginate(
  raw: unknown,
):
  | { readonly success: true; readonly data: OriginatedRouteConfig[] }
  | { readonly success: false; readonly error: string } {
  const r = v.safeParse(Originations, raw, PARSE_CONFIG);
  return r.success
    ? { success: true, data: r.output }
    : {
        success: false,
        error: formatIssues(
          plainIssues(r.issues).map((i) => ({ path: ['originate', ...i.path], message: i.message })),
          'brackets',
          'originate',
        ),
      };
}

export function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
}

/** A peer config with the secret removed, for logs and the control API. */
export function redactPeer<T extends { password?: string | undefined }>(p: T): T {
  return p.password === undefined ? p : { ...p, password: '[redacted]' };
}
