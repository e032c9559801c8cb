/**
 * The RIB's packed form of prefixes and addresses on top of src/net: IPv4 is one u32, IPv6 four u32
 * words (big-endian word order). Parsing and text go through src/net (one syntax, one
 * PrefixSyntaxError); what stays here is word arithmetic for the prefix tables.
 */
import {
  addressToWords,
  familyOfText,
  formatIpv4,
  formatIpv6Words,
  parseAddress,
  parsePrefix as netParsePrefix,
  PrefixSyntaxError,
  type IpFamily,
} from '../../src/net/index.js';

export { formatIpv4, PrefixSyntaxError };

type Family = IpFamily;

export interface ParsedPrefix {
  readonly family: Family;
  /** 1 word for IPv4, 4 for IPv6; host bits cleared. */
  readonly words: Uint32Array;
  readonly len: number;
}

export function parseIpv4(text: string): number {
  const a = parseAddress(text);
  if (a.family !== 'ipv4') throw new PrefixSyntaxError(text, 'expected an IPv4 address');
  return Number(a.value);
}

/** IPv6 text (incl. '::' and an embedded IPv4 tail) to four words. */
export function parseIpv6(text: string): Uint32Array {
  const a = parseAddress(text);
  if (a.family !== 'ipv6') throw new PrefixSyntaxError(text, 'expected an IPv6 address');
  return addressToWords(a);
}

export const formatIpv6 = formatIpv6Words;

export const familyOfAddress = familyOfText;

/** Mask of the top `len` bits of a u32 word. */
export function mask32(len: number): number {
  return len <= 0 ? 0 : len >= 32 ? 0xffffffff : (0xffffffff << (32 - len)) >>> 0;
}

export function parsePrefix(text: string): ParsedPrefix {
  const p = netParsePrefix(text);
  return { family: p.family, words: addressToWords({ family: p.family, value: p.network }), len: p.length };
}

export function formatPrefix(family: Family, words: ArrayLike<number>, len: number): string {
  return `${family === 'ipv4' ? formatIpv4(words[0]!) : formatIpv6(words)}/${len}`;
}

/** True when prefix (w, len) lies inside (cw, clen). Both of the same family. */
export function prefixWithin(w: ArrayLike<number>, len: number, cw: ArrayLike<number>, clen: number): boolean {
  if (len < clen) return false;
  for (let i = 0; i * 32 < clen; i++) {
    const m = mask32(clen - 32 * i);
    if ((w[i]! & m) >>> 0 !== (cw[i]! & m) >>> 0) return false;
  }
  return true;
}
