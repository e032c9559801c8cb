/**
 * BlockOwnerIndex: which node owns (is affine to) each IPAM block.
 *
 *   IPAMBlock ─────┐
 *                  ├──▶ [BlockOwnerIndex] ──▶ blockOwnerChanged(cidr, node | undefined)
 *   BlockAffinity ─┘                            ──▶ RouteResolver (blackhole here, host-gw route there)
 *                                               ──▶ RemoteAddressIndex (which addresses are borrowed)
 *
 * The block's own `spec.affinity` (`host:<node>`) is authoritative, as in Calico; a confirmed,
 * undeleted BlockAffinity stands in for a block the graph has not seen (yet). A deleted block, or
 * an affinity that is pending or being deleted, owns nothing.
 */
import type { Resource } from '../../src/model/index.js';
import { canonicalCidr } from './addr.js';

export interface BlockOwnerListener {
  blockOwnerChanged(cidr: string, owner: string | undefined): void;
}

interface Claim {
  readonly cidr: string;
  readonly node: string | undefined;
}

function blockClaim(obj: Resource): Claim | undefined {
  const spec = obj['spec'] as { cidr?: string; affinity?: string; deleted?: boolean } | undefined;
  const c = spec?.cidr === undefined ? undefined : canonicalCidr(spec.cidr);
  if (c === undefined) return undefined;
  const a = spec?.affinity;
  const node = spec?.deleted !== true && a?.startsWith('host:') ? a.slice('host:'.length) : undefined;
  return { cidr: c.cidr, node };
}

function affinityClaim(obj: Resource): Claim | undefined {
  const spec = obj['spec'] as
    | { cidr?: string; node?: string; state?: string; deleted?: boolean | string; type?: string }
    | undefined;
  const c = spec?.cidr === undefined ? undefined : canonicalCidr(spec.cidr);
  if (c === undefined) return undefined;
  const live =
    spec?.state === 'confirmed' && spec.deleted !== true && spec.deleted !== 'true' && (spec.type ?? 'host') === 'host';
  return { cidr: c.cidr, node: live ? spec?.node : undefined };
}

export class BlockOwnerIndex {
  /** Resource key → claim, per source. */
  readonly #blocks = new Map<string, Claim>();
  readonly #affinities = new Map<string, Claim>();
  /** cidr → resource keys claiming it, per source. */
  readonly #blockByCidr = new Map<string, Set<string>>();
  readonly #affinityByCidr = new Map<string, Set<string>>();
  readonly #owner = new Map<string, string>();

  constructor(private readonly out: BlockOwnerListener) {}

  onBlock(key: string, obj: Resource | undefined): void {
    this.#update(this.#blocks, this.#blockByCidr, key, obj === undefined ? undefined : blockClaim(obj));
  }

  onAffinity(key: string, obj: Resource | undefined): void {
    this.#update(this.#affinities, this.#affinityByCidr, key, obj === undefined ? undefined : affinityClaim(obj));
  }

  ownerOf(cidr: string): string | undefined {
    return this.#owner.get(cidr);
  }

  #update(claims: Map<string, Claim>, byCidr: Map<string, Set<string>>, key: string, claim: Claim | undefined): void {
    const before = claims.get(key);
    if (before !== undefined) {
      claims.delete(key);
      byCidr.get(before.cidr)?.delete(key);
      if (byCidr.get(before.cidr)?.size === 0) byCidr.delete(before.cidr);
    }
    if (claim !== undefined) {
      claims.set(key, claim);
      const s = byCidr.get(claim.cidr) ?? new Set<string>();
      s.add(key);
      byCidr.set(claim.cidr, s);
    }
    if (before !== undefined) this.#recompute(before.cidr);
    if (claim !== undefined && claim.cidr !== before?.cidr) this.#recompute(claim.cidr);
  }

  #recompute(cidr: string): void {
    const fromBlocks = [...(this.#blockByCidr.get(cidr) ?? [])].map((k) => this.#blocks.get(k)!);
    const fromAffinities = [...(this.#affinityByCidr.get(cidr) ?? [])].map((k) => this.#affinities.get(k)!);
    // A block object decides when there is one; otherwise a confirmed affinity (lowest node name on a tie).
    const source = fromBlocks.length > 0 ? fromBlocks : fromAffinities;
    const owners = source
      .map((c) => c.node)
      .filter((n): n is string => n !== undefined)
      .sort();
    const owner = owners[0];
    if (this.#owner.get(cidr) === owner) return;
    if (owner === undefined) this.#owner.delete(cidr);
    else this.#owner.set(cidr, owner);
    this.out.blockOwnerChanged(cidr, owner);
  }
}
