/**
 * RFC 6793 §4.2.3: rebuild the real AS path and aggregator from a 2-octet speaker's AS_PATH/AGGREGATOR
 * and its AS4_PATH/AS4_AGGREGATOR. Pure, allocation per UPDATE only.
 */
import { AS_PATH_SEGMENT, AS_TRANS } from './constants.js';
import type { Aggregator, AsPathSegment } from './types.js';

/** Path length as RFC 6793 counts it: each AS in a sequence is 1, a set is 1, confederation segments 0. */
export function countAsPath(path: readonly AsPathSegment[]): number {
  let n = 0;
  for (const s of path) {
    if (s.type === AS_PATH_SEGMENT.AS_SEQUENCE) n += s.asns.length;
    else if (s.type === AS_PATH_SEGMENT.AS_SET) n += 1;
  }
  return n;
}

export function mergeAs4Path(asPath: readonly AsPathSegment[], as4Path: readonly AsPathSegment[]): AsPathSegment[] {
  const n = countAsPath(asPath);
  const m = countAsPath(as4Path);
  if (n < m) return asPath.slice();
  let keep = n - m;
  const out: AsPathSegment[] = [];
  for (const s of asPath) {
    if (s.type === AS_PATH_SEGMENT.AS_CONFED_SEQUENCE || s.type === AS_PATH_SEGMENT.AS_CONFED_SET) {
      out.push(s);
      continue;
    }
    if (keep === 0) break;
    if (s.type === AS_PATH_SEGMENT.AS_SET) {
      out.push(s);
      keep -= 1;
    } else {
      const take = Math.min(keep, s.asns.length);
      out.push({ type: s.type, asns: s.asns.slice(0, take) });
      keep -= take;
    }
  }
  // Join the seam: the kept head of AS_PATH and the first AS4_PATH segment are one sequence.
  const joinAt = out.length;
  for (const s of as4Path) out.push(s);
  const head = out[joinAt - 1];
  const first = out[joinAt];
  if (
    head &&
    first &&
    head.type === AS_PATH_SEGMENT.AS_SEQUENCE &&
    first.type === AS_PATH_SEGMENT.AS_SEQUENCE &&
    head.asns.length + first.asns.length <= 255
  ) {
    out.splice(joinAt - 1, 2, { type: head.type, asns: [...head.asns, ...first.asns] });
  }
  return out;
}

export interface As4Inputs {
  readonly asPath: readonly AsPathSegment[] | undefined;
  readonly aggregator: Aggregator | undefined;
  readonly as4Path: readonly AsPathSegment[] | undefined;
  readonly as4Aggregator: Aggregator | undefined;
}

/** Returns the real AS path and aggregator for a session without 4-octet AS support. */
export function reconcileAs4(x: As4Inputs): {
  asPath: readonly AsPathSegment[] | undefined;
  aggregator: Aggregator | undefined;
} {
  if (x.aggregator && x.as4Aggregator && x.aggregator.asn !== AS_TRANS) {
    // §4.2.3: with both present, an AGGREGATOR other than AS_TRANS means the AS4_* attributes are stale.
    return { asPath: x.asPath, aggregator: x.aggregator };
  }
  const aggregator = x.aggregator && x.as4Aggregator ? x.as4Aggregator : x.aggregator;
  const asPath = x.asPath && x.as4Path ? mergeAs4Path(x.asPath, x.as4Path) : x.asPath;
  return { asPath, aggregator };
}

/** True when some ASN in the path does not fit in 2 octets. */
export function needsAs4(path: readonly AsPathSegment[]): boolean {
  return path.some((s) => s.asns.some((a) => a > 0xffff));
}
