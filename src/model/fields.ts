import * as v from 'valibot';
import { labelKeyProblem, labelValueProblem, parseSelector, SelectorParseError } from '../selector/index.js';
import { lazy } from './lazy.js';
import { parseCidr, parseIp } from './net.js';
import { checkedString, int, parsedString, record, refined, strictObject } from './schema.js';

/**
 * Schema building blocks (valibot) shared by the kind schemas: names, selectors, CIDRs, IPs, AS numbers, ports,
 * protocols, durations. Each one validates, normalises (canonical CIDR, numeric AS number...) and
 * words its error so the message alone tells an operator what to fix. Each is a lazy() getter
 * (`Cidr()`): built on first use, so importing the model builds no schema (docs/startup.md).
 */

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function dnsLabelProblem(s: string): string | undefined {
  if (s.length > 63 || !DNS_LABEL.test(s)) {
    return `${JSON.stringify(s)} must be a DNS-1123 label: at most 63 characters, lower-case alphanumerics or "-", starting and ending alphanumeric`;
  }
  return undefined;
}

export function dnsSubdomainProblem(s: string): string | undefined {
  if (s.length > 253 || !DNS_SUBDOMAIN.test(s)) {
    return `${JSON.stringify(s)} must be a DNS-1123 subdomain: at most 253 characters, lower-case alphanumerics, "-" or ".", starting and ending alphanumeric`;
  }
  return undefined;
}

export { checkedString } from './schema.js';

export const DnsSubdomain = lazy(() => checkedString(dnsSubdomainProblem));
export const DnsLabel = lazy(() => checkedString(dnsLabelProblem));

/** Kubernetes labels: keys and values validated as the API server does. */
export const Labels = lazy(() =>
  refined(record(v.string(), v.string()), (labels, add) => {
    for (const [k, val] of Object.entries(labels)) {
      const p = labelKeyProblem(k) ?? labelValueProblem(val);
      if (p !== undefined) add([k], p);
    }
  }),
);

/** A Calico selector expression, checked with the selector parser. Kept as written. */
export const SelectorString = lazy(() =>
  checkedString((s) => {
    try {
      parseSelector(s);
      return undefined;
    } catch (err) {
      if (!(err instanceof SelectorParseError)) throw err;
      return `invalid selector: expected ${err.expected} at position ${err.position}, found ${err.found}`;
    }
  }),
);

/** A CIDR, normalised to its network address (`10.0.0.5/24` → `10.0.0.0/24`). */
export const Cidr = lazy(() => parsedString((s) => parseCidr(s)?.cidr, notCidr));

function notCidr(s: string): string {
  return `${JSON.stringify(s)} is not a valid CIDR (address/prefix)`;
}

/**
 * A CIDR with canonical address text (`FD00::1/64` → `fd00::1/64`) but host bits kept, for specs
 * that reject host bits (IP pools, blocks) instead of silently masking them, as Calico does.
 */
export const CidrKeepingHostBits = lazy(() =>
  parsedString((s) => {
    const c = parseCidr(s);
    return c && `${c.address}/${c.prefix}`;
  }, notCidr),
);

/** A CIDR or bare address (a /32 or /128), as Calico's `nets` accept; normalised. */
export const Net = lazy(() =>
  parsedString(
    (s) => parseCidr(s, { allowBareIp: true })?.cidr,
    (s) => `${JSON.stringify(s)} is not a valid CIDR or IP address`,
  ),
);

/** An IPv4 or IPv6 address, canonicalised. */
export const Ip = lazy(() =>
  parsedString(
    (s) => parseIp(s)?.address,
    (s) => `${JSON.stringify(s)} is not a valid IP address`,
  ),
);

const MAX_ASN = 4_294_967_295;

/** Parses an AS number: an integer, a decimal string or asdot `a.b` (each part 0..65535). */
export function parseAsNumber(v: unknown): number | undefined {
  let n: number | undefined;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && /^[0-9]{1,10}$/.test(v)) n = Number(v);
  else if (typeof v === 'string' && /^[0-9]{1,5}\.[0-9]{1,5}$/.test(v)) {
    const [hi, lo] = v.split('.').map(Number) as [number, number];
    if (hi <= 65_535 && lo <= 65_535) n = hi * 65_536 + lo;
  }
  return n !== undefined && Number.isInteger(n) && n >= 1 && n <= MAX_ASN ? n : undefined;
}

/** AS number 1..4294967295, as a number or asdot string; normalised to a number. */
export const AsNumber = lazy(() =>
  v.pipe(
    v.union([v.number(), v.string()]),
    v.rawTransform<number | string, number>(({ dataset, addIssue, NEVER }) => {
      const n = parseAsNumber(dataset.value);
      if (n !== undefined) return n;
      addIssue({ message: `${JSON.stringify(dataset.value)} is not an AS number (1..4294967295, or asdot "a.b")` });
      return NEVER;
    }),
  ),
);

export const PortNumber = lazy(() => int(1, 65_535));

/**
 * Go duration text as metav1.Duration serialises it: `120s`, `1m30s`, `1.5h`, `500ms`, `3µs`. µ is
 * written \u00b5 in the patterns: esbuild copies a regular expression's characters as they are, and one
 * non-ASCII byte in a bundle file takes its whole text off V8's fast (ASCII) decoding path at every
 * start (docs/startup.md, tenth pass).
 */
const DURATION = /^(?:[0-9]+(?:\.[0-9]+)?(?:ns|us|\u00b5s|ms|s|m|h))+$/;
const UNIT_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };

/** Milliseconds in a Go duration string, or undefined if it is not one. `0` alone is accepted. */
export function parseGoDuration(s: string): number | undefined {
  if (s === '0') return 0;
  if (!DURATION.test(s)) return undefined;
  let ms = 0;
  for (const m of s.matchAll(/([0-9]+(?:\.[0-9]+)?)(ns|us|\u00b5s|ms|s|m|h)/g)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  return ms;
}

export const Duration = lazy(() =>
  checkedString((s) =>
    parseGoDuration(s) === undefined
      ? `${JSON.stringify(s)} is not a duration (e.g. "120s", "2m", "1h30m")`
      : undefined,
  ),
);

/** Kubernetes SecretKeySelector (the fields Margay reads). */
export const SecretKeyRef = lazy(() =>
  strictObject({
    name: DnsSubdomain(),
    key: v.pipe(v.string(), v.regex(/^[-._a-zA-Z0-9]+$/, 'must be a Secret key: alphanumerics, "-", "_" or "."')),
    optional: v.optional(v.boolean()),
  }),
);

export const BgpPassword = lazy(() => strictObject({ secretKeyRef: SecretKeyRef() }));
