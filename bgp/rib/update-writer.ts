/**
 * UpdateWriter: packs prefixes straight from the PrefixTable's typed arrays into UPDATE messages
 * (19-byte header included), as many NLRI per message as fit in `maxLen` (4096, or 65535 with RFC 8654
 * extended messages). One encoded attribute block is reused for every message of a group. Messages
 * are carved from large slabs to avoid one allocation per message. IPv4 with an IPv4 next hop uses the
 * classic fields; IPv6, and IPv4 with an IPv6 next hop (RFC 8950), use MP_REACH / MP_UNREACH.
 */
import { InvariantError } from '../../src/errors.js';
import { ATTR, FLAG } from './attrs.js';
import type { PrefixTable } from './prefix-table.js';
import { AFI, SAFI_UNICAST, type Family } from './types.js';

const HEADER = 19;
const TYPE_UPDATE = 2;
const SLAB = 256 * 1024;

/** Bytes of an UPDATE before its first NLRI with the classic fields: header, both length fields, attributes. */
export function v4Overhead(attrLen: number): number {
  return HEADER + 4 + attrLen;
}

/**
 * The same for MP_REACH: header, length fields, MP_REACH's extended-length header, AFI, SAFI, next hop
 * length, next hop, reserved byte, then the other attributes.
 */
export function mpOverhead(nextHopLen: number, attrLen: number): number {
  return HEADER + 4 + 4 + 3 + 1 + nextHopLen + 1 + attrLen;
}

/** Bytes one NLRI of this prefix length takes (no ADD-PATH id: ADD-PATH send is not implemented). */
export function nlriBytes(len: number): number {
  return 1 + ((len + 7) >>> 3);
}

/** Callers must drop routes whose attributes leave no room for their NLRI (see rib-out `roomFor`). */
function noProgress(what: string, overhead: number, maxLen: number): InvariantError {
  return new InvariantError(
    `UpdateWriter.${what}: ${overhead} bytes before the NLRI leave no room for the next prefix within ${maxLen}`,
  );
}

export class UpdateWriter {
  readonly out: Buffer[] = [];
  bytes = 0;
  #slab = Buffer.allocUnsafe(0);
  #slabOff = 0;
  constructor(readonly maxLen: number) {
    if (!(maxLen >= 4096 && maxLen <= 65535))
      throw new InvariantError(`UpdateWriter: message limit ${maxLen} outside 4096..65535`);
  }

  #begin(): Buffer {
    if (this.#slab.length - this.#slabOff < this.maxLen) {
      this.#slab = Buffer.allocUnsafe(Math.max(SLAB, this.maxLen));
      this.#slabOff = 0;
    }
    const b = this.#slab.subarray(this.#slabOff);
    b.fill(0xff, 0, 16);
    b[18] = TYPE_UPDATE;
    return b;
  }

  #finish(b: Buffer, len: number): void {
    b.writeUInt16BE(len, 16);
    this.out.push(b.subarray(0, len));
    this.#slabOff += len;
    this.bytes += len;
  }

  /** Writes NLRI for indices[from..to) starting at `pos`, stopping when the next would pass maxLen. */
  #nlri(
    b: Buffer,
    pos: number,
    max: number,
    t: PrefixTable,
    idx: ArrayLike<number>,
    from: number,
    to: number,
  ): [number, number] {
    const keys = t.keys,
      lens = t.lens,
      w = t.words;
    let i = from;
    for (; i < to; i++) {
      const p = idx[i]!,
        len = lens[p]!,
        nb = (len + 7) >>> 3;
      if (pos + 1 + nb > max) break;
      b[pos++] = len;
      let k = p * w;
      for (let j = 0; j < nb; j += 4, k++) {
        const word = keys[k]!;
        b[pos] = word >>> 24;
        if (j + 1 < nb) b[pos + 1] = (word >>> 16) & 255;
        if (j + 2 < nb) b[pos + 2] = (word >>> 8) & 255;
        if (j + 3 < nb) b[pos + 3] = word & 255;
        pos += Math.min(4, nb - j);
      }
    }
    return [pos, i];
  }

  /** IPv4 withdrawals in the Withdrawn Routes field. */
  withdrawV4(t: PrefixTable, idx: ArrayLike<number>, from: number, to: number): void {
    while (from < to) {
      const b = this.#begin();
      const [pos, next] = this.#nlri(b, HEADER + 2, this.maxLen - 2, t, idx, from, to);
      b.writeUInt16BE(pos - HEADER - 2, HEADER);
      b.writeUInt16BE(0, pos);
      this.#finish(b, pos + 2);
      from = next;
    }
  }

  /** IPv4 announcements with classic NEXT_HOP (attrs already contain it). */
  announceV4(attrs: Uint8Array, t: PrefixTable, idx: ArrayLike<number>, from: number, to: number): void {
    const over = v4Overhead(attrs.length);
    while (from < to) {
      if (over + nlriBytes(t.lens[idx[from]!]!) > this.maxLen) throw noProgress('announceV4', over, this.maxLen);
      const b = this.#begin();
      b.writeUInt16BE(0, HEADER);
      b.writeUInt16BE(attrs.length, HEADER + 2);
      b.set(attrs, HEADER + 4);
      const [pos, next] = this.#nlri(b, HEADER + 4 + attrs.length, this.maxLen, t, idx, from, to);
      this.#finish(b, pos);
      from = next;
    }
  }

  /** MP_REACH announcements (IPv6, or IPv4 with an IPv6 next hop). */
  announceMp(
    family: Family,
    nextHop: Uint8Array,
    attrs: Uint8Array,
    t: PrefixTable,
    idx: ArrayLike<number>,
    from: number,
    to: number,
  ): void {
    const over = mpOverhead(nextHop.length, attrs.length);
    while (from < to) {
      if (over + nlriBytes(t.lens[idx[from]!]!) > this.maxLen) throw noProgress('announceMp', over, this.maxLen);
      const b = this.#begin();
      b.writeUInt16BE(0, HEADER);
      let pos = HEADER + 4;
      b[pos] = FLAG.OPTIONAL | FLAG.EXTENDED_LENGTH;
      b[pos + 1] = ATTR.MP_REACH_NLRI;
      const lenAt = pos + 2;
      pos += 4;
      b.writeUInt16BE(AFI[family], pos);
      b[pos + 2] = SAFI_UNICAST;
      b[pos + 3] = nextHop.length;
      b.set(nextHop, pos + 4);
      pos += 4 + nextHop.length;
      b[pos++] = 0;
      const [end, next] = this.#nlri(b, pos, this.maxLen - attrs.length, t, idx, from, to);
      b.writeUInt16BE(end - lenAt - 2, lenAt);
      b.set(attrs, end);
      b.writeUInt16BE(end + attrs.length - HEADER - 4, HEADER + 2);
      this.#finish(b, end + attrs.length);
      from = next;
    }
  }

  /** MP_UNREACH withdrawals. */
  withdrawMp(family: Family, t: PrefixTable, idx: ArrayLike<number>, from: number, to: number): void {
    while (from < to) {
      const b = this.#begin();
      b.writeUInt16BE(0, HEADER);
      let pos = HEADER + 4;
      b[pos] = FLAG.OPTIONAL | FLAG.EXTENDED_LENGTH;
      b[pos + 1] = ATTR.MP_UNREACH_NLRI;
      const lenAt = pos + 2;
      pos += 4;
      b.writeUInt16BE(AFI[family], pos);
      b[pos + 2] = SAFI_UNICAST;
      const [end, next] = this.#nlri(b, pos + 3, this.maxLen, t, idx, from, to);
      b.writeUInt16BE(end - lenAt - 2, lenAt);
      b.writeUInt16BE(end - HEADER - 4, HEADER + 2);
      this.#finish(b, end);
      from = next;
    }
  }

  /** End-of-RIB marker (RFC 4724 §2). */
  endOfRib(family: Family): void {
    const b = this.#begin();
    b.writeUInt16BE(0, HEADER);
    if (family === 'ipv4') {
      b.writeUInt16BE(0, HEADER + 2);
      this.#finish(b, HEADER + 4);
      return;
    }
    b.writeUInt16BE(6, HEADER + 2);
    b[HEADER + 4] = FLAG.OPTIONAL;
    b[HEADER + 5] = ATTR.MP_UNREACH_NLRI;
    b[HEADER + 6] = 3;
    b.writeUInt16BE(AFI[family], HEADER + 7);
    b[HEADER + 9] = SAFI_UNICAST;
    this.#finish(b, HEADER + 10);
  }
}
