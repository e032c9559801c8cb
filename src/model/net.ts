import IPCIDR from 'ip-cidr';

/**
 * IP address and CIDR parsing for validation: strict syntax (no leading zeros, no zone ids),
 * canonical text (IPv6 compressed, lower case) and the network address of a prefix.
 */
export type IpFamily = 4 | 6;

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

const PREFIX = /^(0|[1-9][0-9]{0,2})$/;

export function parseIp(s: string): ParsedIp | undefined {
  if (s.includes('/') || s.includes('%') || !IPCIDR.isValidAddress(s)) return undefined;
  const a = IPCIDR.createAddress(s);
  return { family: a.v4 ? 4 : 6, address: a.correctForm() };
}

/** Parses `addr/prefix`; with `allowBareIp`, a bare address is a /32 or /128. */
export function parseCidr(s: string, opts: { readonly allowBareIp?: boolean } = {}): ParsedCidr | undefined {
  let text = s;
  if (!s.includes('/')) {
    const ip = opts.allowBareIp ? parseIp(s) : undefined;
    if (!ip) return undefined;
    text = `${ip.address}/${ip.family === 4 ? 32 : 128}`;
  }
  const slash = text.indexOf('/');
  const prefixText = text.slice(slash + 1);
  if (!PREFIX.test(prefixText) || text.includes('%') || !IPCIDR.isValidCIDR(text)) return undefined;
  const c = new IPCIDR(text);
  const family: IpFamily = c.address.v4 ? 4 : 6;
  const prefix = Number(prefixText);
  if (prefix > (family === 4 ? 32 : 128)) return undefined;
  const start = c.start<IPCIDR.Address>({ type: 'addressObject' });
  const network = start.correctForm();
  return {
    family,
    network,
    address: IPCIDR.createAddress(text.slice(0, slash)).correctForm(),
    prefix,
    cidr: `${network}/${prefix}`,
    first: c.start<bigint>({ type: 'bigInteger' }),
    last: c.end<bigint>({ type: 'bigInteger' }),
  };
}

/** True when `inner` lies entirely inside `outer` (same family). */
export function cidrContains(outer: ParsedCidr, inner: ParsedCidr): boolean {
  return outer.family === inner.family && inner.first >= outer.first && inner.last <= outer.last;
}

/** Number of addresses in a prefix of length `prefix` in `family`. */
export function addressCount(family: IpFamily, prefix: number): bigint {
  return 1n << BigInt((family === 4 ? 32 : 128) - prefix);
}
