import { InvariantError } from '../errors.js';

/**
 * Routes as Margay models them, and the pure code that turns `ip -N -j route show` JSON into them and
 * them into `ip route` arguments / `ip -batch` lines. No I/O here: the real RouteTable and its unit
 * tests share this code.
 */
export const ROUTE_TYPES = ['unicast', 'blackhole', 'unreachable', 'prohibit'] as const;
export type RouteType = (typeof ROUTE_TYPES)[number];
export const ROUTE_SCOPES = ['global', 'link', 'host'] as const;
export type RouteScope = (typeof ROUTE_SCOPES)[number];
export const MAIN_TABLE = 254;

export interface NextHop {
  readonly via: string;
  readonly dev?: string;
  /** 1..256 as `ip route ... nexthop ... weight N`; absent means 1. */
  readonly weight?: number;
}

export interface KernelRoute {
  /** Destination with its prefix length, as the kernel prints it: `10.0.0.0/26`, `10.0.0.5/32`, `fd00::/64`. */
  readonly dst: string;
  readonly table: number;
  readonly proto: number;
  /** Absent means unicast. */
  readonly type?: RouteType;
  readonly dev?: string;
  readonly via?: string;
  readonly scope?: RouteScope;
  readonly src?: string;
  readonly metric?: number;
  /** ECMP: two or more next hops. Exclusive with `via`/`dev`. */
  readonly nexthops?: readonly NextHop[];
}

/** What identifies a route to the kernel: table, destination and metric (plus our proto on delete). */
export interface RouteKey {
  readonly dst: string;
  readonly table: number;
  readonly proto: number;
  readonly metric?: number;
}

export type IpFamily = 4 | 6;

export function familyOf(dst: string): IpFamily {
  return dst.includes(':') ? 6 : 4;
}

/** `ip` prints host routes without a length and the default route as `default`; we never do. */
export function normalizeDst(dst: string, family: IpFamily): string {
  if (dst === 'default') return family === 4 ? '0.0.0.0/0' : '::/0';
  return dst.includes('/') ? dst : `${dst}/${family === 4 ? 32 : 128}`;
}

/** The metric the kernel gives a route that names none (IPv4 0, IPv6 1024). */
export function effectiveMetric(r: { readonly dst: string; readonly metric?: number }): number {
  return r.metric ?? (familyOf(r.dst) === 4 ? 0 : 1024);
}

/** Key under which `ip route replace` finds the route it overwrites. */
export function routeKeyString(r: { readonly dst: string; readonly table: number; readonly metric?: number }): string {
  return `${r.table}|${r.dst}|${effectiveMetric(r)}`;
}

const TYPE_NUMBERS: Record<string, string> = {
  '1': 'unicast',
  '2': 'local',
  '3': 'broadcast',
  '4': 'anycast',
  '5': 'multicast',
  '6': 'blackhole',
  '7': 'unreachable',
  '8': 'prohibit',
  '9': 'throw',
  '10': 'nat',
};
const SCOPE_NUMBERS: Record<string, string> = {
  '0': 'global',
  '200': 'site',
  '253': 'link',
  '254': 'host',
  '255': 'nowhere',
};
const TABLE_NAMES: Record<string, number> = { main: 254, local: 255, default: 253, unspec: 0 };
const PROTO_NAMES: Record<string, number> = {
  unspec: 0,
  redirect: 1,
  kernel: 2,
  boot: 3,
  static: 4,
  gated: 8,
  ra: 9,
  mrt: 10,
  zebra: 11,
  bird: 12,
  dnrouted: 13,
  xorp: 14,
  ntk: 15,
  dhcp: 16,
  keepalived: 18,
  babel: 42,
  openr: 99,
  bgp: 186,
  isis: 187,
  ospf: 188,
  rip: 189,
  eigrp: 192,
};

function num(v: unknown, names: Record<string, number>, fallback: number): number {
  if (v === undefined || v === null) return fallback;
  const s = String(v);
  if (/^\d+$/.test(s)) return Number(s);
  return names[s] ?? -1; // a name we do not know is never one of ours
}

/** A gateway of the other family (IPv4 route via an IPv6 next hop, RFC 5549/8950) comes as `via: {family, host}`. */
interface RawNextHop {
  gateway?: string;
  via?: { family?: string; host?: string };
  dev?: string;
  weight?: number;
}
interface RawRoute extends RawNextHop {
  type?: string;
  dst?: string;
  table?: string | number;
  protocol?: string | number;
  scope?: string | number;
  prefsrc?: string;
  metric?: number;
  nexthops?: RawNextHop[];
}

/**
 * Parses `ip [-N] -j route show ...` output of one family. Routes of types Margay never writes
 * (local, broadcast, multicast, ...) are left out. `defaultProto` fills in the protocol when the
 * command filtered on it (ip omits the field then).
 */
export function parseRoutes(json: string, family: IpFamily, defaultProto = -1): KernelRoute[] {
  const text = json.trim();
  if (text === '') return [];
  const raw = JSON.parse(text) as unknown;
  if (!Array.isArray(raw)) throw new InvariantError(`ip -j route: expected a JSON array, got ${text.slice(0, 80)}`);
  const out: KernelRoute[] = [];
  for (const r of raw as RawRoute[]) {
    const typeName = r.type === undefined ? 'unicast' : (TYPE_NUMBERS[String(r.type)] ?? String(r.type));
    if (!(ROUTE_TYPES as readonly string[]).includes(typeName) || r.dst === undefined) continue;
    const type = typeName as RouteType;
    const scopeName = r.scope === undefined ? undefined : (SCOPE_NUMBERS[String(r.scope)] ?? String(r.scope));
    const route: { -readonly [K in keyof KernelRoute]: KernelRoute[K] } = {
      dst: normalizeDst(r.dst, family),
      table: num(r.table, TABLE_NAMES, MAIN_TABLE),
      proto: num(r.protocol, PROTO_NAMES, defaultProto),
    };
    if (type !== 'unicast') route.type = type;
    if (r.nexthops && r.nexthops.length > 0) {
      route.nexthops = r.nexthops.map((h) => ({
        via: h.gateway ?? h.via?.host ?? '',
        ...(h.dev === undefined ? {} : { dev: h.dev }),
        ...(h.weight === undefined || h.weight === 1 ? {} : { weight: h.weight }),
      }));
    } else {
      // The kernel hangs IPv6 blackhole/unreachable routes on lo; that is not part of what we wrote.
      if (r.dev !== undefined && !(type !== 'unicast' && r.dev === 'lo')) route.dev = r.dev;
      const gw = r.gateway ?? r.via?.host;
      if (gw !== undefined) route.via = gw;
    }
    if (scopeName === 'link' || scopeName === 'host') route.scope = scopeName;
    if (r.prefsrc !== undefined) route.src = r.prefsrc;
    if (r.metric !== undefined && r.metric !== (family === 4 ? 0 : 1024)) route.metric = r.metric;
    out.push(route);
  }
  return out;
}

const TOKEN = /^[A-Za-z0-9_.:/@+-]+$/;

/** `via ADDR`, or `via inet6 ADDR` for an IPv6 gateway of an IPv4 route (which ip needs spelled out). */
function viaArgs(dst: string, via: string): string[] {
  return familyOf(dst) === 4 && via.includes(':') ? ['via', 'inet6', tok(via, 'via')] : ['via', tok(via, 'via')];
}

function tok(v: string | number, what: string): string {
  const s = String(v);
  if (!TOKEN.test(s)) throw new InvariantError(`route ${what} ${JSON.stringify(s)} is not a valid ip(8) token`);
  return s;
}

/** Arguments after `ip route replace`: usable as argv and, joined by spaces, as an `ip -batch` line. */
export function renderRouteArgs(r: KernelRoute): string[] {
  const a: string[] = [];
  if (r.type !== undefined && r.type !== 'unicast') a.push(r.type);
  a.push(tok(r.dst, 'dst'));
  if (r.nexthops && r.nexthops.length > 0) {
    if (r.via !== undefined || r.dev !== undefined)
      throw new InvariantError(`route ${r.dst}: nexthops exclude via/dev`);
  } else {
    if (r.via !== undefined) a.push(...viaArgs(r.dst, r.via));
    if (r.dev !== undefined) a.push('dev', tok(r.dev, 'dev'));
  }
  a.push('table', tok(r.table, 'table'), 'proto', tok(r.proto, 'proto'));
  if (r.scope !== undefined) a.push('scope', r.scope);
  if (r.src !== undefined) a.push('src', tok(r.src, 'src'));
  if (r.metric !== undefined) a.push('metric', tok(r.metric, 'metric'));
  for (const h of r.nexthops ?? []) {
    a.push('nexthop', ...viaArgs(r.dst, h.via));
    if (h.dev !== undefined) a.push('dev', tok(h.dev, 'dev'));
    if (h.weight !== undefined) a.push('weight', tok(h.weight, 'weight'));
  }
  return a;
}

/** Arguments after `ip route del`. The proto makes the kernel refuse to delete anyone else's route. */
export function renderRouteDeleteArgs(k: RouteKey): string[] {
  const a = [tok(k.dst, 'dst'), 'table', tok(k.table, 'table'), 'proto', tok(k.proto, 'proto')];
  if (k.metric !== undefined) a.push('metric', tok(k.metric, 'metric'));
  return a;
}

/**
 * The form `parseRoutes` reads back: no `type: 'unicast'`, no `scope: 'global'`, no default metric
 * (IPv4 0, IPv6 1024), no next-hop weight 1. Compare desired routes in this form with listed ones.
 */
export function canonicalRoute(r: KernelRoute): KernelRoute {
  const { type, scope, metric, nexthops, ...rest } = r;
  return {
    ...rest,
    ...(type === undefined || type === 'unicast' ? {} : { type }),
    ...(scope === undefined || scope === 'global' ? {} : { scope }),
    ...(metric === undefined || metric === effectiveMetric({ dst: r.dst }) ? {} : { metric }),
    ...(nexthops === undefined
      ? {}
      : {
          nexthops: nexthops.map(({ weight, ...h }) => (weight === undefined || weight === 1 ? h : { ...h, weight })),
        }),
  };
}

/** Two routes are equal when everything the kernel reports back is equal. */
export function sameRoute(a: KernelRoute, b: KernelRoute): boolean {
  return renderRouteArgs(canonicalRoute(a)).join(' ') === renderRouteArgs(canonicalRoute(b)).join(' ');
}
