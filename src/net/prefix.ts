/**
 * IP prefixes (CIDR blocks) as values: parse, format, contain, overlap, first/last, iterate. Pure.
 * A `Prefix` always holds its network address (host bits cleared); `parsePrefix` tells you whether
 * the text had host bits set (`hostBits`), so callers choose between "10.0.0.5/24 means 10.0.0.0/24"
 * (BGP config, Kubernetes ipBlock) and "reject it" (IPAM block CIDRs).
 */
import {
  familyBits,
  formatAddress,
  type IpAddress,
  type IpFamily,
  parseAddress,
  tryParseAddress,
  unmapIpv4,
} from './address.js';
import { PrefixSyntaxError } from './errors.js';

export interface Prefix {
  readonly family: IpFamily;
  /** The network address as an integer (host bits zero). */
  readonly network: bigint;
  readonly length: number;
}

export interface ParsedPrefix extends Prefix {
  /** The address as written, before host bits were cleared. */
  readonly address: IpAddress;
  /** True when the written address had bits set beyond `length`. */
  readonly hostBits: boolean;
}

export interface PrefixParseOptions {
  /** A bare address is accepted as a host prefix (/32 or /128). */
  readonly allowBareAddress?: boolean;
}

const LENGTH = /^(0|[1-9][0-9]{0,2})$/;

/** All-ones mask of the top `length` bits of a `bits`-wide address. */
export function prefixMask(family: IpFamily, length: number): bigint {
  const bits = BigInt(familyBits(family));
  const all = (1n << bits) - 1n;
  return (all << (bits - BigInt(length))) & all;
}

function scanPrefix(text: string, opts: PrefixParseOptions): ParsedPrefix | string {
  const slash = text.indexOf('/');
  let addrText = text;
  let length: number | undefined;
  if (slash < 0) {
    if (!opts.allowBareAddress) return "missing '/length'";
  } else {
    addrText = text.slice(0, slash);
    const lenText = text.slice(slash + 1);
    if (!LENGTH.test(lenText)) return `bad prefix length ${JSON.stringify(lenText)}`;
    length = Number(lenText);
  }
  let address: IpAddress;
  try {
    address = parseAddress(addrText);
  } catch (err) {
    if (err instanceof PrefixSyntaxError) return err.reason;
    throw err;
  }
  const bits = familyBits(address.family);
  length ??= bits;
  if (length > bits) return `length ${length} exceeds ${bits}`;
  const network = address.value & prefixMask(address.family, length);
  return { family: address.family, network, length, address, hostBits: network !== address.value };
}

/** Parses `addr/len` (or a bare address with `allowBareAddress`); throws PrefixSyntaxError. */
export function parsePrefix(text: string, opts: PrefixParseOptions = {}): ParsedPrefix {
  const r = scanPrefix(text, opts);
  if (typeof r === 'string') throw new PrefixSyntaxError(text, r);
  return r;
}

/** Parses a prefix; undefined when the text is not one. */
export function tryParsePrefix(text: string, opts: PrefixParseOptions = {}): ParsedPrefix | undefined {
  const r = scanPrefix(text, opts);
  return typeof r === 'string' ? undefined : r;
}

/** A prefix from an address and a length (host bits cleared). */
export function prefixOf(address: IpAddress, length: number): Prefix {
  const bits = familyBits(address.family);
  if (!Number.isInteger(length) || length < 0 || length > bits) {
    throw new PrefixSyntaxError(`${formatAddress(address)}/${length}`, `length ${length} out of 0..${bits}`);
  }
  return { family: address.family, network: address.value & prefixMask(address.family, length), length };
}

/** Canonical `network/length` text. */
export function formatPrefix(p: Prefix): string {
  return `${formatAddress({ family: p.family, value: p.network })}/${p.length}`;
}

export function firstAddress(p: Prefix): IpAddress {
  return { family: p.family, value: p.network };
}

export function lastAddress(p: Prefix): IpAddress {
  const hostMask = ((1n << BigInt(familyBits(p.family))) - 1n) ^ prefixMask(p.family, p.length);
  return { family: p.family, value: p.network | hostMask };
}

/** Number of addresses in the prefix. */
export function prefixSize(p: Pick<Prefix, 'family' | 'length'>): bigint {
  return 1n << BigInt(familyBits(p.family) - p.length);
}

/** True when `a` lies inside `p` (same family). */
export function prefixContainsAddress(p: Prefix, a: IpAddress): boolean {
  return p.family === a.family && (a.value & prefixMask(p.family, p.length)) === p.network;
}

/** True when `inner` lies entirely inside `outer` (same family; a prefix contains itself). */
export function prefixContains(outer: Prefix, inner: Prefix): boolean {
  return (
    outer.family === inner.family &&
    inner.length >= outer.length &&
    (inner.network & prefixMask(outer.family, outer.length)) === outer.network
  );
}

/** True when the two prefixes share at least one address (for CIDR blocks: one contains the other). */
export function prefixesOverlap(a: Prefix, b: Prefix): boolean {
  return prefixContains(a, b) || prefixContains(b, a);
}

export function samePrefix(a: Prefix, b: Prefix): boolean {
  return a.family === b.family && a.length === b.length && a.network === b.network;
}

/** Orders by family, then network, then length (shorter first). */
export function comparePrefixes(a: Prefix, b: Prefix): number {
  if (a.family !== b.family) return a.family === 'ipv4' ? -1 : 1;
  if (a.network !== b.network) return a.network < b.network ? -1 : 1;
  return a.length - b.length;
}

/** The `index`-th address of the block (0 = network address); undefined past the end. */
export function addressAt(p: Prefix, index: bigint): IpAddress | undefined {
  if (index < 0n || index >= prefixSize(p)) return undefined;
  return { family: p.family, value: p.network + index };
}

/** Position of `a` inside the block, or undefined when outside it. */
export function offsetOf(p: Prefix, a: IpAddress): bigint | undefined {
  return prefixContainsAddress(p, a) ? a.value - p.network : undefined;
}

/** Every address of the block in order (lazy: a /64 is fine as long as you stop early). */
export function* addressesIn(p: Prefix): Generator<IpAddress> {
  const end = p.network + prefixSize(p);
  for (let v = p.network; v < end; v++) yield { family: p.family, value: v };
}

/** The sub-blocks of length `length` inside `p`, in order (e.g. the /26 blocks of an IPAM pool). */
export function* subPrefixes(p: Prefix, length: number): Generator<Prefix> {
  const bits = familyBits(p.family);
  if (length < p.length || length > bits) {
    throw new PrefixSyntaxError(`${formatPrefix(p)} → /${length}`, `sub-block length must be in ${p.length}..${bits}`);
  }
  const step = 1n << BigInt(bits - length);
  const end = p.network + prefixSize(p);
  for (let v = p.network; v < end; v += step) yield { family: p.family, network: v, length };
}

/** Text `a` as a host prefix or plain prefix, whichever it is; undefined when neither. */
export function tryParseAddressOrPrefix(text: string): ParsedPrefix | undefined {
  if (!text.includes('/')) {
    const a = tryParseAddress(text);
    return a && { family: a.family, network: a.value, length: familyBits(a.family), address: a, hostBits: false };
  }
  return tryParsePrefix(text);
}

/**
 * True when the address text lies in the prefix text; an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`,
 * as sockets report IPv4 peers on a dual-stack listener) counts as its IPv4 address. False on bad text.
 */
export function prefixTextContains(prefix: string, address: string): boolean {
  const p = tryParsePrefix(prefix);
  const a = tryParseAddress(address);
  return p !== undefined && a !== undefined && prefixContainsAddress(p, unmapIpv4(a));
}
