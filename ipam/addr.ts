import { parseCidr, parseIp, type IpFamily } from '../src/model/index.js';

/**
 * The little address arithmetic IPAM needs: an address as a bigint, back to canonical text, and a
 * CIDR as [first, last]. Parsing goes through the model's strict parser (src/model/net.ts); only
 * formatting is done here. Private to ipam/ so it can move to the shared toolkit in one step.
 */
export type { IpFamily };

export interface Range {
  readonly family: IpFamily;
  readonly first: bigint;
  readonly last: bigint;
  readonly prefix: number;
  /** Canonical `network/prefix`. */
  readonly cidr: string;
}

/** Parses a CIDR (host bits cleared) or undefined when it is not one. */
export function toRange(cidr: string, opts: { readonly allowBareIp?: boolean } = {}): Range | undefined {
  const c = parseCidr(cidr, opts);
  return c && { family: c.family, first: c.first, last: c.last, prefix: c.prefix, cidr: c.cidr };
}

/** An address as (family, bigint), or undefined when the text is not an address. */
export function toAddr(ip: string): { readonly family: IpFamily; readonly value: bigint } | undefined {
  const p = parseIp(ip);
  if (!p) return undefined;
  const c = parseCidr(`${p.address}/${p.family === 4 ? 32 : 128}`)!;
  return { family: p.family, value: c.first };
}

export function bitsOf(family: IpFamily): number {
  return family === 4 ? 32 : 128;
}

/** Canonical text of an address (IPv6 per RFC 5952: lower case, longest zero run compressed). */
export function formatAddr(family: IpFamily, v: bigint): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join('.');
  }
  const groups: number[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(Number((v >> s) & 0xffffn));
  let best = -1, bestLen = 1, i = 0;
  while (i < 8) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** `network/prefix` text of the block of `prefix` bits starting at `first`. */
export function formatCidr(family: IpFamily, first: bigint, prefix: number): string {
  return `${formatAddr(family, first)}/${prefix}`;
}

export function overlaps(a: Range, b: Range): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

export function contains(outer: Range, v: bigint): boolean {
  return v >= outer.first && v <= outer.last;
}
