/**
 * IP_AUTODETECTION_METHOD / IP6_AUTODETECTION_METHOD, parsed (Calico's methods and spelling):
 * first-found, can-reach=<ip>, interface=<regex,...>, skip-interface=<regex,...>, cidr=<cidr,...>,
 * kubernetes-internal-ip. Pure: returns the parsed method or a problem string; the caller names the
 * setting in its error.
 */
import { isIP } from 'node:net';
import { parseCidr } from '../model/index.js';

export const IP_AUTODETECTION_METHODS = [
  'first-found',
  'can-reach=',
  'interface=',
  'skip-interface=',
  'cidr=',
  'kubernetes-internal-ip',
] as const;

export type IpAutodetection =
  | { readonly method: 'first-found' }
  | { readonly method: 'can-reach'; readonly destination: string }
  | { readonly method: 'interface'; readonly patterns: readonly string[] }
  | { readonly method: 'skip-interface'; readonly patterns: readonly string[] }
  | { readonly method: 'cidr'; readonly cidrs: readonly string[] }
  | { readonly method: 'kubernetes-internal-ip' };

export type IpFamilyNumber = 4 | 6;

/**
 * True when a parsed address family (`4`/`6` or `'ipv4'`/`'ipv6'`, as src/model and src/net spell
 * it) is `n`: config and agent code compare families through this one place.
 */
export function familyIs(f: unknown, n: IpFamilyNumber): boolean {
  return f === n || f === `ipv${n}`;
}

function regexProblem(patterns: readonly string[], key: string): string | undefined {
  if (patterns.length === 0) return `${key}= needs one or more interface name regexes, e.g. ${key}=eth.*`;
  for (const p of patterns) {
    try {
      new RegExp(p);
    } catch {
      // A bad pattern is reported as a typed config error by the caller (this is not a swallow).
      return `${key}= pattern ${JSON.stringify(p)} is not a valid regex`;
    }
  }
  return undefined;
}

/** Parses one method for an address family; a string result is the problem. */
export function parseIpAutodetection(value: string, family: IpFamilyNumber = 4): IpAutodetection | string {
  if (value === 'first-found') return { method: 'first-found' };
  if (value === 'kubernetes-internal-ip') return { method: 'kubernetes-internal-ip' };
  const eq = value.indexOf('=');
  const key = eq < 0 ? value : value.slice(0, eq);
  const arg = eq < 0 ? '' : value.slice(eq + 1);
  const fam = `IPv${family}`;
  switch (key) {
    case 'can-reach':
      if (isIP(arg) !== family) return `can-reach= needs an ${fam} address, got ${JSON.stringify(arg)}`;
      return { method: 'can-reach', destination: arg };
    case 'interface':
    case 'skip-interface': {
      const patterns = arg.split(',').filter(Boolean);
      const problem = regexProblem(patterns, key);
      if (problem !== undefined) return problem;
      return { method: key, patterns };
    }
    case 'cidr': {
      const cidrs = arg.split(',').filter(Boolean);
      if (cidrs.length === 0)
        return `cidr= needs one or more ${fam} CIDRs, e.g. cidr=${family === 4 ? '10.0.0.0/8' : 'fd00::/8'}`;
      for (const c of cidrs) {
        const parsed = parseCidr(c);
        if (!parsed || !familyIs(parsed.family, family))
          return `cidr= value ${JSON.stringify(c)} is not an ${fam} CIDR`;
      }
      return { method: 'cidr', cidrs };
    }
    default:
      return `unknown method ${JSON.stringify(value)}; use one of ${IP_AUTODETECTION_METHODS.join(', ')}`;
  }
}
