import {
  familyBits,
  formatAddress,
  formatPrefix,
  lastAddress,
  tryParseAddress,
  tryParsePrefix,
  type IpFamily,
} from '../src/net/index.js';

/**
 * IPAM's view of addresses, on the shared toolkit src/net: a CIDR as an inclusive range of
 * integers (what block maths wants), an address as (family, bigint), canonical text back.
 */
export type { IpFamily };

export interface Range {
  readonly family: IpFamily;
  readonly first: bigint;
  readonly last: bigint;
  readonly prefix: number;
  /** Canonical `network/prefix`. */
  readonly cidr: string;
}

/** Parses a CIDR (host bits cleared) or undefined when it is not one. */
export function toRange(cidr: string, opts: { readonly allowBareIp?: boolean } = {}): Range | undefined {
  const p = tryParsePrefix(cidr, { allowBareAddress: opts.allowBareIp === true });
  return (
    p && { family: p.family, first: p.network, last: lastAddress(p).value, prefix: p.length, cidr: formatPrefix(p) }
  );
}

/** An address as (family, bigint), or undefined when the text is not an address. */
export function toAddr(ip: string): { readonly family: IpFamily; readonly value: bigint } | undefined {
  return tryParseAddress(ip);
}

export function bitsOf(family: IpFamily): number {
  return familyBits(family);
}

/** Canonical text of an address (RFC 5952 for IPv6). */
export function formatAddr(family: IpFamily, value: bigint): string {
  return formatAddress({ family, value });
}

/** `network/prefix` text of the block of `prefix` bits starting at `first`. */
export function formatCidr(family: IpFamily, first: bigint, prefix: number): string {
  return formatPrefix({ family, network: first, length: prefix });
}
