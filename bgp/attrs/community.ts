/** Community text forms (RFC 1997 standard, RFC 8092 large) and the well-known values. */
import { MargayError } from '../../src/errors.js';

export const WELL_KNOWN = {
  'graceful-shutdown': 0xffff0000,
  blackhole: 0xffff029a,
  'no-export': 0xffffff01,
  'no-advertise': 0xffffff02,
  'no-export-subconfed': 0xffffff03,
  'no-peer': 0xffffff04,
} as const;

export class CommunitySyntaxError extends MargayError {
  readonly code = 'MGY_BGP_COMMUNITY_SYNTAX';
  constructor(readonly text: string) {
    super(`invalid community ${JSON.stringify(text)}: expected 'asn:value', 'a:b:c' or a well-known name`);
  }
}

const U16 = /^\d{1,5}$/;
const U32 = /^\d{1,10}$/;

export function parseCommunity(text: string): number {
  const wk = (WELL_KNOWN as Record<string, number>)[text.toLowerCase()];
  if (wk !== undefined) return wk;
  const [a, b, extra] = text.split(':');
  if (extra !== undefined || a === undefined || b === undefined || !U16.test(a) || !U16.test(b))
    throw new CommunitySyntaxError(text);
  const hi = Number(a),
    lo = Number(b);
  if (hi > 0xffff || lo > 0xffff) throw new CommunitySyntaxError(text);
  return ((hi << 16) | lo) >>> 0;
}

export function formatCommunity(c: number): string {
  for (const [name, v] of Object.entries(WELL_KNOWN)) if (v === c) return name;
  return `${c >>> 16}:${c & 0xffff}`;
}

/** Large community 'a:b:c' as a triple of u32. */
export function parseLargeCommunity(text: string): readonly [number, number, number] {
  const parts = text.split(':');
  if (parts.length !== 3 || !parts.every((p) => U32.test(p) && Number(p) <= 0xffffffff))
    throw new CommunitySyntaxError(text);
  return [Number(parts[0]), Number(parts[1]), Number(parts[2])];
}

export function formatLargeCommunities(flat: readonly number[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 2 < flat.length; i += 3) out.push(`${flat[i]}:${flat[i + 1]}:${flat[i + 2]}`);
  return out;
}
