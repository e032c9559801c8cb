/**
 * IP addresses as values: a family and a bigint, with strict text parsing and RFC 5952 formatting.
 * Pure. The family has one spelling across Margay, `'ipv4' | 'ipv6'`; the BGP wire AFI numbers stay
 * inside the codec. Bytes (4 or 16, network order) and packed u32 words are conversions for the BGP
 * codec and the RIB, which keep their own compact forms on top of this module.
 *
 * Strictness: IPv4 is four decimal octets without leading zeros (`010.0.0.1` is ambiguous: octal in
 * inet_aton); IPv6 is RFC 4291 text with at most one `::` and an optional dotted IPv4 tail; no zone
 * ids (`%eth0`), no brackets, no whitespace.
 */
import { PrefixSyntaxError } from './errors.js';

export type IpFamily = 'ipv4' | 'ipv6';

export interface IpAddress {
  readonly family: IpFamily;
  /** The address as an unsigned integer: < 2^32 for IPv4, < 2^128 for IPv6. */
  readonly value: bigint;
}

/** Address width in bits: 32 or 128. */
export function familyBits(family: IpFamily): 32 | 128 {
  return family === 'ipv4' ? 32 : 128;
}

/** The family a syntactically plausible address text would have (':' means IPv6). No validation. */
export function familyOfText(text: string): IpFamily {
  return text.includes(':') ? 'ipv6' : 'ipv4';
}

const OCTET = /^(0|[1-9][0-9]{0,2})$/;
const GROUP = /^[0-9a-fA-F]{1,4}$/;

/** An IPv4 address as a u32, or a reason it is not one. */
function scanIpv4(text: string): number | string {
  const parts = text.split('.');
  if (parts.length !== 4) return 'expected four dotted octets';
  let v = 0;
  for (const p of parts) {
    if (!OCTET.test(p)) return `bad octet ${JSON.stringify(p)}`;
    const n = Number(p);
    if (n > 255) return `octet ${n} out of range`;
    v = v * 256 + n;
  }
  return v;
}

/** An IPv6 address as eight 16-bit groups, or a reason it is not one. */
function scanIpv6(text: string): number[] | string {
  const halves = text.split('::');
  if (halves.length > 2) return "more than one '::'";
  const groups = (s: string, last: boolean): number[] | string => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (last && i === parts.length - 1 && p.includes('.')) {
        const v4 = scanIpv4(p);
        if (typeof v4 === 'string') return `bad IPv4 tail: ${v4}`;
        out.push(v4 >>> 16, v4 & 0xffff);
      } else if (GROUP.test(p)) {
        out.push(parseInt(p, 16));
      } else {
        return `bad group ${JSON.stringify(p)}`;
      }
    }
    return out;
  };
  const head = groups(halves[0]!, halves.length === 1);
  if (typeof head === 'string') return head;
  if (halves.length === 1) return head.length === 8 ? head : 'expected 8 groups';
  const tail = groups(halves[1]!, true);
  if (typeof tail === 'string') return tail;
  const fill = 8 - head.length - tail.length;
  if (fill < 1) return "too many groups around '::'";
  return [...head, ...new Array<number>(fill).fill(0), ...tail];
}

/** Parses an address, or returns a reason it is not one (no throw: for validators). */
function scanAddress(text: string): IpAddress | string {
  if (text.includes(':')) {
    const g = scanIpv6(text);
    if (typeof g === 'string') return g;
    let v = 0n;
    for (const w of g) v = (v << 16n) | BigInt(w);
    return { family: 'ipv6', value: v };
  }
  const v4 = scanIpv4(text);
  return typeof v4 === 'string' ? v4 : { family: 'ipv4', value: BigInt(v4) };
}

/** Parses an IPv4 or IPv6 address; throws PrefixSyntaxError naming the problem. */
export function parseAddress(text: string): IpAddress {
  const r = scanAddress(text);
  if (typeof r === 'string') throw new PrefixSyntaxError(text, r);
  return r;
}

/** Parses an address; undefined when the text is not one. */
export function tryParseAddress(text: string): IpAddress | undefined {
  const r = scanAddress(text);
  return typeof r === 'string' ? undefined : r;
}

export function formatIpv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** RFC 5952 text of eight 16-bit groups: lower case, the longest run (≥ 2) of zero groups as '::'. */
function formatGroups(g: readonly number[]): string {
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: readonly number[]): string => a.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

/** Canonical text: dotted quad, or RFC 5952 IPv6. */
export function formatAddress(a: IpAddress): string {
  if (a.family === 'ipv4') return formatIpv4(Number(a.value));
  const g: number[] = [];
  for (let i = 7; i >= 0; i--) g.push(Number((a.value >> BigInt(16 * i)) & 0xffffn));
  return formatGroups(g);
}

/** Network-order bytes (4 or 16). */
export function addressToBytes(a: IpAddress): Uint8Array {
  const n = familyBits(a.family) / 8;
  const out = new Uint8Array(n);
  let v = a.value;
  for (let i = n - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** An address from 4 or 16 network-order bytes starting at `off`. */
export function addressFromBytes(b: ArrayLike<number>, family: IpFamily, off = 0): IpAddress {
  const n = familyBits(family) / 8;
  let v = 0n;
  for (let i = 0; i < n; i++) v = (v << 8n) | BigInt(b[off + i]! & 0xff);
  return { family, value: v };
}

/** Packed big-endian u32 words: 1 for IPv4, 4 for IPv6 (the RIB's key form). */
export function addressToWords(a: IpAddress): Uint32Array {
  const n = familyBits(a.family) / 32;
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = Number((a.value >> BigInt(32 * (n - 1 - i))) & 0xffffffffn);
  return out;
}

export function addressFromWords(w: ArrayLike<number>, family: IpFamily): IpAddress {
  const n = familyBits(family) / 32;
  let v = 0n;
  for (let i = 0; i < n; i++) v = (v << 32n) | BigInt(w[i]! >>> 0);
  return { family, value: v };
}

/** RFC 5952 text of four packed u32 words (no bigint: used on the RIB's output path). */
export function formatIpv6Words(w: ArrayLike<number>): string {
  const g: number[] = [];
  for (let i = 0; i < 4; i++) g.push(w[i]! >>> 16, w[i]! & 0xffff);
  return formatGroups(g);
}

/** RFC 5952 text of 16 network-order bytes at `off` (no bigint: used by the codec's text helpers). */
export function formatIpv6Bytes(b: ArrayLike<number>, off = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!);
  return formatGroups(g);
}

export function compareAddresses(a: IpAddress, b: IpAddress): number {
  if (a.family !== b.family) return a.family === 'ipv4' ? -1 : 1;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

export function sameAddress(a: IpAddress, b: IpAddress): boolean {
  return a.family === b.family && a.value === b.value;
}

/** `::ffff:a.b.c.d` → the IPv4 address; anything else unchanged. */
export function unmapIpv4(a: IpAddress): IpAddress {
  if (a.family === 'ipv6' && a.value >> 32n === 0xffffn) return { family: 'ipv4', value: a.value & 0xffffffffn };
  return a;
}

/** The IP version number of a family (Calico's `ipVersion` field, messages like "IPv4"). */
export function ipVersionOf(family: IpFamily): 4 | 6 {
  return family === 'ipv4' ? 4 : 6;
}

/** Network-order bytes of address text (4 or 16); throws PrefixSyntaxError. */
export function parseAddressBytes(text: string): Uint8Array {
  return addressToBytes(parseAddress(text));
}
