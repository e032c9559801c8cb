import { HEADER_LEN, MARKER_LEN } from './constants.js';

/** Write marker, length and type at `off`. */
export function writeHeader(buf: Buffer, off: number, length: number, type: number): void {
  buf.fill(0xff, off, off + MARKER_LEN);
  buf.writeUInt16BE(length, off + MARKER_LEN);
  buf[off + MARKER_LEN + 2] = type;
}

/** A whole message: header followed by `body`. */
export function frameMessage(type: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(HEADER_LEN + body.length);
  writeHeader(out, 0, out.length, type);
  body.copy(out, HEADER_LEN);
  return out;
}
