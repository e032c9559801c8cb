/** Shared helpers for the codec's unit tests (not part of the public API). */
import { BgpProtocolError } from './errors.js';

export const MARKER = 'ff'.repeat(16);

export function hexOf(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** Parse hex allowing spaces and newlines. */
export function fromHex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

/** Run `fn`, expect a BgpProtocolError, return it. */
export function protocolErrorOf(fn: () => unknown): BgpProtocolError {
  try {
    fn();
  } catch (e) {
    if (e instanceof BgpProtocolError) return e;
    throw e;
  }
  throw new Error('expected a BgpProtocolError, nothing was thrown');
}

/** (code, subcode, data hex, action) of an error, for exact matrix assertions. */
export function reaction(e: BgpProtocolError): [number, number, string, string] {
  return [e.errorCode, e.subcode, hexOf(e.data), e.action];
}
