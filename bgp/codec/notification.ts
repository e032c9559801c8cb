/**
 * NOTIFICATION (RFC 4271 §4.5) with RFC 9003 shutdown communication (Cease 2 and 4: a length byte then
 * UTF-8 text of at most 255 bytes) and RFC 8538 Hard Reset (Cease 9 wrapping the real code and subcode).
 * A NOTIFICATION never causes another one: decoding only needs the 2 fixed bytes.
 */
import { CEASE_SUBCODE, ERR, HEADER_LEN, MSG_TYPE } from './constants.js';
import { frameMessage } from './header.js';
import type { NotificationMessage } from './types.js';

const UTF8 = new TextDecoder('utf-8', { fatal: true });

export function isShutdownCommunication(code: number, subcode: number): boolean {
  return code === ERR.CEASE && (subcode === CEASE_SUBCODE.ADMIN_SHUTDOWN || subcode === CEASE_SUBCODE.ADMIN_RESET);
}

function decodeShutdown(data: Buffer): string | undefined {
  if (data.length === 0) return undefined;
  const len = data[0]!;
  if (len === 0 || 1 + len > data.length) return undefined;
  let text: string;
  try {
    text = UTF8.decode(data.subarray(1, 1 + len));
  } catch (err) {
    // RFC 9003 §5: an invalid message is not an error for the session; we report it as absent.
    if (err instanceof TypeError) return undefined;
    throw err;
  }
  return text;
}

/** Decode the body of a NOTIFICATION; `msg` is the whole message including the header. */
export function decodeNotification(msg: Buffer): NotificationMessage {
  const errorCode = msg[HEADER_LEN]!;
  const subcode = msg[HEADER_LEN + 1]!;
  const data = msg.subarray(HEADER_LEN + 2);
  if (isShutdownCommunication(errorCode, subcode)) {
    return { type: 'notification', errorCode, subcode, data, shutdownMessage: decodeShutdown(data) };
  }
  if (errorCode === ERR.CEASE && subcode === CEASE_SUBCODE.HARD_RESET && data.length >= 2) {
    const inner = { errorCode: data[0]!, subcode: data[1]!, data: data.subarray(2) };
    const shutdownMessage = isShutdownCommunication(inner.errorCode, inner.subcode)
      ? decodeShutdown(inner.data)
      : undefined;
    return { type: 'notification', errorCode, subcode, data, hardReset: inner, shutdownMessage };
  }
  return { type: 'notification', errorCode, subcode, data };
}

/** Encode a NOTIFICATION. Data is truncated so the message fits `maxLen` (4096 unless extended). */
export function encodeNotification(
  errorCode: number,
  subcode: number,
  data: Uint8Array = Buffer.alloc(0),
  maxLen = 4096,
): Buffer {
  const room = maxLen - HEADER_LEN - 2;
  const d = data.length > room ? data.subarray(0, room) : data;
  const body = Buffer.alloc(2 + d.length);
  body[0] = errorCode;
  body[1] = subcode;
  body.set(d, 2);
  return frameMessage(MSG_TYPE.NOTIFICATION, body);
}

/** RFC 9003 data: a length byte and the UTF-8 text cut to 255 bytes on a character boundary. */
export function shutdownData(message: string): Buffer {
  let bytes = Buffer.from(message, 'utf8');
  if (bytes.length > 255) {
    let cut = 255;
    while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
    bytes = bytes.subarray(0, cut);
  }
  return Buffer.concat([Buffer.from([bytes.length]), bytes]);
}

/** Cease 2 (administrative shutdown) or 4 (administrative reset) with an RFC 9003 message. */
export function encodeShutdown(subcode: 2 | 4, message: string): Buffer {
  return encodeNotification(ERR.CEASE, subcode, shutdownData(message));
}

/** RFC 8538 Hard Reset: Cease 9 whose data is the wrapped code, subcode and data. */
export function encodeHardReset(errorCode: number, subcode: number, data: Uint8Array = Buffer.alloc(0)): Buffer {
  const inner = Buffer.alloc(2 + data.length);
  inner[0] = errorCode;
  inner[1] = subcode;
  inner.set(data, 2);
  return encodeNotification(ERR.CEASE, CEASE_SUBCODE.HARD_RESET, inner);
}
