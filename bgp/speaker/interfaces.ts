/**
 * What the speaker needs to know about this host's interfaces (os.networkInterfaces(), in the
 * process's network namespace): the device a session runs over (link-local next hops in the FIB need
 * it), our own addresses and the connected subnets of that device (NEXT_HOP checks, RFC 4271 §5.1.3).
 * Pure functions over a snapshot; the snapshot source is a port so tests pass a table.
 */
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import type { FibChange } from '../fib/index.js';
import { prefixTextContains } from '../../src/net/index.js';
import type { BestPathChange, Family } from './types.js';

export type InterfaceTable = NodeJS.Dict<NetworkInterfaceInfo[]>;
export type InterfaceSource = () => InterfaceTable;

let snapshot: InterfaceTable | undefined;
/**
 * The host's interfaces, read once per synchronous run (a reconfigure that updates every peer asks
 * once per peer: one getifaddrs walk, ≈ 0.1–0.2 ms each, is enough); the next run reads afresh.
 */
export const systemInterfaces: InterfaceSource = () => {
  if (snapshot === undefined) {
    snapshot = networkInterfaces();
    queueMicrotask(() => {
      snapshot = undefined;
    });
  }
  return snapshot;
};

export const isLinkLocal = (ip: string): boolean => /^fe[89ab][0-9a-f]:/i.test(ip);

/** `fe80::1%eth0` → address and zone; IPv4-mapped IPv6 (`::ffff:10.0.0.1`) → the IPv4 address. */
export function splitZone(address: string): { address: string; zone: string | undefined } {
  const i = address.indexOf('%');
  const a = (i < 0 ? address : address.slice(0, i)).replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  return { address: a.toLowerCase(), zone: i < 0 ? undefined : address.slice(i + 1) };
}

/** The device that holds `address` (its zone id when it has one). */
export function deviceOf(table: InterfaceTable, address: string): string | undefined {
  const { address: a, zone } = splitZone(address);
  if (zone !== undefined && zone !== '' && !/^\d+$/.test(zone)) return zone;
  for (const [name, infos] of Object.entries(table)) {
    if (infos?.some((x) => x.address.toLowerCase() === a && (zone === undefined || x.scopeid === Number(zone))))
      return name;
  }
  return undefined;
}

/** Every address configured on this host (loopback included). */
export function localAddresses(table: InterfaceTable): string[] {
  return Object.values(table).flatMap((infos) => (infos ?? []).map((x) => x.address.toLowerCase()));
}

/** The connected subnets (CIDR) of the device holding `address`, all families; [] when not found. */
export function connectedSubnets(table: InterfaceTable, address: string): string[] {
  const dev = deviceOf(table, address);
  if (dev === undefined) return [];
  return (table[dev] ?? []).filter((x) => x.cidr !== null).map((x) => x.cidr!);
}

/** What the RIB's NEXT_HOP checks need to know about one session (RibPeerConfig fields of the same names). */
export interface LinkFacts {
  /** Every address of this host: a received NEXT_HOP equal to one is ignored (RFC 4271 §6.3). */
  readonly localAddresses: readonly string[];
  /** Subnets of the interface the session runs over; absent when that interface is unknown (no check). */
  readonly connectedSubnets?: readonly string[];
  /** Not a single-hop peer: its next hops need not be on those subnets. */
  readonly multihop: boolean;
}

/**
 * The facts for a session from `localAddress` to `peerAddress`. Multihop unless configured otherwise:
 * when the peer's address is on none of the session interface's subnets, or GTSM allows more than
 * one hop (RFC 5082).
 */
export function linkFacts(
  table: InterfaceTable,
  localAddress: string,
  peerAddress: string,
  opts: { readonly multihop?: boolean | undefined; readonly ttlSecurity?: number | undefined },
): LinkFacts {
  const subnets = connectedSubnets(table, localAddress);
  const peer = splitZone(peerAddress).address;
  const direct = subnets.some((c) => prefixTextContains(c, peer));
  return {
    localAddresses: localAddresses(table).filter((a) => a !== '0.0.0.0' && a !== '::'),
    ...(subnets.length > 0 && { connectedSubnets: subnets }),
    multihop: opts.multihop ?? (!direct || (opts.ttlSecurity ?? 1) > 1),
  };
}

/**
 * Best-path changes as FIB changes: locally originated best paths are not installed (their removal
 * is), and a link-local next hop gets its device (`fe80::1%eth0`) from `deviceFor`; one whose device
 * is unknown is left out (the kernel would refuse it), with `unresolved` told once per next hop and call.
 */
export function fibChanges(
  changes: readonly BestPathChange[],
  deviceFor: (prefix: string, family: Family, hop: string) => string | undefined,
  unresolved: (prefix: string, hop: string) => void,
): FibChange[] {
  const out: FibChange[] = [];
  const told = new Set<string>();
  for (const c of changes) {
    if (c.local && c.nextHops.length > 0) continue;
    if (c.local) {
      out.push({ prefix: c.prefix, nextHops: null });
      continue;
    }
    if (!c.nextHops.some(isLinkLocal)) {
      out.push({ prefix: c.prefix, nextHops: c.nextHops });
      continue;
    }
    const hops: string[] = [];
    for (const h of c.nextHops) {
      if (!isLinkLocal(h) || h.includes('%')) hops.push(h);
      else {
        const dev = deviceFor(c.prefix, c.family, h);
        if (dev === undefined) {
          if (!told.has(h)) unresolved(c.prefix, h);
          told.add(h);
        } else hops.push(`${h}%${dev}`);
      }
    }
    out.push({ prefix: c.prefix, nextHops: hops });
  }
  return out;
}
