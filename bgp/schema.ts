/**
 * Valibot helpers shared by margay-bgpd's two schema users, the config file (bgp/config.ts) and the
 * control API (bgp/control/routes.ts): a strict object that is never an array, the CIDR text check,
 * and issues → the one-line detail the daemon prints and answers with:
 * `peers[1].holdTime: must be 0 or ≥ 3; peers[0]: Unrecognized key: "hold"`.
 *
 * Messages: a schema's own message wins; everything else gets `issueMessage`, passed per parse as
 * valibot's `config.message` (never valibot's global message registry: other modules in the same
 * process use valibot too). Values are not echoed beyond a short prefix, so a hostile 10 MB string
 * cannot make a 10 MB error. At most `MAX_LISTED` issues are listed, then "… and N more".
 */
import { isIP } from 'node:net';
import * as v from 'valibot';

export type PathKey = string | number;
/** One problem: where (keys from the document root) and what. */
export interface PlainIssue {
  readonly path: readonly PathKey[];
  readonly message: string;
}

const MAX_LISTED = 20;
const MAX_ECHO = 40;

const NOT_ARRAY = v.check((x: unknown) => !Array.isArray(x), 'expected an object, received array');

/**
 * `v.strictObject` that also refuses arrays (valibot takes any `typeof 'object'`; a YAML list where a
 * mapping belongs must not pass as `{}` with defaults). Valibot reports the first unknown key of an
 * object, and an unknown key stops the checks that need every field typed (cross-field rules).
 */
export function strictObject<const E extends v.ObjectEntries>(entries: E) {
  return v.pipe(v.unknown(), NOT_ARRAY, v.strictObject(entries));
}

// The CIDR rules zod's cidrv4/cidrv6 applied, kept: host bits may be set; IPv6 written with hex
// digits, colons and dots only; the length without leading zeros.
const CIDR_V4 =
  /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]\d|\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]\d|\d)\/(?:\d|[12]\d|3[0-2])$/;
const V6_TEXT = /^[0-9a-fA-F:.]+$/;
const V6_LEN = /^(?:12[0-8]|1[01]\d|[1-9]?\d)$/;

/** True for `10.0.0.0/24` or `2001:db8::/32` (what the config and the control API call a CIDR). */
export function isCidr(s: string): boolean {
  if (CIDR_V4.test(s)) return true;
  const slash = s.indexOf('/');
  if (slash < 0 || s.indexOf('/', slash + 1) >= 0) return false;
  const addr = s.slice(0, slash);
  return V6_LEN.test(s.slice(slash + 1)) && V6_TEXT.test(addr) && isIP(addr) === 6;
}

/** The received value, short: strings quoted and cut, other values by type. */
function describeValue(x: unknown): string {
  if (typeof x === 'string') return JSON.stringify(x.length > MAX_ECHO ? `${x.slice(0, MAX_ECHO)}…` : x);
  if (typeof x === 'number' || typeof x === 'boolean') return String(x);
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'array';
  return typeof x;
}

/** valibot's `expects` in words: `Object` → an object, `("a" | "b")` → one of "a" | "b". */
function describeExpected(e: string | null): string {
  if (e === null) return 'a value';
  if (e === 'Object') return 'an object';
  if (e === 'Array') return 'an array';
  return e.startsWith('(') && e.endsWith(')') ? `one of ${e.slice(1, -1)}` : e;
}

/** Default message for issues whose schema or action carries none (valibot's `config.message`). */
export function issueMessage(issue: v.BaseIssue<unknown>): string {
  const req = issue.requirement;
  const str = typeof issue.input === 'string';
  switch (issue.type) {
    case 'min_value':
      return `must be ≥ ${String(req)}`;
    case 'max_value':
      return `must be ≤ ${String(req)}`;
    case 'min_length':
      if (req === 1) return str ? 'must not be empty' : 'must have at least 1 item';
      return str ? `must be at least ${String(req)} characters long` : `must have at least ${String(req)} items`;
    case 'max_length':
      return str ? `must be at most ${String(req)} characters long` : `must have at most ${String(req)} items`;
    case 'integer':
      return `must be an integer, received ${describeValue(issue.input)}`;
  }
  const last = issue.path?.[issue.path.length - 1];
  if (issue.type === 'strict_object' && last !== undefined && 'origin' in last && last.origin === 'key') {
    return issue.expected === 'never' ? 'unknown key' : 'required'; // plainIssues rewords unknown keys
  }
  if (issue.kind === 'schema')
    return `expected ${describeExpected(issue.expected)}, received ${describeValue(issue.input)}`;
  return `invalid ${issue.type}`;
}

/**
 * Valibot issues → plain ones. An unknown key is reported on its object with zod's wording, which
 * operators and tests already match: `peers[0]: Unrecognized key: "hold"`.
 */
export function plainIssues(issues: readonly v.BaseIssue<unknown>[]): PlainIssue[] {
  return issues.map((issue) => {
    const path = (issue.path ?? []).map((p) => p.key as PathKey);
    const last = issue.path?.[issue.path.length - 1];
    if (
      issue.type === 'strict_object' &&
      issue.expected === 'never' &&
      last &&
      'origin' in last &&
      last.origin === 'key'
    ) {
      return { path: path.slice(0, -1), message: `Unrecognized key: ${describeValue(String(last.key))}` };
    }
    return { path, message: issue.message };
  });
}

/** `peers[1].holdTime` (config file) or `peers.1.holdTime` (control API). */
export function formatPath(path: readonly PathKey[], style: 'brackets' | 'dots', root: string): string {
  if (style === 'dots') return path.join('.') || root;
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out || root;
}

/** `a: x; b[0]: y; … and 3 more`. */
export function formatIssues(issues: readonly PlainIssue[], style: 'brackets' | 'dots', root: string): string {
  const listed = issues.slice(0, MAX_LISTED).map((i) => `${formatPath(i.path, style, root)}: ${i.message}`);
  const more = issues.length - listed.length;
  return more > 0 ? `${listed.join('; ')}; … and ${more} more` : listed.join('; ');
}
