/**
 * What this node originates into BGP (Calico's behaviour): each IPAM block affine to it, plus a /32
 * (/128) for every address it borrowed from a block affine to another node (or to none). Blocks of
 * pools with disableBGPExport are left out. Pure.
 */
import type { BlockAffinity, IPAMBlock, IPPool } from '../../src/model/index.js';
import { familyIs } from '../../src/config/index.js';
import { blockAffinityHost, cidrContains, parseCidr } from '../../src/model/index.js';
import { parseCidrCached } from './cidr-cache.js';

export interface AdvertiseInput {
  readonly nodeName: string;
  readonly blocks: Iterable<IPAMBlock>;
  readonly affinities: Iterable<BlockAffinity>;
  readonly pools: Iterable<IPPool>;
}

/** The node an allocation belongs to: Calico's `node` attribute. */
export function allocationNode(block: IPAMBlock, ordinal: number): string | undefined {
  const a = block.spec.allocations[ordinal];
  if (a === null || a === undefined) return undefined;
  return block.spec.attributes[a]?.secondary?.node;
}

export function ordinalAddress(block: IPAMBlock, ordinal: number): string {
  const c = parseCidr(block.spec.cidr)!;
  const v = c.first + BigInt(ordinal);
  if (familyIs(c.family, 4)) return [24n, 16n, 8n, 0n].map((s) => Number((v >> s) & 255n)).join('.');
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((v >> BigInt(i * 16)) & 0xffffn).toString(16));
  return parseCidr(`${groups.join(':')}/128`)!.address;
}

export function advertisedPrefixes(i: AdvertiseInput): string[] {
  const noExport = [...i.pools].filter((p) => p.spec.disableBGPExport).map((p) => parseCidr(p.spec.cidr)!);
  const exported = (cidr: string): boolean => {
    const c = parseCidrCached(cidr);
    return c !== undefined && !noExport.some((n) => cidrContains(n, c));
  };
  const mine = new Set<string>();
  for (const a of i.affinities) {
    if (a.spec.node === i.nodeName && a.spec.state === 'confirmed' && !a.spec.deleted)
      mine.add(parseCidrCached(a.spec.cidr)?.cidr ?? a.spec.cidr);
  }
  const out = new Set<string>();
  for (const b of i.blocks) {
    const cidr = b.spec.cidr;
    const host = blockAffinityHost(b);
    if (host === i.nodeName) mine.add(cidr);
    if (host === i.nodeName || mine.has(cidr) || b.spec.deleted) continue;
    b.spec.allocations.forEach((_a, ord) => {
      if (allocationNode(b, ord) !== i.nodeName) return;
      const addr = ordinalAddress(b, ord);
      out.add(`${addr}/${addr.includes(':') ? 128 : 32}`);
    });
  }
  for (const m of mine) out.add(m);
  return [...out].filter(exported).sort();
}

/**
 * Whether this version of an IPAMBlock or BlockAffinity bears on what `nodeName` advertises
 * (advertisedPrefixes): a confirmed affinity of this node, a block affine to it, or a block with an address
 * attributed to it (a borrowed /32 or /128). Over-approximate on purpose — an attribute naming the
 * node counts even when no allocation points at it — and cheap: no address arithmetic.
 */
export function concernsAdvertisement(obj: IPAMBlock | BlockAffinity, nodeName: string): boolean {
  if (obj.kind === 'BlockAffinity')
    return obj.spec.node === nodeName && obj.spec.state === 'confirmed' && !obj.spec.deleted;
  if (blockAffinityHost(obj) === nodeName) return true;
  return obj.spec.attributes.some((a) => a?.secondary?.node === nodeName);
}

/**
 * Tells which IPAMBlock/BlockAffinity changes can alter this node's advertisements, so the BGP plan
 * is not re-made for every other node's block claim or pod address (each agent sees every change in
 * the cluster). A change counts when the object concerns this node now or did in the version seen
 * before, so losing a block or a borrowed address re-plans as surely as gaining one.
 */
export class AdvertisementScope {
  /** Objects whose last seen version concerned this node. */
  readonly #concerning = new Set<string>();

  constructor(private readonly nodeName: string) {}

  /**
   * A new version of `obj` (`removed`: it is gone); true when the plan must be made again — always
   * for kinds other than IPAMBlock and BlockAffinity.
   */
  concerns(obj: { readonly kind: string }, removed = false): boolean {
    if (obj.kind !== 'IPAMBlock' && obj.kind !== 'BlockAffinity') return true;
    return this.#changed(obj as IPAMBlock | BlockAffinity, removed);
  }

  #changed(obj: IPAMBlock | BlockAffinity, removed: boolean): boolean {
    const key = `${obj.kind}/${obj.metadata.name}`;
    const before = this.#concerning.has(key);
    const now = concernsAdvertisement(obj, this.nodeName);
    if (now && !removed) this.#concerning.add(key);
    else this.#concerning.delete(key);
    return before || now;
  }
}
