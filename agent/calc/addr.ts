/**
 * Address helpers the graph needs (pure), on src/net (the one address toolkit). The graph and the
 * kernel adapters spell families 4 and 6; src/net spells them 'ipv4' and 'ipv6' — converted here.
 */
import {
  formatAddress as formatNetAddress,
  formatPrefix,
  ipVersionOf,
  tryParsePrefix,
  type IpFamily as NetFamily,
} from '../../src/net/index.js';
import type { IpFamily } from './types.js';

/** A parsed CIDR: canonical text, family 4|6, network (as a number) and length. */
export interface Cidr {
  readonly family: IpFamily;
  /** Canonical `network/length` (`10.0.0.5/32`, `fd00::/64`). */
  readonly cidr: string;
  /** Canonical address part as written (host bits kept). */
  readonly address: string;
  readonly network: bigint;
  readonly prefix: number;
}

const netFamily = (f: IpFamily): NetFamily => (f === 4 ? 'ipv4' : 'ipv6');

/** A canonical CIDR; a bare address becomes a host prefix. Undefined when invalid. */
export function canonicalCidr(text: string): Cidr | undefined {
  const p = tryParsePrefix(text.trim(), { allowBareAddress: true });
  if (p === undefined) return undefined;
  return {
    family: ipVersionOf(p.family),
    cidr: formatPrefix(p),
    address: formatNetAddress(p.address),
    network: p.network,
    prefix: p.length,
  };
}

/** The canonical host prefix of an address or host CIDR (`10.0.0.5` → `10.0.0.5/32`); undefined otherwise. */
export function hostPrefix(text: string): string | undefined {
  const c = canonicalCidr(text);
  return c !== undefined && c.prefix === (c.family === 4 ? 32 : 128) ? c.cidr : undefined;
}

export function familyOfCidr(cidr: string): IpFamily {
  return cidr.includes(':') ? 6 : 4;
}

const BLOCK_PREFIXES: Record<IpFamily, readonly number[]> = {
  4: Array.from({ length: 13 }, (_, i) => 20 + i),
  6: Array.from({ length: 13 }, (_, i) => 116 + i),
};

/** Key of the network of `address` at `prefix` (no string formatting: cheap for many prefixes). */
export function networkKey(family: IpFamily, address: bigint, prefix: number): string {
  const bits = family === 4 ? 32 : 128;
  const mask = ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - prefix)) - 1n);
  return `${family}|${prefix}|${address & mask}`;
}

/** Keys of every block size IPAM allows (/20../32, /116../128) that could hold `addr`. */
export function candidateBlockKeys(addr: Cidr): string[] {
  return BLOCK_PREFIXES[addr.family].map((p) => networkKey(addr.family, addr.network, p));
}

export function blockKeyOf(block: Cidr): string {
  return networkKey(block.family, block.network, block.prefix);
}

/** Text of the address `value` in `family` (canonical: IPv6 compressed, lower case). */
export function formatAddress(family: IpFamily, value: bigint): string {
  return formatNetAddress({ family: netFamily(family), value });
}
