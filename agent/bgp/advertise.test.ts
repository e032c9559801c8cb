import { describe, expect, it } from 'vitest';
import { validateResourceOf, type BlockAffinity, type IPAMBlock, type IPPool } from '../../src/model/index.js';
import { ipamUsage } from '../ipam-usage.js';
import { advertisedPrefixes, ordinalAddress } from './advertise.js';

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
