import { parseCidr } from './net.js';

/**
 * IPAM object names, block sizes and the pool-overlap rule: plain functions over validated IPAM
 * resources, kept apart from the schemas in ipam-kinds.ts so that IPAM code and `margayctl ipam`
 * can import them without loading valibot and the schemas (docs/startup.md).
 */

export const BLOCK_SIZE_RANGE = { ipv4: [20, 32], ipv6: [116, 128] } as const;
export const DEFAULT_BLOCK_SIZE = { ipv4: 26, ipv6: 122 } as const;

/** Calico's object name for a block: the CIDR with `.`, `:` and `/` turned into `-`. */
export function ipamBlockName(cidr: string): string {
  return cidr.replace(/[.:/]/g, '-');
}

/** Calico's object name for a node's affinity to a block: `<node>-<block name>`. */
export function blockAffinityName(node: string, cidr: string): string {
  return `${node}-${ipamBlockName(cidr)}`;
}

const HANDLE_NAME_SAFE = /^[a-z0-9]([-a-z0-9.]{0,200}[a-z0-9])?$/;

/**
 * The object name of an IPAMHandle: the handle id itself when it is already a valid DNS subdomain
 * (Calico's names), else a lower-cased, character-safe form plus a hash of the exact id, so two ids
 * differing only in case or in a replaced character never share an object.
 */
export function ipamHandleName(handleId: string): string {
  if (HANDLE_NAME_SAFE.test(handleId) && !handleId.includes('..')) return handleId;
  const safe = handleId
    .toLowerCase()
    .replace(/[^-a-z0-9.]/g, '-')
    .replace(/\.{2,}/g, '.')
    .slice(0, 180)
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return `${safe || 'handle'}-${fnv1a64(handleId)}`;
}

/** FNV-1a 64-bit of a string's UTF-16 code units, as 16 hex digits (stable, no crypto needed). */
function fnv1a64(s: string): string {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < s.length; i++) {
    h ^= BigInt(s.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, '0');
}

/**
 * Why `pool` may not be stored next to `others` (another pool whose CIDR overlaps), or undefined.
 * Pools are compared by name: the same pool being replaced never conflicts with itself.
 */
export function poolOverlapProblem(
  pool: { readonly metadata: { readonly name: string }; readonly spec: { readonly cidr: string } },
  others: Iterable<{ readonly metadata: { readonly name: string }; readonly spec: { readonly cidr: string } }>,
): string | undefined {
  const c = parseCidr(pool.spec.cidr);
  if (!c) return undefined;
  for (const o of others) {
    if (o.metadata.name === pool.metadata.name) continue;
    const oc = parseCidr(o.spec.cidr);
    if (oc && oc.family === c.family && oc.first <= c.last && c.first <= oc.last) {
      return `IPPool ${JSON.stringify(pool.metadata.name)} (${c.cidr}) overlaps IPPool ${JSON.stringify(o.metadata.name)} (${oc.cidr}); pools must not overlap`;
    }
  }
  return undefined;
}
