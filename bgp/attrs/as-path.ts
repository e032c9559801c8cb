/** AS path helpers (RFC 4271 §5.1.2, RFC 6793 §4.2.3): length for best path, AS4 merge, text, prepend. */
import { SEG, type AsPathSegment } from './route-attrs.js';

export function asPathLength(path: readonly AsPathSegment[]): number {
  let n = 0;
  for (const s of path) n += s.type === SEG.AS_SEQUENCE ? s.asns.length : s.type === SEG.AS_SET ? 1 : 0;
  return n;
}

/** RFC 6793 §4.2.3: rebuild the 4-octet path from AS_PATH (with AS_TRANS) and AS4_PATH. */
export function mergeAs4Path(asPath: readonly AsPathSegment[], as4: readonly AsPathSegment[]): AsPathSegment[] {
  const n2 = asPathLength(asPath),
    n4 = asPathLength(as4);
  if (n4 > n2) return [...asPath];
  let keep = n2 - n4;
  const out: AsPathSegment[] = [];
  for (const s of asPath) {
    if (keep <= 0) break;
    if (s.type === SEG.AS_SET) {
      out.push(s);
      keep -= 1;
      continue;
    }
    if (s.type !== SEG.AS_SEQUENCE) {
      out.push(s);
      continue;
    }
    const take = Math.min(keep, s.asns.length);
    out.push({ type: s.type, asns: s.asns.slice(0, take) });
    keep -= take;
  }
  return [...out, ...as4];
}

export function asPathText(path: readonly AsPathSegment[]): string {
  return path
    .map((s) => (s.type === SEG.AS_SET || s.type === SEG.AS_CONFED_SET ? `{${s.asns.join(' ')}}` : s.asns.join(' ')))
    .filter((t) => t !== '')
    .join(' ');
}

export function prependAs(path: readonly AsPathSegment[], as: number, count: number): AsPathSegment[] {
  if (count <= 0) return [...path];
  const add = new Array<number>(count).fill(as);
  const first = path[0];
  if (first && first.type === SEG.AS_SEQUENCE && first.asns.length + count <= 255) {
    return [{ type: SEG.AS_SEQUENCE, asns: [...add, ...first.asns] }, ...path.slice(1)];
  }
  return [{ type: SEG.AS_SEQUENCE, asns: add }, ...path];
}
