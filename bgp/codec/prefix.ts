/**
 * NLRI prefixes: validation of wire blocks into `NlriList` views, the allocation-free iterator, and text
 * conversion for humans, tests and config. Nothing here allocates per prefix except the text helpers.
 */
import { AFI } from './constants.js';
import {
  addressToBytes,
  formatIpv4,
  formatIpv6Bytes,
  parsePrefix as netParsePrefix,
  tryParseAddress,
  tryParsePrefix,
} from '../../src/net/index.js';
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

/** Dotted-quad text of a u32 (src/net's formatter). */
export const ipv4ToString = formatIpv4;

/** RFC 5952 text of 16 address bytes at `off` (src/net's formatter). */
export const ipv6ToString = formatIpv6Bytes;

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

/** An IPv4 or IPv6 address (no prefix length) as 4 or 16 bytes; undefined when invalid (src/net syntax). */
export function parseAddress(text: string): Buffer | undefined {
  const a = tryParseAddress(text);
  return a && Buffer.from(addressToBytes(a));
}

/** Parse `10.0.0.0/24` or `2001:db8::/32`; host bits are cleared. Undefined when not a valid prefix. */
export function parsePrefix(text: string): ParsedPrefix | undefined {
  const p = tryParsePrefix(text);
  if (!p) return undefined;
  const address = Buffer.from(addressToBytes({ family: p.family, value: p.network }));
  return { afi: p.family === 'ipv6' ? AFI.IPV6 : AFI.IPV4, length: p.length, address };
}

/** Encode one prefix in wire format into `out` at `off`; returns the new offset. */
export function writeNlri(
  out: Buffer,
  off: number,
  prefixLen: number,
  address: Uint8Array,
  addrOff: number,
  pathId?: number,
): number {
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
    const p = netParsePrefix(t);
    return { length: p.length, address: addressToBytes({ family: p.family, value: p.network }) };
  });
  const size = parsed.reduce((s, p) => s + 1 + (pathIds ? 4 : 0) + ((p.length + 7) >>> 3), 0);
  const out = Buffer.alloc(size);
  let off = 0;
  parsed.forEach((p, i) => {
    off = writeNlri(out, off, p.length, p.address, 0, pathIds?.[i]);
  });
  return out;
}
