/**
 * Splits an encoded UPDATE (header included, or body only) into the RibUpdate fields without copying.
 * For tests, benchmarks and tools that hold raw messages; the speaker uses the codec's decoded form.
 * Only the field lengths are checked: run the codec first for full validation.
 */
import { RibInputError } from './attrs.js';
import type { RibUpdate } from './types.js';

export function ribUpdateFromBody(body: Uint8Array, start = 0, end = body.length): RibUpdate {
  if (end - start < 4) throw new RibInputError('UPDATE body shorter than 4 bytes');
  const wl = (body[start]! << 8) | body[start + 1]!;
  const ws = start + 2,
    we = ws + wl;
  if (we + 2 > end) throw new RibInputError('withdrawn routes overrun');
  const al = (body[we]! << 8) | body[we + 1]!;
  const as = we + 2,
    ae = as + al;
  if (ae > end) throw new RibInputError('path attributes overrun');
  return {
    withdrawn: { buf: body, start: ws, end: we },
    attrs: body.subarray(as, ae),
    nlri: { buf: body, start: ae, end },
  };
}

/** Same for a whole message (19-byte header). */
export function ribUpdateFromMessage(msg: Uint8Array): RibUpdate {
  if (msg.length < 23 || msg[18] !== 2) throw new RibInputError('not an UPDATE message');
  return ribUpdateFromBody(msg, 19, msg.length);
}
