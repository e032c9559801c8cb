import { InvariantError } from '../errors.js';
import { parseAddressBytes } from '../net/index.js';
import { familyOf, type KernelRoute, type RouteKey } from './route-format.js';

/**
 * rtnetlink route requests (RTM_NEWROUTE / RTM_DELROUTE), built byte for byte as `ip route add |
 * replace | del` builds them (iproute2 ip/iproute.c, iproute_modify), so a route written either way
 * is the same route: the same flags, the same default scope, the table as a byte or as RTA_TABLE.
 * Pure: no I/O; netlink.ts sends what this builds. The differential test writes every form through
 * both and compares what the kernel lists (test/kernel/netlink-routes.int.test.ts).
 */
export type RouteOp =
  | { readonly op: 'add' | 'replace'; readonly route: KernelRoute }
  | { readonly op: 'del'; readonly key: RouteKey };

const RTM_NEWROUTE = 24;
const RTM_DELROUTE = 25;
const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_REPLACE = 0x100;
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;
const AF_INET = 2;
const AF_INET6 = 10;
const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_PRIORITY = 6;
const RTA_PREFSRC = 7;
const RTA_MULTIPATH = 9;
const RTA_TABLE = 15;
const RTA_VIA = 18;
const RT_SCOPE_UNIVERSE = 0;
const RT_SCOPE_LINK = 253;
const RT_SCOPE_HOST = 254;
const RT_SCOPE_NOWHERE = 255;
const RTN_UNSPEC = 0;
const TYPES = { unicast: 1, blackhole: 6, unreachable: 7, prohibit: 8 } as const;
const SCOPES = { global: RT_SCOPE_UNIVERSE, link: RT_SCOPE_LINK, host: RT_SCOPE_HOST } as const;

/** A device named by a route that does not exist here: the op fails as `ip` fails it. */
export class NoSuchDeviceError extends Error {
  constructor(readonly dev: string) {
    super(`Cannot find device "${dev}"`);
  }
}

/** Attributes, each padded to 4 bytes. */
class Attrs {
  readonly parts: Buffer[] = [];
  add(type: number, payload: Buffer): this {
    const h = Buffer.alloc(4);
    h.writeUInt16LE(4 + payload.length, 0);
    h.writeUInt16LE(type, 2);
    this.parts.push(h, payload, Buffer.alloc((4 - (payload.length % 4)) % 4));
    return this;
  }
  u32(type: number, v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0, 0);
    return this.add(type, b);
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

function prefixOf(dst: string): { addr: Buffer; len: number } {
  const slash = dst.indexOf('/');
  if (slash < 0) throw new InvariantError(`route dst ${JSON.stringify(dst)} has no prefix length`);
  const addr = Buffer.from(parseAddressBytes(dst.slice(0, slash)));
  const text = dst.slice(slash + 1);
  const len = Number(text);
  if (!/^\d{1,3}$/.test(text) || len > addr.length * 8)
    throw new InvariantError(`route dst ${JSON.stringify(dst)}: bad prefix length`);
  return { addr, len };
}

/** The next hop: RTA_GATEWAY in the route's family, RTA_VIA (family + address) for an IPv6 next hop of an IPv4 route. */
function gateway(attrs: Attrs, dstFamily: 4 | 6, via: string): void {
  const a = Buffer.from(parseAddressBytes(via));
  if ((a.length === 4 ? 4 : 6) === dstFamily) {
    attrs.add(RTA_GATEWAY, a);
    return;
  }
  const v = Buffer.alloc(2 + a.length);
  v.writeUInt16LE(a.length === 4 ? AF_INET : AF_INET6, 0);
  a.copy(v, 2);
  attrs.add(RTA_VIA, v);
}

function checkU32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new InvariantError(`route ${what} ${v} is not a u32`);
  return v;
}

/**
 * One request with NLM_F_ACK and sequence number `seq`. `ifindex` resolves a device name in the
 * writer's namespace (0: none there → NoSuchDeviceError).
 */
export function encodeRouteOp(op: RouteOp, seq: number, ifindex: (dev: string) => number): Buffer {
  const r: RouteKey & Partial<KernelRoute> = op.op === 'del' ? op.key : op.route;
  const fam = familyOf(r.dst);
  const { addr, len } = prefixOf(r.dst);
  if ((addr.length === 4 ? 4 : 6) !== fam) throw new InvariantError(`route dst ${r.dst}: family mismatch`);
  const table = checkU32(r.table, 'table');
  const proto = r.proto;
  if (!Number.isInteger(proto) || proto < 0 || proto > 255) throw new InvariantError(`route proto ${proto}`);
  const dev = (name: string): number => {
    const i = ifindex(name);
    if (i === 0) throw new NoSuchDeviceError(name);
    return i;
  };
  const attrs = new Attrs();
  if (table >= 256) attrs.u32(RTA_TABLE, table);
  attrs.add(RTA_DST, addr);
  let type: number = RTN_UNSPEC;
  let scope: number;
  let flags = NLM_F_REQUEST | NLM_F_ACK;
  if (op.op !== 'del') {
    const route = op.route;
    flags |= op.op === 'add' ? NLM_F_CREATE | NLM_F_EXCL : NLM_F_CREATE | NLM_F_REPLACE;
    type = TYPES[route.type ?? 'unicast'];
    const hops = route.nexthops ?? [];
    if (hops.length > 0 && (route.via !== undefined || route.dev !== undefined))
      throw new InvariantError(`route ${route.dst}: nexthops exclude via/dev`);
    if (route.via !== undefined) gateway(attrs, fam, route.via);
    if (route.dev !== undefined) attrs.u32(RTA_OIF, dev(route.dev));
    if (route.src !== undefined) attrs.add(RTA_PREFSRC, Buffer.from(parseAddressBytes(route.src)));
    if (route.metric !== undefined) attrs.u32(RTA_PRIORITY, checkU32(route.metric, 'metric'));
    if (hops.length > 0) {
      const nh: Buffer[] = [];
      for (const h of hops) {
        const w = h.weight ?? 1;
        if (!Number.isInteger(w) || w < 1 || w > 256) throw new InvariantError(`route ${route.dst}: weight ${w}`);
        const inner = new Attrs();
        gateway(inner, fam, h.via);
        const body = inner.bytes();
        const head = Buffer.alloc(8);
        head.writeUInt16LE(8 + body.length, 0);
        head.writeUInt8(0, 2); // rtnh_flags
        head.writeUInt8(w - 1, 3); // rtnh_hops
        head.writeInt32LE(h.dev === undefined ? 0 : dev(h.dev), 4);
        nh.push(head, body);
      }
      attrs.add(RTA_MULTIPATH, Buffer.concat(nh));
    }
    // iproute2's default scope: link for a unicast IPv4 route without a next hop, else universe.
    scope =
      route.scope !== undefined
        ? SCOPES[route.scope]
        : fam === 4 && type === TYPES.unicast && route.via === undefined && hops.length === 0
          ? RT_SCOPE_LINK
          : RT_SCOPE_UNIVERSE;
  } else {
    // As iproute2: an IPv4 delete matches any scope (NOWHERE); IPv6 routes have no scope to match.
    scope = fam === 4 ? RT_SCOPE_NOWHERE : RT_SCOPE_UNIVERSE;
    if (r.metric !== undefined) attrs.u32(RTA_PRIORITY, checkU32(r.metric, 'metric'));
  }
  const body = attrs.bytes();
  const msg = Buffer.alloc(16 + 12 + body.length);
  msg.writeUInt32LE(msg.length, 0);
  msg.writeUInt16LE(op.op === 'del' ? RTM_DELROUTE : RTM_NEWROUTE, 4);
  msg.writeUInt16LE(flags, 6);
  msg.writeUInt32LE(seq >>> 0, 8);
  msg.writeUInt32LE(0, 12); // nlmsg_pid: the kernel
  msg.writeUInt8(fam === 4 ? AF_INET : AF_INET6, 16);
  msg.writeUInt8(len, 17);
  msg.writeUInt8(0, 18); // src_len
  msg.writeUInt8(0, 19); // tos
  msg.writeUInt8(table < 256 ? table : 0, 20);
  msg.writeUInt8(proto, 21);
  msg.writeUInt8(scope, 22);
  msg.writeUInt8(type, 23);
  msg.writeUInt32LE(0, 24); // rtm_flags
  body.copy(msg, 28);
  return msg;
}
