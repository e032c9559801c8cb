import { describe, expect, it } from 'vitest';
import { validateResourceOf, type IPAMBlock, type IPPool } from '../src/model/index.js';
import { toRange } from './addr.js';
import { allocateOrdinals, newBlockSpec } from './block.js';
import { planBorrow, planClaim, planFromOwnBlocks } from './plan.js';
import { choosePools, usablePools } from './pools.js';

const M = 'margay.dev/v1';
const pool = (name: string, cidr: string, spec: Record<string, unknown> = {}, ts?: string): IPPool =>
  validateResourceOf('IPPool', {
    apiVersion: M,
    kind: 'IPPool',
    metadata: { name, ...(ts ? { creationTimestamp: ts } : {}) },
    spec: { cidr, ...spec },
  });
const block = (cidr: string, node: string | undefined, used: number[] = [], strict = false): IPAMBlock => {
  let spec = newBlockSpec(cidr, node, strict, 't');
  if (used.length) spec = allocateOrdinals(spec, used, { handleId: 'x', secondary: {} });
  return { apiVersion: M, kind: 'IPAMBlock', metadata: { name: cidr }, spec } as IPAMBlock;
};
const ctx = { reservations: [], nowMs: 0, minReuseAgeMs: 0 };

describe('plan', () => {
  const pools = usablePools([
    pool('a', '10.0.0.0/24', { blockSize: 30 }),
    pool('b', '10.1.0.0/24', { blockSize: 30 }),
  ]).pools;

  it('takes from own blocks in pool order, then block order', () => {
    const own = [block('10.1.0.0/30', 'n1'), block('10.0.0.4/30', 'n1', [0]), block('10.0.0.0/30', 'n1', [0, 1, 2, 3])];
    expect(planFromOwnBlocks(own, pools, 2, ctx)).toMatchObject({
      block: { spec: { cidr: '10.0.0.4/30' } },
      ordinals: [1, 2],
    });
    expect(planFromOwnBlocks(own, [pools[1]!], 1, ctx)).toMatchObject({
      block: { spec: { cidr: '10.1.0.0/30' } },
      ordinals: [0],
    });
    expect(planFromOwnBlocks([block('10.0.0.0/30', 'n1', [0, 1, 2, 3])], pools, 1, ctx)).toBeUndefined();
  });

  it('claims the next free block from a node-dependent start, wrapping, skipping reserved ones', () => {
    const p = usablePools([pool('s', '10.0.0.0/28', { blockSize: 30 })]).pools[0]!;
    const first = planClaim(p, new Set(), 'n1', ctx)!;
    expect(first).toMatch(/^10\.0\.0\.(0|4|8|12)\/30$/);
    const all = new Set(['10.0.0.0/30', '10.0.0.4/30', '10.0.0.8/30', '10.0.0.12/30']);
    expect(planClaim(p, all, 'n1', ctx)).toBeUndefined();
    all.delete('10.0.0.8/30');
    expect(planClaim(p, all, 'n1', ctx)).toBe('10.0.0.8/30');
    expect(planClaim(p, all, 'n1', { ...ctx, reservations: [toRange('10.0.0.8/30')!] })).toBeUndefined();
    const v6 = usablePools([pool('v6', 'fd00::/48')]).pools[0]!;
    expect(planClaim(v6, new Set(), 'n1', ctx)).toMatch(/^fd00::[0-9a-f:]*\/122$/);
  });

  it('borrows only from non-strict blocks', () => {
    expect(planBorrow([block('10.0.0.0/30', 'n2', [0], true)], pools, 1, ctx)).toBeUndefined();
    expect(planBorrow([block('10.0.0.0/30', 'n2', [0])], pools, 1, ctx)).toMatchObject({ ordinals: [1] });
  });
});

describe('pool choice', () => {
  const all = usablePools([
    pool('default', '10.0.0.0/16', {}, '2026-01-01T00:00:00Z'),
    pool('edge', '10.1.0.0/16', { nodeSelector: 'zone == "edge"' }, '2026-01-02T00:00:00Z'),
    pool('off', '10.2.0.0/16', { disabled: true }),
    pool('tun', '10.3.0.0/16', { allowedUses: ['Tunnel'] }),
    pool('v6', 'fd00::/64'),
  ]).pools;
  const base = { family: 'ipv4' as const, use: 'Workload' as const, pools: all, nodeName: 'n1', nodeLabels: {} };
  const names = (c: { pools: readonly { pool: IPPool }[] }) => c.pools.map((p) => p.pool.metadata.name);

  it('pod annotation, then namespace annotation, then CNI config, then node selector', () => {
    expect(
      choosePools({
        ...base,
        podAnnotations: { 'margay.dev/ipv4pools': '["edge"]' },
        namespaceAnnotations: { 'margay.dev/ipv4pools': '["default"]' },
      }),
    ).toMatchObject({ source: 'pod-annotation' });
    expect(
      names(
        choosePools({
          ...base,
          namespaceAnnotations: { 'margay.dev/ipv4pools': '["10.1.0.0/16"]' },
          cniPools: ['default'],
        }),
      ),
    ).toEqual(['edge']);
    expect(choosePools({ ...base, cniPools: ['default', 'fd00::/64'] })).toMatchObject({ source: 'cni-config' });
    expect(names(choosePools(base))).toEqual(['default']);
    expect(names(choosePools({ ...base, nodeLabels: { zone: 'edge' } }))).toEqual(['default', 'edge']);
    expect(names(choosePools({ ...base, family: 'ipv6' as const }))).toEqual(['v6']);
  });

  it('refuses missing, disabled and wrong-use pools by name, and malformed annotations', () => {
    expect(() => choosePools({ ...base, cniPools: ['nope'] })).toThrow(
      'the CNI network config names IP pool "nope", which does not exist',
    );
    expect(() => choosePools({ ...base, podAnnotations: { 'margay.dev/ipv4pools': '["off"]' } })).toThrow(
      /which is disabled/,
    );
    expect(() => choosePools({ ...base, cniPools: ['tun'] })).toThrow(/allowedUses \(Tunnel\) exclude Workload/);
    expect(() => choosePools({ ...base, podAnnotations: { 'margay.dev/ipv4pools': 'edge' } })).toThrow(/is not JSON/);
    expect(() => choosePools({ ...base, podAnnotations: { 'margay.dev/ipv4pools': '[1]' } })).toThrow(
      /JSON list of at most 64 strings/,
    );
  });

  it('ignores the newer of two overlapping pools and says so', () => {
    const u = usablePools([
      pool('new', '10.0.1.0/24', {}, '2026-02-01T00:00:00Z'),
      pool('old', '10.0.0.0/16', {}, '2026-01-01T00:00:00Z'),
    ]);
    expect(u.pools.map((p) => p.pool.metadata.name)).toEqual(['old']);
    expect(u.conflicts[0]!.message).toBe(
      'IPPool "new" (10.0.1.0/24) overlaps IPPool "old" (10.0.0.0/16); ignoring the newer one',
    );
  });
});
