import { ERR, HEADER_LEN, HEADER_SUBCODE, MARKER_LEN, MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN } from './constants.js';
import { sessionReset, type BgpProtocolError } from './errors.js';

const EMPTY = Buffer.alloc(0);

export function hasMarker(buf: Buffer, off: number): boolean {
  for (let i = 0; i < MARKER_LEN; i++) if (buf[off + i] !== 0xff) return false;
  return true;
}

export function notSynchronized(): BgpProtocolError {
  return sessionReset(ERR.HEADER, HEADER_SUBCODE.NOT_SYNCHRONIZED, EMPTY, 'marker is not all ones');
}

/** 1/2 with the offending 2-byte length field as data. */
export function badLength(len: number): BgpProtocolError {
  const data = Buffer.alloc(2);
  data.writeUInt16BE(len & 0xffff);
  return sessionReset(ERR.HEADER, HEADER_SUBCODE.BAD_LENGTH, data, `bad message length ${len}`);
}

/**
 * Splits a TCP byte stream into whole BGP messages (header included). Checks the marker (1/1) and the
 * length bounds (1/2) as soon as a header is complete, so a peer cannot make us buffer garbage. Returned
 * messages are views into the pushed chunks; bytes are copied only when a message straddles chunks.
 * After a thrown error the framer is unusable (the session resets).
 */
export class Framer {
  #pending: Buffer = EMPTY;
  #maxLen: number;

  constructor(maxLen: number = MAX_MESSAGE_LEN) {
    this.#maxLen = maxLen;
  }

  /** Raise the limit to 65535 once the extended-message capability is negotiated (RFC 8654). */
  setMaxLength(maxLen: number): void {
    this.#maxLen = Math.min(maxLen, MAX_EXTENDED_MESSAGE_LEN);
  }

  get maxLength(): number {
    return this.#maxLen;
  }

  /** Bytes held waiting for the rest of a message. */
  get pendingBytes(): number {
    return this.#pending.length;
  }

  /**
   * Whole messages from `chunk`, appended to `out` (a fresh array by default). When a header error
   * follows good messages in the same chunk, the good ones are already in `out` when the error is
   * thrown: pass your own `out` to keep them (a peer's NOTIFICATION followed by garbage is still seen).
   */
  push(chunk: Buffer, out: Buffer[] = []): Buffer[] {
    const buf = chunk;
    let off = 0;
    if (this.#pending.length > 0) {
      const joined = this.#completePending(chunk);
      if (joined === undefined) return out;
      out.push(joined.msg);
      off = joined.used;
    }
    while (buf.length - off >= HEADER_LEN) {
      const len = this.#checkHeader(buf, off);
      if (buf.length - off < len) break;
      out.push(buf.subarray(off, (off += len)));
    }
    if (off < buf.length) {
      const rest = buf.subarray(off);
      if (rest.length < HEADER_LEN && !hasMarkerPrefix(rest)) throw notSynchronized();
      this.#pending = Buffer.from(rest);
    } else {
      this.#pending = EMPTY;
    }
    return out;
  }

  /** Feed chunk bytes into the pending partial message; returns the message once whole. */
  #completePending(chunk: Buffer): { msg: Buffer; used: number } | undefined {
    const p = this.#pending;
    if (p.length < HEADER_LEN) {
      const take = Math.min(HEADER_LEN - p.length, chunk.length);
      const head = Buffer.concat([p, chunk.subarray(0, take)]);
      if (head.length < HEADER_LEN) {
        if (!hasMarkerPrefix(head)) throw notSynchronized();
        this.#pending = head;
        return undefined;
      }
      const len = this.#checkHeader(head, 0);
      return this.#fill(head, len, chunk, take);
    }
    return this.#fill(p, p.readUInt16BE(MARKER_LEN), chunk, 0);
  }

  #fill(have: Buffer, len: number, chunk: Buffer, used: number): { msg: Buffer; used: number } | undefined {
    const need = len - have.length;
    if (chunk.length - used < need) {
      this.#pending = Buffer.concat([have, chunk.subarray(used)]);
      return undefined;
    }
    const msg = Buffer.concat([have, chunk.subarray(used, used + need)], len);
    this.#pending = EMPTY;
    return { msg, used: used + need };
  }

  #checkHeader(buf: Buffer, off: number): number {
    if (!hasMarker(buf, off)) throw notSynchronized();
    const len = buf.readUInt16BE(off + MARKER_LEN);
    if (len < HEADER_LEN || len > this.#maxLen) throw badLength(len);
    return len;
  }
}

/** True when every byte present is 0xff (a marker still arriving). */
function hasMarkerPrefix(b: Buffer): boolean {
  const n = Math.min(b.length, MARKER_LEN);
  for (let i = 0; i < n; i++) if (b[i] !== 0xff) return false;
  return true;
}
