/**
 * Valibot helpers shared by margay-bgpd's two schema users, the config file (bgp/config.ts) and the
 * control API (bgp/control/routes.ts): a strict object as zod's was, the CIDR text check,
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

/** Unknown keys named in one issue before the rest are only counted. */
const MAX_KEYS_NAMED = 10;

/** An issue in valibot's shape, raised by `strictObject` itself (its message is final). */
function objectIssue(
  config: v.Config<v.BaseIssue<unknown>>,
  input: unknown,
  expected: 'Object' | 'never',
  message: string,
): v.StrictObjectIssue {
  return {
    kind: 'schema',
    type: 'strict_object',
    input,
    expected,
    received: describeValue(input),
    message,
    requirement: undefined,
    path: undefined,
    issues: undefined,
    lang: config.lang,
    abortEarly: config.abortEarly,
    abortPipeEarly: config.abortPipeEarly,
  };
}

/**
 * `v.strictObject` as zod's was: an array is not an object (valibot takes any `typeof 'object'`, so
 * a YAML list where a mapping belongs would pass as `{}` with defaults); every unknown key is named,
 * in one issue on the object (`peers[0]: Unrecognized keys: "a", "b"`: valibot stops at the first
 * and marks the object untyped); and an unknown key leaves the object typed (known fields valid), so
 * refinements and the cross-field rules still run in the same pass. The output never has the
 * unknown keys (`__proto__` included). It is a valibot schema with its `~run` replaced, so types and
 * composition (optional, array, pipe) apply unchanged.
 */
export function strictObject<const E extends v.ObjectEntries>(entries: E): v.StrictObjectSchema<E, undefined> {
  const strict = v.strictObject(entries);
  const known = v.object(entries); // the entries, unknown keys dropped
  const run = ((dataset, config) => {
    const input: unknown = dataset.value;
    if (Array.isArray(input)) {
      const issue = objectIssue(config, input, 'Object', 'expected an object, received array');
      return { typed: false, value: input, issues: [issue] };
    }
    const out = known['~run'](dataset, config) as v.OutputDataset<unknown, v.BaseIssue<unknown>>;
    if (input === null || typeof input !== 'object') return out;
    const extra = Object.keys(input).filter((k) => !Object.hasOwn(entries, k));
    if (extra.length === 0) return out;
    const named = extra.slice(0, MAX_KEYS_NAMED).map((k) => describeValue(k));
    if (extra.length > MAX_KEYS_NAMED) named.push(`and ${extra.length - MAX_KEYS_NAMED} more`);
    const issue = objectIssue(
      config,
      input,
      'never',
      `Unrecognized key${extra.length > 1 ? 's' : ''}: ${named.join(', ')}`,
    );
    return { ...out, issues: [...(out.issues ?? []), issue] } as v.OutputDataset<unknown, v.BaseIssue<unknown>>;
  }) as (typeof strict)['~run'];
  return {
    ...strict,
    '~run': run,
    '~standard': {
      ...strict['~standard'],
      // As valibot's own: the dataset is the Standard Schema result.
      validate: ((value: unknown) => run({ value }, v.getGlobalConfig())) as (typeof strict)['~standard']['validate'],
    },
  };
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
  if (issue.type === 'object' && last !== undefined && 'origin' in last && last.origin === 'key') return 'required';
  if (issue.kind === 'schema')
    return `expected ${describeExpected(issue.expected)}, received ${describeValue(issue.input)}`;
  return `invalid ${issue.type}`;
}

/** Valibot issues → plain ones (path as keys from the document root). */
export function plainIssues(issues: readonly v.BaseIssue<unknown>[]): PlainIssue[] {
  return issues.map((issue) => ({ path: (issue.path ?? []).map((p) => p.key as PathKey), message: issue.message }));
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
