/**
 * Semantic NEXT_HOP checks on received paths, with facts the speaker supplies per peer
 * (RibPeerConfig.localAddresses / connectedSubnets / multihop). Pure; evaluated once per received
 * attribute set and peer (the import cache), never per prefix.
 *   - 'next-hop-local': the next hop is one of our own addresses (RFC 4271 §6.3: semantically
 *     incorrect, the route is ignored without a NOTIFICATION; BIRD: "address is local").
 *   - 'next-hop-unreachable': a single-hop eBGP peer's next hop is on none of the session interface's
 *     subnets (RFC 4271 §5.1.3, §9.1.2.1: unresolvable, excluded from selection; BIRD: "not directly
 *     reachable"). Only when the speaker gave connectedSubnets; IPv6 link-local next hops (and a 32-byte
 *     next hop with a link-local part) are on the link by definition.
 */
import { parseAddressBytes } from '../../src/net/index.js';
import { parsePrefix, prefixWithin, type ParsedPrefix } from '../attrs/index.js';
import type { RibPeerConfig } from './types.js';

export type NextHopRejection = 'next-hop-local' | 'next-hop-unreachable';

export interface NextHopFacts {
  /** Our addresses: 4-byte IPv4, 16-byte IPv6 (unspecified addresses left out). */
  readonly locals: readonly Uint8Array[];
  /** Subnets a next hop of a single-hop eBGP peer must be in; undefined: no reachability check. */
  readonly direct: readonly ParsedPrefix[] | undefined;
}

const isZero = (b: Uint8Array): boolean => b.every((x) => x === 0);

export function nextHopFacts(c: RibPeerConfig, ibgp: boolean): NextHopFacts {
  const texts = [c.localAddress, c.localAddressV6, c.localLinkLocalV6, ...(c.localAddresses ?? [])];
  const locals = texts
    .filter((t): t is string => t !== undefined)
    .map(parseAddressBytes)
    .filter((b) => !isZero(b));
  const direct =
    !ibgp && c.multihop !== true && c.connectedSubnets !== undefined ? c.connectedSubnets.map(parsePrefix) : undefined;
  return { locals, direct };
}

function equalAt(nh: Uint8Array, off: number, a: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (nh[off + i] !== a[i]) return false;
  return true;
}

function words(b: Uint8Array, off: number, n: number): number[] {
  const w: number[] = [];
  for (let i = off; i < off + n; i += 4)
    w.push(((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0);
  return w;
}

const isLinkLocal = (nh: Uint8Array, off: number): boolean => nh[off] === 0xfe && (nh[off + 1]! & 0xc0) === 0x80;
const isMapped = (nh: Uint8Array): boolean =>
  nh.length === 16 && nh.subarray(0, 10).every((x) => x === 0) && nh[10] === 0xff && nh[11] === 0xff;

function isLocal(f: NextHopFacts, nh: Uint8Array): boolean {
  for (const a of f.locals) {
    if (a.length === 4) {
      if ((nh.length === 4 && equalAt(nh, 0, a)) || (isMapped(nh) && equalAt(nh, 12, a))) return true;
    } else if (nh.length >= 16 && (equalAt(nh, 0, a) || (nh.length === 32 && equalAt(nh, 16, a)))) return true;
  }
  return false;
}

function isConnected(nets: readonly ParsedPrefix[], nh: Uint8Array): boolean {
  if (nh.length >= 16 && (isLinkLocal(nh, 0) || (nh.length === 32 && isLinkLocal(nh, 16)))) return true;
  const v4 = nh.length === 4 ? words(nh, 0, 4) : isMapped(nh) ? words(nh, 12, 4) : undefined;
  if (v4) return nets.some((n) => n.family === 'ipv4' && prefixWithin(v4, 32, n.words, n.len));
  const v6 = words(nh, 0, 16);
  return nets.some((n) => n.family === 'ipv6' && prefixWithin(v6, 128, n.words, n.len));
}

/** Why a received next hop makes the path ineligible, or undefined when it is fine (or absent). */
export function checkNextHop(f: NextHopFacts, nh: Uint8Array): NextHopRejection | undefined {
  if (nh.length !== 4 && nh.length !== 16 && nh.length !== 32) return undefined;
  if (isLocal(f, nh)) return 'next-hop-local';
  if (f.direct !== undefined && !isConnected(f.direct, nh)) return 'next-hop-unreachable';
  return undefined;
}
