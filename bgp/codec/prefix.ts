/**
 * NLRI prefixes: validation of wire blocks into `NlriList` views, the allocation-free iterator, and text
 * conversion for humans, tests and config. Nothing here allocates per prefix except the text helpers.
 */
import { AFI } from './constants.js';
import { PrefixSyntaxError } from './errors.js';
import type { NlriList } from './types.js';

export function maxPrefixLen(afi: number): number {
  return afi === AFI.IPV6 ? 128 : 32;
}

export const EMPTY_BUF = Buffer.alloc(0);

export function emptyNlriList(afi: number, safi: number, addPath = false): NlriList {
  return { afi, safi, addPath, buf: EMPTY_BUF, start: 0, end: 0, count: 0 };
}

/**
 * Validate `buf[start, end)` as a block of prefixes and return it as a view; undefined when a prefix
 * length exceeds the family maximum or the block does not end on a prefix boundary.
 */
export function scanNlri(
  buf: Buffer,
  start: number,
  end: number,
  afi: number,
  safi: number,
  addPath: boolean,
): NlriList | undefined {
  const max = maxPrefixLen(afi);
  const head = addPath ? 5 : 1;
  let off = start;
  let count = 0;
  while (off < end) {
    if (off + head > end) return undefined;
    const len = buf[off + head - 1]!;
    if (len > max) return undefined;
    off += head + ((len + 7) >>> 3);
    count++;
  }
  if (off !== end) return undefined;
  return { afi, safi, addPath, buf, start, end, count };
}

export type NlriVisitor = (pathId: number, prefixLen: number, buf: Buffer, byteOff: number) => void;

/**
 * Call `fn` for each prefix: `pathId` (0 without ADD-PATH), the length in bits, and where its
 * `ceil(len/8)` address bytes start in `buf`. No allocation.
 */
export function forEachNlri(list: NlriList, fn: NlriVisitor): void {
  const { buf, end, addPath } = list;
  let off = list.start;
  if (addPath) {
    while (off < end) {
      const pathId = buf.readUInt32BE(off);
      const len = buf[off + 4]!;
      fn(pathId, len, buf, off + 5);
      off += 5 + ((len + 7) >>> 3);
    }
  } else {
    while (off < end) {
      const len = buf[off]!;
      fn(0, len, buf, off + 1);
      off += 1 + ((len + 7) >>> 3);
    }
  }
}

/** Read an IPv4 prefix's address as a u32 (host bits from the wire are kept as sent). */
export function readIpv4Prefix(prefixLen: number, buf: Buffer, byteOff: number): number {
  const n = (prefixLen + 7) >>> 3;
  let v = 0;
  for (let i = 0; i < 4; i++) v = (v << 8) | (i < n ? buf[byteOff + i]! : 0);
  return v >>> 0;
}

export function ipv4ToString(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

export function ipv6ToString(b: Uint8Array, off = 0): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Text of one NLRI prefix, e.g. `10.0.0.0/24` or `2001:db8::/32`. */
export function nlriToString(afi: number, prefixLen: number, buf: Buffer, byteOff: number): string {
  const n = (prefixLen + 7) >>> 3;
  if (afi === AFI.IPV6) {
    const b = new Uint8Array(16);
    for (let i = 0; i < n; i++) b[i] = buf[byteOff + i]!;
    return `${ipv6ToString(b)}/${prefixLen}`;
  }
  return `${ipv4ToString(readIpv4Prefix(prefixLen, buf, byteOff))}/${prefixLen}`;
}

/** All prefixes of a list as text (tests, CLI; allocates). Path ids are appended as `#id` when ADD-PATH. */
export function nlriListToStrings(list: NlriList): string[] {
  const out: string[] = [];
  forEachNlri(list, (pathId, len, buf, off) => {
    const s = nlriToString(list.afi, len, buf, off);
    out.push(list.addPath ? `${s}#${pathId}` : s);
  });
  return out;
}

export interface ParsedPrefix {
  readonly afi: number;
  readonly length: number;
  /** 4 or 16 bytes, host bits zeroed. */
  readonly address: Buffer;
}

/** Parse an IPv4 or IPv6 address (no prefix length) into 4 or 16 bytes; undefined when invalid. */
export function parseAddress(text: string): Buffer | undefined {
  if (text.includes(':')) return parseIpv6(text);
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = Buffer.alloc(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    out[i] = Number(p);
  }
  return out;
}

function parseIpv6(text: string): Buffer | undefined {
  let s = text;
  const lastColon = s.lastIndexOf(':');
  const last = s.slice(lastColon + 1);
  if (last.includes('.')) {
    const v4 = parseAddress(last);
    if (!v4 || v4.length !== 4) return undefined;
    s = `${s.slice(0, lastColon + 1)}${v4.readUInt16BE(0).toString(16)}:${v4.readUInt16BE(2).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parse = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    for (const w of h.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(w)) return undefined;
      out.push(parseInt(w, 16));
    }
    return out;
  };
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  if (!head || !rest) return undefined;
  const words = [...head];
  if (halves.length === 2) {
    const fill = 8 - head.length - rest.length;
    if (fill < 1) return undefined;
    for (let i = 0; i < fill; i++) words.push(0);
    words.push(...rest);
  }
  if (words.length !== 8) return undefined;
  const out = Buffer.alloc(16);
  words.forEach((w, i) => out.writeUInt16BE(w, 2 * i));
  return out;
}

/** Parse `10.0.0.0/24` or `2001:db8::/32`; host bits are cleared. Undefined when not a valid prefix. */
export function parsePrefix(text: string): ParsedPrefix | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = parseAddress(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (!address || !/^\d{1,3}$/.test(lenText)) return undefined;
  const length = Number(lenText);
  const afi = address.length === 16 ? AFI.IPV6 : AFI.IPV4;
  if (length > maxPrefixLen(afi)) return undefined;
  for (let bit = length; bit < address.length * 8; bit++) address[bit >>> 3]! &= ~(0x80 >>> (bit & 7));
  return { afi, length, address };
}

/** Encode one prefix in wire format into `out` at `off`; returns the new offset. */
export function writeNlri(out: Buffer, off: number, prefixLen: number, address: Uint8Array, addrOff: number, pathId?: number): number {
  if (pathId !== undefined) {
    out.writeUInt32BE(pathId >>> 0, off);
    off += 4;
  }
  out[off++] = prefixLen;
  const n = (prefixLen + 7) >>> 3;
  for (let i = 0; i < n; i++) out[off + i] = address[addrOff + i]!;
  if (n > 0 && (prefixLen & 7) !== 0) out[off + n - 1]! &= (0xff00 >>> (prefixLen & 7)) & 0xff;
  return off + n;
}

/** Wire bytes of prefixes given as text (tests, CLI, origination). */
export function encodePrefixes(texts: readonly string[], pathIds?: readonly number[]): Buffer {
  const parsed = texts.map((t) => {
    const p = parsePrefix(t);
    if (!p) throw new PrefixSyntaxError(t);
    return p;
  });
  const size = parsed.reduce((s, p) => s + 1 + (pathIds ? 4 : 0) + ((p.length + 7) >>> 3), 0);
  const out = Buffer.alloc(size);
  let off = 0;
  parsed.forEach((p, i) => {
    off = writeNlri(out, off, p.length, p.address, 0, pathIds?.[i]);
  });
  return out;
}
