/**
 * margay-bgpd configuration: the YAML file, validated once at the edge (zod 4), then frozen and passed
 * down as Readonly. Every error names the field (`peers[1].holdTime: must be 0 or ≥ 3`).
 *
 * Shape (all keys camelCase; see docs/bgp.md for a full example):
 *   routerId, asn (plain or asdot "1.10"), listen { addresses, port }, peers[], listenRanges[],
 *   originate[], policies{name → policy}, routeReflector { clusterId }, ebgpRequiresPolicy (RFC 8212,
 *   default true), multipath { maxPaths }, gracefulRestart { restartTime, stalePathTime },
 *   fib { enabled, table, routes }, control { socket }.
 */
import { isIP } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../src/errors.js';

const ASN_MAX = 4_294_967_295;

/** Parses an ASN given as a number, a decimal string or asdot ("1.10" = 1·65536 + 10). */
export function parseAsn(v: number | string): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 1 && v <= ASN_MAX ? v : undefined;
  const dot = /^(\d{1,5})\.(\d{1,5})$/.exec(v);
  if (dot) {
    const hi = Number(dot[1]);
    const lo = Number(dot[2]);
    if (hi > 65_535 || lo > 65_535) return undefined;
    const asn = hi * 65_536 + lo;
    return asn >= 1 ? asn : undefined;
  }
  if (/^\d+$/.test(v)) return parseAsn(Number(v));
  return undefined;
}

const Asn = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const asn = parseAsn(v);
  if (asn === undefined) {
    ctx.addIssue({ code: 'custom', message: `not an AS number (1..${ASN_MAX}, or asdot like 1.10)` });
    return z.NEVER;
  }
  return asn;
});

const IpAddress = z.string().refine((v) => isIP(v) !== 0, 'must be an IPv4 or IPv6 address');
const Cidr = z.union([z.cidrv4(), z.cidrv6()], { error: 'must be a CIDR like 10.0.0.0/24 or 2001:db8::/32' });
const HoldTime = z
  .number()
  .int()
  .min(0)
  .max(65_535)
  .refine((v) => v === 0 || v >= 3, 'must be 0 or ≥ 3 (RFC 4271 §4.2)');
const Family = z.enum(['ipv4', 'ipv6']);
const Community = z
  .string()
  .regex(/^\d{1,5}:\d{1,5}$/, 'must be a community like 65000:100')
  .refine((v) => v.split(':').every((p) => Number(p) <= 65_535), 'each half must be ≤ 65535');
const LargeCommunity = z
  .string()
  .regex(/^\d{1,10}:\d{1,10}:\d{1,10}$/, 'must be a large community like 65000:1:2')
  .refine((v) => v.split(':').every((p) => Number(p) <= ASN_MAX), 'each part must be ≤ 4294967295');

export const PrefixMatch = z
  .strictObject({
    prefix: Cidr,
    ge: z.number().int().min(0).max(128).optional(),
    le: z.number().int().min(0).max(128).optional(),
  })
  .superRefine((m, ctx) => {
    const len = Number(m.prefix.split('/')[1]);
    const max = m.prefix.includes(':') ? 128 : 32;
    const ge = m.ge ?? len;
    const le = m.le ?? (m.ge !== undefined ? max : len);
    if (ge < len) ctx.addIssue({ code: 'custom', path: ['ge'], message: `must be ≥ the prefix length ${len}` });
    if (le > max) ctx.addIssue({ code: 'custom', path: ['le'], message: `must be ≤ ${max}` });
    if (ge > le) ctx.addIssue({ code: 'custom', path: ['le'], message: 'must be ≥ ge' });
  });

export const PolicyMatch = z.strictObject({
  /** Any of these prefix ranges. */
  prefixes: z.array(PrefixMatch).optional(),
  /** The route carries any of these communities. */
  communities: z.array(Community).optional(),
  largeCommunities: z.array(LargeCommunity).optional(),
  /** The AS_PATH contains any of these ASNs. */
  asPathContains: z.array(Asn).optional(),
  /** The originating (last) AS is one of these. */
  originAs: z.array(Asn).optional(),
  asPathMaxLength: z.number().int().min(0).optional(),
  family: Family.optional(),
});

export const PolicySet = z.strictObject({
  localPref: z.number().int().min(0).max(ASN_MAX).optional(),
  med: z.number().int().min(0).max(ASN_MAX).optional(),
  addCommunities: z.array(Community).optional(),
  removeCommunities: z.array(Community).optional(),
  addLargeCommunities: z.array(LargeCommunity).optional(),
  nextHop: z.union([z.literal('self'), IpAddress]).optional(),
  asPathPrepend: z.number().int().min(1).max(16).optional(),
});

export const PolicyRule = z.strictObject({
  match: PolicyMatch.default({}),
  action: z.enum(['accept', 'reject', 'next']).default('accept'),
  set: PolicySet.optional(),
});

export const Policy = z.strictObject({
  rules: z.array(PolicyRule).default([]),
  defaultAction: z.enum(['accept', 'reject']).default('reject'),
});

const MaxPrefix = z.strictObject({
  limit: z.number().int().min(1),
  /** restart: Cease 1, then reconnect after restartSeconds; shutdown: Cease 1 and stay down; warn: log only. */
  action: z.enum(['restart', 'shutdown', 'warn']).default('restart'),
  restartSeconds: z.number().int().min(1).default(60),
});

const GracefulRestartPeer = z.strictObject({
  enabled: z.boolean().default(true),
  restartTime: z.number().int().min(1).max(4095).default(120),
});

const PeerBase = {
  port: z.number().int().min(1).max(65_535).default(179),
  passive: z.boolean().default(false),
  holdTime: HoldTime.default(90),
  keepalive: z.number().int().min(0).max(21_845).optional(),
  connectRetry: z.number().int().min(1).max(3600).default(30),
  delayOpen: z.number().int().min(0).max(240).default(0),
  password: z.string().min(1).max(80).optional(),
  ttlSecurity: z.number().int().min(1).max(254).optional(),
  routeReflectorClient: z.boolean().default(false),
  nextHopSelf: z.boolean().default(false),
  allowasIn: z.number().int().min(0).max(10).default(0),
  maxPrefix: MaxPrefix.optional(),
  addPath: z.enum(['none', 'receive', 'send', 'both']).default('none'),
  gracefulRestart: GracefulRestartPeer.default({ enabled: true, restartTime: 120 }),
  families: z.array(Family).min(1).default(['ipv4']),
  extendedMessages: z.boolean().default(true),
  /**
   * RFC 8950: offer IPv4 unicast routes with IPv6 next hops (Extended Next Hop capability, like FRR's
   * `capability extended-nexthop`). Default: on for IPv6 sessions that carry ipv4.
   */
  extendedNextHop: z.boolean().optional(),
  /**
   * eBGP peer not directly connected: its NEXT_HOPs need not be on the session interface's subnets.
   * Default: multihop when the peer's address is on none of them, or ttlSecurity > 1.
   */
  multihop: z.boolean().optional(),
  /** Name of the import / export policy (see `policies`). */
  import: z.string().optional(),
  export: z.string().optional(),
  sourceAddress: IpAddress.optional(),
  /** Our IPv6 address announced as next hop for IPv6 routes on an IPv4 session (next-hop-self). */
  ipv6NextHop: z
    .string()
    .refine((v) => isIP(v) === 6, 'must be an IPv6 address')
    .optional(),
  description: z.string().max(200).optional(),
};

export const PeerConfig = z.strictObject({
  address: IpAddress,
  /** A number/asdot, or 'internal' (= our ASN) / 'external' (any other ASN). */
  asn: z.union([z.literal('internal'), z.literal('external'), Asn]),
  ...PeerBase,
});

export const ListenRange = z.strictObject({
  prefix: Cidr,
  asn: z.union([z.literal('internal'), z.literal('external'), Asn]),
  ...PeerBase,
  passive: z.literal(true).default(true),
});

export const OriginatedRoute = z.strictObject({
  prefix: Cidr,
  nextHop: IpAddress.optional(),
  origin: z.enum(['igp', 'egp', 'incomplete']).default('igp'),
  med: z.number().int().min(0).max(ASN_MAX).optional(),
  localPref: z.number().int().min(0).max(ASN_MAX).optional(),
  communities: z.array(Community).default([]),
  largeCommunities: z.array(LargeCommunity).default([]),
});

export const BgpdConfig = z
  .strictObject({
    routerId: z.ipv4(),
    asn: Asn,
    listen: z
      .strictObject({
        addresses: z.array(IpAddress).default(['0.0.0.0']),
        port: z.number().int().min(0).max(65_535).default(179),
      })
      .default({ addresses: ['0.0.0.0'], port: 179 }),
    peers: z.array(PeerConfig).max(4096).default([]),
    listenRanges: z.array(ListenRange).max(256).default([]),
    originate: z.array(OriginatedRoute).default([]),
    policies: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'policy names use [A-Za-z0-9_.-]'), Policy).default({}),
    routeReflector: z.strictObject({ clusterId: z.ipv4().optional() }).optional(),
    ebgpRequiresPolicy: z.boolean().default(true),
    multipath: z.strictObject({ maxPaths: z.number().int().min(1).max(64).default(1) }).default({ maxPaths: 1 }),
    gracefulRestart: z
      .strictObject({
        restartTime: z.number().int().min(1).max(4095).default(120),
        stalePathTime: z.number().int().min(1).max(3600).default(360),
      })
      .default({ restartTime: 120, stalePathTime: 360 }),
    fib: z
      .strictObject({
        enabled: z.boolean().default(false),
        table: z.number().int().min(1).max(4_294_967_295).default(254),
        /** Which learned best paths go into the kernel: those matching any entry (all when absent). */
        prefixes: z.array(PrefixMatch).optional(),
        batchSize: z.number().int().min(1).max(200_000).default(50_000),
      })
      .default({ enabled: false, table: 254, batchSize: 50_000 }),
    control: z
      .strictObject({ socket: z.string().min(1).default('/run/margay/bgpd.sock') })
      .default({ socket: '/run/margay/bgpd.sock' }),
  })
  .superRefine((c, ctx) => {
    const names = new Set(Object.keys(c.policies));
    const seen = new Set<string>();
    const checkRefs = (path: (string | number)[], ref: string | undefined): void => {
      if (ref !== undefined && !names.has(ref))
        ctx.addIssue({ code: 'custom', path, message: `unknown policy "${ref}"` });
    };
    c.peers.forEach((p, i) => {
      const key = `${p.address.toLowerCase()}`;
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: ['peers', i, 'address'], message: 'duplicate peer' });
      seen.add(key);
      checkRefs(['peers', i, 'import'], p.import);
      checkRefs(['peers', i, 'export'], p.export);
      if (p.keepalive !== undefined && p.holdTime !== 0 && p.keepalive * 3 > p.holdTime) {
        ctx.addIssue({ code: 'custom', path: ['peers', i, 'keepalive'], message: 'must be ≤ holdTime / 3' });
      }
      if (p.routeReflectorClient && p.asn !== 'internal' && p.asn !== c.asn) {
        ctx.addIssue({
          code: 'custom',
          path: ['peers', i, 'routeReflectorClient'],
          message: 'only iBGP peers can be clients',
        });
      }
    });
    c.listenRanges.forEach((r, i) => {
      checkRefs(['listenRanges', i, 'import'], r.import);
      checkRefs(['listenRanges', i, 'export'], r.export);
    });
  });

export type BgpdConfig = z.infer<typeof BgpdConfig>;
export type PeerConfig = z.infer<typeof PeerConfig>;
export type ListenRangeConfig = z.infer<typeof ListenRange>;
export type OriginatedRouteConfig = z.infer<typeof OriginatedRoute>;
export type PolicyConfig = z.infer<typeof Policy>;
export type PolicyRuleConfig = z.infer<typeof PolicyRule>;

/** `peers[1].holdTime` from zod's path. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out || '(root)';
}

/** Validates a parsed document; throws ConfigError naming every bad field. Result is deep-frozen. */
export function validateBgpdConfig(raw: unknown, source = 'margay-bgpd config'): Readonly<BgpdConfig> {
  const r = BgpdConfig.safeParse(raw);
  if (!r.success) {
    const detail = r.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`).join('; ');
    throw new ConfigError(source, detail);
  }
  return deepFreeze(r.data);
}

/** Parses YAML text then validates it. YAML syntax errors become ConfigError with the line. */
export function parseBgpdConfig(text: string, source = 'margay-bgpd config'): Readonly<BgpdConfig> {
  let doc: unknown;
  try {
    doc = parseYaml(text, { prettyErrors: true });
  } catch (err) {
    throw new ConfigError(source, `YAML: ${(err as Error).message}`, { cause: err });
  }
  return validateBgpdConfig(doc ?? {}, source);
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
