import { describe, expect, it } from 'vitest';
import { validateResourceOf, type BlockAffinity, type IPAMBlock, type IPPool } from '../../src/model/index.js';
import { ipamUsage } from '../ipam-usage.js';
import { AdvertisementScope, advertisedPrefixes, concernsAdvertisement, ordinalAddress } from './advertise.js';

const API = 'margay.dev/v1';
function block(
  cidr: string,
  affinity: string | undefined,
  allocs: Record<number, { node?: string; pod?: string }>,
): IPAMBlock {
  const size = 1 << (32 - Number(cidr.split('/')[1]));
  const allocations: (number | null)[] = new Array(size).fill(null);
  const attributes: { handle_id: string; secondary: Record<string, string> }[] = [];
  for (const [ord, a] of Object.entries(allocs)) {
    allocations[Number(ord)] = attributes.length;
    attributes.push({
      handle_id: `k8s-pod-network.c${ord}`,
      secondary: { ...(a.node && { node: a.node }), ...(a.pod && { namespace: 'default', pod: a.pod }) },
    });
  }
  return validateResourceOf('IPAMBlock', {
    apiVersion: API,
    kind: 'IPAMBlock',
    metadata: { name: cidr.replace(/[./]/g, '-') },
    spec: { cidr, ...(affinity && { affinity }), allocations, attributes },
  });
}
function aff(node: string, cidr: string, state = 'confirmed'): BlockAffinity {
  return validateResourceOf('BlockAffinity', {
    apiVersion: API,
    kind: 'BlockAffinity',
    metadata: { name: `${node}-${cidr.replace(/[./]/g, '-')}` },
    spec: { node, cidr, state },
  });
}
function pool(name: string, cidr: string, extra: Record<string, unknown> = {}): IPPool {
  return validateResourceOf('IPPool', {
    apiVersion: API,
    kind: 'IPPool',
    metadata: { name },
    spec: { cidr, ...extra },
  });
}

describe('advertisedPrefixes', () => {
  it('own blocks (affinity or block affinity) plus a /32 per borrowed address; none from disableBGPExport pools', () => {
    const blocks = [
      block('10.1.0.0/26', 'host:a', { 0: { node: 'a' } }),
      block('10.1.0.64/26', 'host:b', { 0: { node: 'b' }, 5: { node: 'a' } }),
      block('10.9.0.0/26', 'host:b', { 1: { node: 'a' } }),
    ];
    const out = advertisedPrefixes({
      nodeName: 'a',
      blocks,
      affinities: [aff('a', '10.1.0.128/26'), aff('a', '10.1.0.192/26', 'pending')],
      pools: [pool('p', '10.1.0.0/16'), pool('quiet', '10.9.0.0/16', { disableBGPExport: true })],
    });
    expect(out).toEqual(['10.1.0.0/26', '10.1.0.128/26', '10.1.0.69/32']);
  });
  it('ordinals map to addresses', () => {
    expect(ordinalAddress(block('10.1.0.64/26', undefined, {}), 5)).toBe('10.1.0.69');
  });
});

describe('ipamUsage', () => {
  it('in use, borrowed and GC candidates for this node per pool', () => {
    const blocks = [
      block('10.1.0.0/26', 'host:a', { 0: { node: 'a', pod: 'web' }, 1: { node: 'a', pod: 'gone' }, 2: { node: 'b' } }),
      block('10.1.0.64/26', 'host:b', { 3: { node: 'a' } }),
    ];
    expect(ipamUsage('a', blocks, [pool('p', '10.1.0.0/16')], (_ns, name) => name === 'web')).toEqual([
      { pool: 'p', inUse: 3, borrowed: 1, gcCandidates: 1 },
    ]);
  });
});

describe("AdvertisementScope: which IPAM changes re-make this node's BGP plan", () => {
  it("another node's block claim does not; this node's confirmed affinity, block and borrowed addresses do", () => {
    const scope = new AdvertisementScope('a');
    // node b claims a block: pending affinity, block, confirmed affinity — nothing for node a.
    expect(scope.concerns(aff('b', '10.1.0.64/26', 'pending'))).toBe(false);
    expect(scope.concerns(block('10.1.0.64/26', 'host:b', {}))).toBe(false);
    expect(scope.concerns(aff('b', '10.1.0.64/26'))).toBe(false);
    // A pod on b: still nothing for a.
    expect(scope.concerns(block('10.1.0.64/26', 'host:b', { 0: { node: 'b', pod: 'p' } }))).toBe(false);
    // node a claims: a pending affinity is not advertised yet; the block and the confirmation are.
    expect(scope.concerns(aff('a', '10.1.0.0/26', 'pending'))).toBe(false);
    expect(scope.concerns(block('10.1.0.0/26', 'host:a', {}))).toBe(true);
    expect(scope.concerns(aff('a', '10.1.0.0/26'))).toBe(true);
    // a borrows an address from b's block (a /32 to advertise), then gives it back: both count, then
    // the block is b's business again.
    expect(scope.concerns(block('10.1.0.64/26', 'host:b', { 0: { node: 'b' }, 5: { node: 'a' } }))).toBe(true);
    expect(scope.concerns(block('10.1.0.64/26', 'host:b', { 0: { node: 'b' } }))).toBe(true);
    expect(scope.concerns(block('10.1.0.64/26', 'host:b', { 0: { node: 'b' }, 1: { node: 'b' } }))).toBe(false);
    // Losing a block counts, whether the object changes hands or goes.
    expect(scope.concerns(block('10.1.0.0/26', 'host:c', {}))).toBe(true);
    expect(scope.concerns(block('10.1.0.0/26', 'host:c', {}))).toBe(false);
    expect(scope.concerns(aff('a', '10.1.0.0/26'), true)).toBe(true);
    expect(scope.concerns(aff('b', '10.1.0.64/26'), true)).toBe(false);
    // Other kinds (a Node, a pool) always re-plan.
    expect(scope.concerns({ kind: 'IPPool' })).toBe(true);
    // An object first seen as it is removed still counts if it concerned a.
    expect(scope.concerns(block('10.1.1.0/26', 'host:a', {}), true)).toBe(true);
  });

  it('agrees with advertisedPrefixes: a change it calls irrelevant never changes what the node advertises', () => {
    const nodes = ['a', 'b', 'c'];
    const cidrs = ['10.1.0.0/26', '10.1.0.64/26', '10.1.0.128/26'];
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const scope = new AdvertisementScope('a');
    const blocks = new Map<string, IPAMBlock>();
    const affs = new Map<string, BlockAffinity>();
    const advert = () =>
      advertisedPrefixes({ nodeName: 'a', blocks: blocks.values(), affinities: affs.values(), pools: [] }).join();
    for (let step = 0; step < 2000; step++) {
      const before = advert();
      const cidr = cidrs[rnd(3)]!;
      let relevant: boolean;
      if (rnd(2) === 0) {
        const allocs: Record<number, { node: string }> = {};
        for (let k = rnd(3); k > 0; k--) allocs[rnd(8)] = { node: nodes[rnd(3)]! };
        const b = block(cidr, rnd(4) === 0 ? undefined : `host:${nodes[rnd(3)]}`, allocs);
        const gone = rnd(5) === 0;
        relevant = scope.concerns(gone ? (blocks.get(cidr) ?? b) : b, gone);
        if (gone) blocks.delete(cidr);
        else blocks.set(cidr, b);
      } else {
        const a = aff(nodes[rnd(3)]!, cidr, rnd(2) === 0 ? 'pending' : 'confirmed');
        const gone = rnd(5) === 0;
        relevant = scope.concerns(gone ? (affs.get(a.metadata.name) ?? a) : a, gone);
        if (gone) affs.delete(a.metadata.name);
        else affs.set(a.metadata.name, a);
      }
      if (!relevant) expect(advert()).toBe(before);
    }
    expect(concernsAdvertisement(aff('a', cidrs[0]!), 'a')).toBe(true);
  });
});
