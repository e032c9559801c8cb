/**
 * IpPoolIndex: IP pools into the NAT-outgoing ipsets and the encapsulation overhead.
 *
 *   IPPool ──▶ [IpPoolIndex] ──▶ ipsetUpdated(mgy4-all-pools, mgy4-masq-pools, mgy6-…) ──▶ sequencer
 *                            └─▶ encapOverheadChanged(bytes) ──▶ LocalEndpointResolver (veth MTU)
 *
 * Both sets of each enabled family always exist (empty without pools), so the MASQUERADE rule that
 * uses them (static-chains.ts) never refers to a missing set. A disabled pool still counts as "a
 * pool" (its addresses stay in use until released), as in Calico.
 */
import type { Resource } from '../../src/model/index.js';
import { canonicalCidr } from './addr.js';
import { allPoolsIpset, masqPoolsIpset } from './names.js';
import type { DesiredIpset, IpFamily } from './types.js';

export interface IpsetSink {
  ipsetUpdated(set: DesiredIpset): void;
}

export interface EncapListener {
  encapOverheadChanged(bytes: number): void;
}

interface Pool {
  readonly cidr: string;
  readonly family: IpFamily;
  readonly natOutgoing: boolean;
  readonly overhead: number;
}

/** Bytes an encapsulation adds (Calico's figures): IPIP 20, VXLAN 50 (IPv4) / 70 (IPv6). */
function overheadOf(family: IpFamily, spec: { ipipMode?: string; vxlanMode?: string }): number {
  if (spec.vxlanMode !== undefined && spec.vxlanMode !== 'Never') return family === 4 ? 50 : 70;
  if (spec.ipipMode !== undefined && spec.ipipMode !== 'Never') return 20;
  return 0;
}

export class IpPoolIndex {
  readonly #pools = new Map<string, Pool>();
  readonly #dirty = new Set<IpFamily>();
  #overhead = 0;

  constructor(
    private readonly families: readonly IpFamily[],
    private readonly sets: IpsetSink,
    private readonly encap: EncapListener,
  ) {
    for (const f of families) this.#dirty.add(f);
  }

  onPool(key: string, obj: Resource | undefined): void {
    const before = this.#pools.get(key);
    if (before !== undefined) this.#dirty.add(before.family);
    if (obj === undefined) {
      this.#pools.delete(key);
    } else {
      const spec = (obj['spec'] ?? {}) as {
        cidr?: string;
        natOutgoing?: boolean;
        ipipMode?: string;
        vxlanMode?: string;
      };
      const c = spec.cidr === undefined ? undefined : canonicalCidr(spec.cidr);
      if (c === undefined) this.#pools.delete(key);
      else {
        this.#pools.set(key, {
          cidr: c.cidr,
          family: c.family,
          natOutgoing: spec.natOutgoing === true,
          overhead: overheadOf(c.family, spec),
        });
        this.#dirty.add(c.family);
      }
    }
  }

  flush(): void {
    for (const family of this.#dirty) {
      if (!this.families.includes(family)) continue;
      const pools = [...this.#pools.values()].filter((p) => p.family === family);
      const all = [...new Set(pools.map((p) => p.cidr))].sort();
      const masq = [...new Set(pools.filter((p) => p.natOutgoing).map((p) => p.cidr))].sort();
      this.sets.ipsetUpdated({ family, name: allPoolsIpset(family), type: 'hash:net', members: all });
      this.sets.ipsetUpdated({ family, name: masqPoolsIpset(family), type: 'hash:net', members: masq });
    }
    this.#dirty.clear();
    const overhead = Math.max(
      0,
      ...[...this.#pools.values()].filter((p) => this.families.includes(p.family)).map((p) => p.overhead),
    );
    if (overhead !== this.#overhead) {
      this.#overhead = overhead;
      this.encap.encapOverheadChanged(overhead);
    }
  }
}
