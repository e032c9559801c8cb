/**
 * Address and CIDR checks for resource validation, on top of src/net (the one parser): strict
 * syntax, canonical text, and the range of a prefix. Returns undefined instead of throwing, as the
 * schema refinements want.
 */
import {
  familyBits,
  formatAddress,
  formatPrefix,
  type IpFamily,
  lastAddress,
  prefixContains,
  prefixSize,
  tryParseAddress,
  tryParsePrefix,
} from '../net/index.js';

export type { IpFamily } from '../net/index.js';

export interface ParsedIp {
  readonly family: IpFamily;
  /** Canonical text, e.g. `10.0.0.1` or `fd00::1`. */
  readonly address: string;
}

export interface ParsedCidr {
  readonly family: IpFamily;
  /** Canonical network address (host bits cleared). */
  readonly network: string;
  /** The address as written, in canonical text (equals `network` when no host bits are set). */
  readonly address: string;
  readonly prefix: number;
  /** `network/prefix`, the canonical CIDR text. */
  readonly cidr: string;
  readonly first: bigint;
  readonly last: bigint;
}

export function parseIp(s: string): ParsedIp | undefined {
  const a = tryParseAddress(s);
  return a && { family: a.family, address: formatAddress(a) };
}

/** Parses `addr/prefix`; with `allowBareIp`, a bare address is a /32 or /128. */
export function parseCidr(s: string, opts: { readonly allowBareIp?: boolean } = {}): ParsedCidr | undefined {
  const p = tryParsePrefix(s, { allowBareAddress: opts.allowBareIp === true });
  if (!p) return undefined;
  return {
    family: p.family,
    network: formatAddress({ family: p.family, value: p.network }),
    address: formatAddress(p.address),
    prefix: p.length,
    cidr: formatPrefix(p),
    first: p.network,
    last: lastAddress(p).value,
  };
}

/** True when `inner` lies entirely inside `outer` (same family). */
export function cidrContains(outer: ParsedCidr, inner: ParsedCidr): boolean {
  return prefixContains(
    { family: outer.family, network: outer.first, length: outer.prefix },
    { family: inner.family, network: inner.first, length: inner.prefix },
  );
}

/** Number of addresses in a prefix of length `prefix` in `family`. */
export function addressCount(family: IpFamily, prefix: number): bigint {
  return prefixSize({ family, length: prefix });
}

/** Address width of a family: 32 or 128. */
export const familyWidth = familyBits;
