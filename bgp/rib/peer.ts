/**
 * Runtime state of one peer inside the RIB (index 0 is the local pseudo-peer for originated routes).
 */
import type { CompiledRoutePolicy } from '../route-policy/index.js';
import { parseAddressBytes } from '../../src/net/index.js';
import type { AttrSet } from './attr-store.js';
import type { PeerFacts } from './best-path.js';
import { familyOfAddress, parseIpv4, parseIpv6, parsePrefix, prefixWithin, type ParsedPrefix } from '../attrs/index.js';
import type { DirtySet } from './dirty-set.js';
import { growTo, release } from './prefix-table.js';
import { nextHopFacts, type NextHopFacts } from './next-hop-check.js';
import type { Family, RibNegotiated, RibPeerConfig } from './types.js';

export const FAMILIES: readonly Family[] = ['ipv4', 'ipv6'];
export const famIndex = (f: Family): number => (f === 'ipv4' ? 0 : 1);

/**
 * Adj-RIB-Out of one peer for one family. adv[p]: 1 + attribute set id advertised for prefix p, 0 for
 * none (zero is free: a reserved array needs no fill); it grows only when something is advertised (a
 * peer that only sends costs nothing per prefix), so read it through `advOf` and write it through
 * `setAdv`. 16-bit while every stored value fits (set ids below 65535: 2 bytes per prefix and peer
 * instead of 4, 1 MB at 500k prefixes), widened to 32-bit once one does not. dirty: prefixes waiting
 * to be sent.
 */
export interface OutState {
  adv: Uint16Array | Int32Array;
  readonly dirty: DirtySet;
  eorPending: boolean;
  /** After a route refresh: re-send even unchanged routes until the queue drains. */
  force: boolean;
  /**
   * A refresh marked every prefix and nothing has been written since: a further refresh (a peer
   * sending ROUTE-REFRESH in a loop, or several policy changes in a row) needs no new table walk.
   */
  refreshMarked: boolean;
  advertised: number;
}

export interface PeerRt extends PeerFacts {
  readonly idx: number;
  config: RibPeerConfig;
  readonly local: boolean;
  ibgp: boolean;
  localAs: number;
  routerId: number;
  readonly addr: readonly number[];
  igpCost: number | undefined;
  up: boolean;
  neg: RibNegotiated | undefined;
  importPolicy: CompiledRoutePolicy | undefined;
  exportPolicy: CompiledRoutePolicy | undefined;
  /** Per family: received set id → import result (null: rejected). */
  readonly importCache: [Map<number, AttrSet | null>, Map<number, AttrSet | null>];
  /** Per family: Loc-RIB set id → per source peer index → export result. */
  readonly exportCache: [Map<number, (AttrSet | null | undefined)[]>, Map<number, (AttrSet | null | undefined)[]>];
  readonly received: [number, number];
  readonly accepted: [number, number];
  readonly out: [OutState | undefined, OutState | undefined];
  /** Next hop 'self' per family (4, 16 or 32 bytes). */
  selfNextHop: [Uint8Array, Uint8Array];
  /** RibPeerConfig.sharedSubnet, parsed. */
  sharedSubnet: ParsedPrefix | undefined;
  /** Own addresses and connected subnets for the received NEXT_HOP checks (next-hop-check.ts). */
  nextHopFacts: NextHopFacts;
}

/** Set id advertised to o for prefix p, -1 for none. */
export function advOf(o: OutState, p: number): number {
  return p < o.adv.length ? o.adv[p]! - 1 : -1;
}

/**
 * Records set id `id` (-1: none) as advertised to o for prefix p. `capacity`: the family's prefix
 * capacity (adv grows to it at once); `size`: its high-water mark (what a widening copies).
 */
export function setAdv(o: OutState, p: number, id: number, capacity: number, size: number): void {
  const v = id + 1;
  if (p >= o.adv.length) {
    if (v === 0) return;
    o.adv = growTo(o.adv, capacity);
  }
  if (v > 0xffff && o.adv instanceof Uint16Array) {
    // Copy only the indices in use: the rest of a reserved array is untouched zero pages (growTo).
    const wide = new Int32Array(o.adv.length);
    wide.set(o.adv.subarray(0, Math.min(size, o.adv.length)));
    release(o.adv);
    o.adv = wide;
  }
  o.adv[p] = v;
}

/** True when next hop bytes (4 or 16+) lie inside the subnet. */
export function nextHopIn(nh: Uint8Array, net: ParsedPrefix): boolean {
  const n = net.family === 'ipv4' ? 4 : 16;
  if (nh.length < n || (n === 4 && nh.length !== 4)) return false;
  const w: number[] = [];
  for (let i = 0; i < n; i += 4) w.push(((nh[i]! << 24) | (nh[i + 1]! << 16) | (nh[i + 2]! << 8) | nh[i + 3]!) >>> 0);
  return prefixWithin(w, n * 8, net.words, net.len);
}

export function addrWords(text: string): number[] {
  return familyOfAddress(text) === 'ipv4' ? [0, 0, 0xffff, parseIpv4(text)] : [...parseIpv6(text)];
}

/** Our next hop toward this peer per family (see RibPeerConfig.localAddress*). */
export function selfNextHops(c: RibPeerConfig): [Uint8Array, Uint8Array] {
  const local = parseAddressBytes(c.localAddress);
  const g6 =
    c.localAddressV6 !== undefined
      ? parseAddressBytes(c.localAddressV6)
      : local.length === 16
        ? local
        : Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...local);
  const v6 = c.localLinkLocalV6 !== undefined ? Uint8Array.of(...g6, ...parseAddressBytes(c.localLinkLocalV6)) : g6;
  const v4 = local.length === 4 ? local : v6;
  return [v4, v6];
}

export function makePeer(idx: number, config: RibPeerConfig, localAs: number, local: boolean): PeerRt {
  const las = config.localAs ?? localAs;
  const ibgp = !local && config.peerAs === las;
  return {
    idx,
    config,
    local,
    ibgp,
    localAs: las,
    routerId: 0,
    addr: local ? [0, 0, 0, 0] : addrWords(config.address),
    igpCost: config.igpCost,
    up: local,
    neg: undefined,
    importPolicy: undefined,
    exportPolicy: undefined,
    importCache: [new Map(), new Map()],
    exportCache: [new Map(), new Map()],
    received: [0, 0],
    accepted: [0, 0],
    out: [undefined, undefined],
    selfNextHop: local ? [new Uint8Array(0), new Uint8Array(0)] : selfNextHops(config),
    sharedSubnet: config.sharedSubnet !== undefined ? parsePrefix(config.sharedSubnet) : undefined,
    nextHopFacts: local ? { locals: [], direct: undefined } : nextHopFacts(config, ibgp),
  };
}
