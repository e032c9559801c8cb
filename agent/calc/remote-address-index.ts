/**
 * RemoteAddressIndex: pod addresses that live on a different node from the one owning their
 * block ("borrowed" addresses: IPAM hands out an address from another node's block when the
 * node's own blocks are full). A route to the block's owner would deliver them to the wrong node,
 * so they need their own /32 (/128) route (host-gw; with BGP the pod's node advertises one).
 *
 *   Pod (spec.nodeName, status.podIPs) ─┐
 *   IPAMBlock (allocation attributes) ──┼──▶ [RemoteAddressIndex] ──▶ addressNodeChanged(dst, node)
 *   blockOwnerChanged ──────────────────┘                              ──▶ RouteResolver
 *
 * A Pod object names its node directly; IPAM allocations name it in `attributes[].secondary.node`
 * (as Calico's IPAM writes it). The Pod wins when both speak for one address. Work is deferred to
 * `flush()`, so loading thousands of blocks is linear.
 */
import type { Resource } from '../../src/model/index.js';
import { blockKeyOf, candidateBlockKeys, canonicalCidr, formatAddress } from './addr.js';

export interface RemoteAddressListener {
  /** `node` is where `dst` (a host prefix) lives, when that is not its block's owner; else undefined. */
  addressNodeChanged(dst: string, node: string | undefined): void;
}

interface Allocation {
  readonly dst: string;
  readonly node: string;
}

function podAllocations(pod: Resource): Allocation[] {
  const spec = pod['spec'] as { nodeName?: string; hostNetwork?: boolean } | undefined;
  const status = pod['status'] as { podIP?: string; podIPs?: { ip?: string }[] } | undefined;
  const node = spec?.nodeName;
  if (node === undefined || node === '' || spec?.hostNetwork === true) return [];
  const ips = (status?.podIPs ?? []).map((p) => p.ip).filter((ip): ip is string => typeof ip === 'string');
  if (ips.length === 0 && typeof status?.podIP === 'string') ips.push(status.podIP);
  const out: Allocation[] = [];
  for (const ip of ips) {
    const c = canonicalCidr(ip);
    if (c !== undefined && c.prefix === (c.family === 4 ? 32 : 128)) out.push({ dst: c.cidr, node });
  }
  return out;
}

/** Allocations of a block made for a node other than the block's affine host. */
function borrowedFromBlock(block: Resource): Allocation[] {
  const spec = block['spec'] as
    | {
        cidr?: string;
        affinity?: string;
        allocations?: (number | null)[];
        attributes?: { secondary?: Record<string, string> }[];
      }
    | undefined;
  const c = spec?.cidr === undefined ? undefined : canonicalCidr(spec.cidr);
  if (c === undefined || spec?.allocations === undefined) return [];
  const host = spec.affinity?.startsWith('host:') ? spec.affinity.slice('host:'.length) : undefined;
  const attrs = spec.attributes ?? [];
  const out: Allocation[] = [];
  spec.allocations.forEach((a, ordinal) => {
    if (a === null || a === undefined) return;
    const node = attrs[a]?.secondary?.['node'];
    if (node === undefined || node === host) return;
    const addr = formatAddress(c.family, c.network + BigInt(ordinal));
    out.push({ dst: `${addr}/${c.family === 4 ? 32 : 128}`, node });
  });
  return out;
}

export class RemoteAddressIndex {
  /** dst → source id (`pod:<key>` / `block:<key>`) → node. */
  readonly #claims = new Map<string, Map<string, string>>();
  readonly #bySource = new Map<string, readonly Allocation[]>();
  /** Owned block key (family|prefix|network) → owner. */
  readonly #blockOwners = new Map<string, string>();
  /** Block key → dsts that could lie in it (all candidate block sizes), for re-evaluation. */
  readonly #dstsByBlock = new Map<string, Set<string>>();
  readonly #emitted = new Map<string, string>();
  readonly #dirty = new Set<string>();

  constructor(private readonly out: RemoteAddressListener) {}

  onPod(key: string, pod: Resource | undefined): void {
    this.#setSource(`pod:${key}`, pod === undefined ? [] : podAllocations(pod));
  }

  onBlock(key: string, block: Resource | undefined): void {
    this.#setSource(`block:${key}`, block === undefined ? [] : borrowedFromBlock(block));
  }

  blockOwnerChanged(cidr: string, owner: string | undefined): void {
    const c = canonicalCidr(cidr);
    if (c === undefined) return;
    const k = blockKeyOf(c);
    if (owner === undefined) this.#blockOwners.delete(k);
    else this.#blockOwners.set(k, owner);
    for (const dst of this.#dstsByBlock.get(k) ?? []) this.#dirty.add(dst);
  }

  /** Emits the changes since the last flush. */
  flush(): void {
    for (const dst of this.#dirty) {
      const want = this.#resolve(dst);
      if (this.#emitted.get(dst) === want) continue;
      if (want === undefined) this.#emitted.delete(dst);
      else this.#emitted.set(dst, want);
      this.out.addressNodeChanged(dst, want);
    }
    this.#dirty.clear();
  }

  #setSource(source: string, allocs: readonly Allocation[]): void {
    for (const a of this.#bySource.get(source) ?? []) {
      const m = this.#claims.get(a.dst);
      m?.delete(source);
      if (m?.size === 0) this.#forget(a.dst);
      this.#dirty.add(a.dst);
    }
    if (allocs.length === 0) this.#bySource.delete(source);
    else this.#bySource.set(source, allocs);
    for (const a of allocs) {
      let m = this.#claims.get(a.dst);
      if (m === undefined) {
        m = new Map();
        this.#claims.set(a.dst, m);
        for (const k of candidateBlockKeys(canonicalCidr(a.dst)!)) {
          const s = this.#dstsByBlock.get(k) ?? new Set<string>();
          s.add(a.dst);
          this.#dstsByBlock.set(k, s);
        }
      }
      m.set(source, a.node);
      this.#dirty.add(a.dst);
    }
  }

  #forget(dst: string): void {
    this.#claims.delete(dst);
    for (const k of candidateBlockKeys(canonicalCidr(dst)!)) {
      const s = this.#dstsByBlock.get(k);
      s?.delete(dst);
      if (s?.size === 0) this.#dstsByBlock.delete(k);
    }
  }

  #resolve(dst: string): string | undefined {
    const m = this.#claims.get(dst);
    if (m === undefined || m.size === 0) return undefined;
    const pods = [...m]
      .filter(([s]) => s.startsWith('pod:'))
      .map(([, n]) => n)
      .sort();
    const node = pods[0] ?? [...m.values()].sort()[0]!;
    // The owner of the most specific owned block holding dst (blocks do not overlap in practice).
    let owner: string | undefined;
    for (const k of candidateBlockKeys(canonicalCidr(dst)!).reverse()) {
      owner = this.#blockOwners.get(k);
      if (owner !== undefined) break;
    }
    return node === owner ? undefined : node;
  }
}
