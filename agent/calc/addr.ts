/**
 * Address helpers the graph needs (pure). Thin over src/model/net.ts; kept in one place so the
 * switch to src/net (layering) touches only this file.
 */
import { parseCidr, type ParsedCidr } from '../../src/model/net.js';
import type { IpFamily } from './types.js';

/** A canonical CIDR (`10.0.0.5/32`, `fd00::/64`); a bare address becomes a host prefix. Undefined when invalid. */
export function canonicalCidr(text: string): ParsedCidr | undefined {
  return parseCidr(text.trim(), { allowBareIp: true });
}

/** The canonical host prefix of an address or host CIDR (`10.0.0.5` → `10.0.0.5/32`); undefined otherwise. */
export function hostPrefix(text: string): string | undefined {
  const c = canonicalCidr(text);
  if (c === undefined) return undefined;
  const full = c.family === 4 ? 32 : 128;
  return c.prefix === full ? c.cidr : undefined;
}

export function familyOfCidr(cidr: string): IpFamily {
  return cidr.includes(':') ? 6 : 4;
}

/** Address part of a CIDR. */
export function addressOf(cidr: string): string {
  const i = cidr.indexOf('/');
  return i < 0 ? cidr : cidr.slice(0, i);
}

const BLOCK_PREFIXES: Record<IpFamily, readonly number[]> = {
  4: Array.from({ length: 13 }, (_, i) => 20 + i),
  6: Array.from({ length: 13 }, (_, i) => 116 + i),
};

/** Key of the network of `first` at `prefix` (no string formatting: cheap to compute for many prefixes). */
export function networkKey(family: IpFamily, first: bigint, prefix: number): string {
  const bits = family === 4 ? 32 : 128;
  const mask = ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - prefix)) - 1n);
  return `${family}|${prefix}|${first & mask}`;
}

/** Keys of every block size IPAM allows (/20../32, /116../128) that could hold `addr`. */
export function candidateBlockKeys(addr: ParsedCidr): string[] {
  return BLOCK_PREFIXES[addr.family].map((p) => networkKey(addr.family, addr.first, p));
}

export function blockKeyOf(block: ParsedCidr): string {
  return networkKey(block.family, block.first, block.prefix);
}

/** Text of the address `value` in `family` (canonical: IPv6 compressed, lower case). */
export function formatAddress(family: IpFamily, value: bigint): string {
  if (family === 4) return [24, 16, 8, 0].map((s) => Number((value >> BigInt(s)) & 255n)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
  return canonicalCidr(groups.join(':'))!.address;
}
