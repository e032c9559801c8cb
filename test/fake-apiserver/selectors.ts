/**
 * Label and field selectors as kube-apiserver parses them from `?labelSelector=` and `?fieldSelector=`.
 *
 * Label selector grammar (k8s.io/apimachinery/pkg/labels): comma-separated requirements, each one of
 * `key`, `!key`, `key=v`, `key==v`, `key!=v`, `key in (a,b)`, `key notin (a,b)`, `key>n`, `key<n`.
 * `!=` and `notin` match objects that lack the label (as in Kubernetes).
 * Field selectors: `field=v`, `field==v`, `field!=v`, comma-separated, over a per-resource set of
 * supported fields; any other field is a 400 BadRequest, as the real server answers.
 */

export type LabelRequirement =
  | { readonly op: 'exists' | 'notexists'; readonly key: string }
  | { readonly op: 'in' | 'notin'; readonly key: string; readonly values: readonly string[] }
  | { readonly op: 'gt' | 'lt'; readonly key: string; readonly value: number };

export type LabelSelector = readonly LabelRequirement[];

export class SelectorParseError extends Error {}

const KEY_RE =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE_RE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

function checkKey(key: string, whole: string): string {
  if (!KEY_RE.test(key)) throw new SelectorParseError(`invalid label key "${key}" in selector "${whole}"`);
  return key;
}

function checkValue(v: string, whole: string): string {
  if (v.length > 63 || !VALUE_RE.test(v)) {
    throw new SelectorParseError(`invalid label value "${v}" in selector "${whole}"`);
  }
  return v;
}

/** Splits on commas that are not inside parentheses. */
function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth += 1;
    if (ch === ')') depth -= 1;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts;
}

export function parseLabelSelector(raw: string | undefined): LabelSelector {
  if (raw === undefined || raw.trim() === '') return [];
  const out: LabelRequirement[] = [];
  for (const part of splitTopLevel(raw)) {
    const p = part.trim();
    if (p === '') throw new SelectorParseError(`empty requirement in selector "${raw}"`);
    let m: RegExpMatchArray | null;
    if ((m = /^!\s*(\S+)$/.exec(p))) {
      out.push({ op: 'notexists', key: checkKey(m[1]!, raw) });
    } else if ((m = /^(\S+?)\s+(in|notin)\s*\((.*)\)$/.exec(p))) {
      const values = m[3]!.split(',').map((v) => checkValue(v.trim(), raw));
      out.push({ op: m[2] as 'in' | 'notin', key: checkKey(m[1]!, raw), values });
    } else if ((m = /^([^=!<>\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(p))) {
      const key = checkKey(m[1]!, raw);
      const value = checkValue(m[3]!, raw);
      out.push({ op: m[2] === '!=' ? 'notin' : 'in', key, values: [value] });
    } else if ((m = /^([^=!<>\s]+)\s*([<>])\s*(-?\d+)$/.exec(p))) {
      out.push({ op: m[2] === '>' ? 'gt' : 'lt', key: checkKey(m[1]!, raw), value: Number(m[3]) });
    } else if (/^\S+$/.test(p)) {
      out.push({ op: 'exists', key: checkKey(p, raw) });
    } else {
      throw new SelectorParseError(`unable to parse requirement "${p}" in selector "${raw}"`);
    }
  }
  return out;
}

export function matchesLabels(sel: LabelSelector, labels: Readonly<Record<string, string>> | undefined): boolean {
  const l = labels ?? {};
  return sel.every((r) => {
    const has = Object.hasOwn(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case 'exists':
        return has;
      case 'notexists':
        return !has;
      case 'in':
        return has && r.values.includes(v!);
      case 'notin':
        return !has || !r.values.includes(v!);
      case 'gt':
      case 'lt': {
        if (!has || !/^-?\d+$/.test(v!)) return false;
        return r.op === 'gt' ? Number(v) > r.value : Number(v) < r.value;
      }
    }
  });
}

export interface FieldRequirement {
  readonly field: string;
  readonly negate: boolean;
  readonly value: string;
}

export type FieldSelector = readonly FieldRequirement[];

export function parseFieldSelector(raw: string | undefined, supported: readonly string[]): FieldSelector {
  if (raw === undefined || raw.trim() === '') return [];
  return raw.split(',').map((part) => {
    const m = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(part);
    if (!m) throw new SelectorParseError(`invalid field selector: "${part}"`);
    const field = m[1]!;
    if (!supported.includes(field)) {
      throw new SelectorParseError(`field label not supported: ${field}`);
    }
    return { field, negate: m[2] === '!=', value: m[3]! };
  });
}

/** Reads a dotted field path (`spec.nodeName`) from an object; absent fields read as ''. */
export function readField(obj: unknown, path: string): string {
  let cur: unknown = obj;
  for (const seg of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur === undefined || cur === null ? '' : String(cur);
}

export function matchesFields(sel: FieldSelector, obj: unknown): boolean {
  return sel.every((r) => (readField(obj, r.field) === r.value) !== r.negate);
}
