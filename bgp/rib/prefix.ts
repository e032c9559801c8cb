/**
 * Prefix and address text <-> numeric forms. IPv4 addresses are one u32; IPv6 are four u32 words
 * (big-endian word order). Pure; throws ConfigError-free `PrefixSyntaxError` on bad text.
 */
import { MargayError } from '../../src/errors.js';
import type { Family } from './types.js';

export class PrefixSyntaxError extends MargayError {
  readonly code = 'MGY_BGP_PREFIX_SYNTAX';
  constructor(readonly text: string, reason: string) {
    super(`invalid prefix or address ${JSON.stringify(text)}: ${reason}`);
  }
}

export interface ParsedPrefix {
  readonly family: Family;
  /** 1 word for IPv4, 4 for IPv6; host bits cleared. */
  readonly words: Uint32Array;
  readonly len: number;
}

export function parseIpv4(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4) throw new PrefixSyntaxError(text, 'expected a.b.c.d');
  let v = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) throw new PrefixSyntaxError(text, 'octet out of range');
    v = v * 256 + Number(p);
  }
  return v >>> 0;
}

export function formatIpv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** IPv6 text (incl. '::' and an embedded IPv4 tail) to four words. */
export function parseIpv6(text: string): Uint32Array {
  const out = new Uint32Array(4);
  const halves = text.split('::');
  if (halves.length > 2) throw new PrefixSyntaxError(text, "more than one '::'");
  const toGroups = (s: string): number[] => {
    if (s === '') return [];
    const g: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIpv4(p);
        g.push(v4 >>> 16, v4 & 0xffff);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) throw new PrefixSyntaxError(text, 'bad group');
        g.push(parseInt(p, 16));
      }
    }
    return g;
  };
  const head = toGroups(halves[0]!);
  const tail = halves.length === 2 ? toGroups(halves[1]!) : [];
  if (halves.length === 1 && head.length !== 8) throw new PrefixSyntaxError(text, 'expected 8 groups');
  if (head.length + tail.length > (halves.length === 2 ? 7 : 8)) throw new PrefixSyntaxError(text, 'too many groups');
  const groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  for (let i = 0; i < 4; i++) out[i] = ((groups[2 * i]! << 16) | groups[2 * i + 1]!) >>> 0;
  return out;
}

export function formatIpv6(w: ArrayLike<number>): string {
  const g: number[] = [];
  for (let i = 0; i < 4; i++) g.push(w[i]! >>> 16, w[i]! & 0xffff);
  // Longest run of zero groups (length ≥ 2) becomes '::' (RFC 5952).
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = (a: number[]): string => a.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

export function familyOfAddress(text: string): Family {
  return text.includes(':') ? 'ipv6' : 'ipv4';
}

/** Mask of the top `len` bits of a u32 word. */
export function mask32(len: number): number {
  return len <= 0 ? 0 : len >= 32 ? 0xffffffff : (0xffffffff << (32 - len)) >>> 0;
}

export function parsePrefix(text: string): ParsedPrefix {
  const slash = text.indexOf('/');
  if (slash < 0) throw new PrefixSyntaxError(text, "missing '/len'");
  const addr = text.slice(0, slash), lenText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText)) throw new PrefixSyntaxError(text, 'bad length');
  const len = Number(lenText);
  const family = familyOfAddress(addr);
  const words = family === 'ipv4' ? Uint32Array.of(parseIpv4(addr)) : parseIpv6(addr);
  if (len > words.length * 32) throw new PrefixSyntaxError(text, 'length too long');
  for (let i = 0; i < words.length; i++) words[i] = (words[i]! & mask32(len - 32 * i)) >>> 0;
  return { family, words, len };
}

export function formatPrefix(family: Family, words: ArrayLike<number>, len: number): string {
  return `${family === 'ipv4' ? formatIpv4(words[0]!) : formatIpv6(words)}/${len}`;
}

/** True when prefix (w, len) lies inside (cw, clen). Both of the same family. */
export function prefixWithin(w: ArrayLike<number>, len: number, cw: ArrayLike<number>, clen: number): boolean {
  if (len < clen) return false;
  for (let i = 0; i * 32 < clen; i++) {
    const m = mask32(clen - 32 * i);
    if (((w[i]! & m) >>> 0) !== ((cw[i]! & m) >>> 0)) return false;
  }
  return true;
}
