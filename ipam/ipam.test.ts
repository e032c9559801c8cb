import { describe, expect, it } from 'vitest';
import { MemoryDatastore } from '../src/datastore/index.js';
import { silentLogger } from '../src/log.js';
import type { Resource } from '../src/model/index.js';
import { Ipam, IpamExhaustedError, IpamNoPoolError, type AssignRequest } from './index.js';

const M = 'margay.dev/v1';

function pool(name: string, cidr: string, spec: Record<string, unknown> = {}): Resource {
  return { apiVersion: M, kind: 'IPPool', metadata: { name }, spec: { cidr, ...spec } };
}

async function setup(objs: Resource[], now = { t: 1_000_000 }) {
  const ds = new MemoryDatastore();
  for (const o of objs) await ds.create(o);
  const ipam = new Ipam({ store: ds, log: silentLogger(), now: () => now.t, clusterCacheMs: 0, sleep: async () => {} });
  return { ds, ipam, now };
}

const req = (containerId: string, extra: Partial<AssignRequest> = {}): AssignRequest => ({ network: 'k8s-pod-network', containerId, node: 'node-a', ...extra });

describe('Ipam.assign', () => {
  it('claims a block for the node and hands out its addresses in order', async () => {
    const { ipam, ds } = await setup([pool('p', '10.65.0.0/24', { blockSize: 26 })]);
    const a = await ipam.assign(req('c1'));
    const b = await ipam.assign(req('c2'));
    expect(a.addresses).toHaveLength(1);
    expect(a.addresses[0]).toMatchObject({ family: 4, pool: 'p', borrowed: false, source: 'node-selector' });
    const block = a.addresses[0]!.block;
    expect(b.addresses[0]!.block).toBe(block);
    expect(b.addresses[0]!.ordinal).toBe(a.addresses[0]!.ordinal + 1);
    expect((await ds.list('BlockAffinity')).items.map((x) => (x.spec as { state: string }).state)).toEqual(['confirmed']);
    expect((await ds.get('IPAMHandle', 'k8s-pod-network.c1'))?.spec).toMatchObject({ handleID: 'k8s-pod-network.c1', block: { [block]: 1 } });
  });

  it('is idempotent for a handle that already holds addresses', async () => {
    const { ipam } = await setup([pool('p', '10.65.0.0/24')]);
    const a = await ipam.assign(req('c1'));
    const again = await ipam.assign(req('c1'));
    expect(again.existing).toBe(true);
    expect(again.addresses.map((x) => x.address)).toEqual(a.addresses.map((x) => x.address));
  });

  it('assigns dual stack', async () => {
    const { ipam } = await setup([pool('v4', '10.65.0.0/24'), pool('v6', 'fd00:65::/120', { blockSize: 124 })]);
    const a = await ipam.assign(req('c1', { ipv6: true }));
    expect(a.addresses.map((x) => x.address)).toEqual([expect.stringMatching(/^10\.65\.0\./), expect.stringMatching(/^fd00:65::/)]);
  });

  it('releases by handle and does not reuse the address before the minimum age', async () => {
    const { ipam, ds, now } = await setup([pool('p', '10.65.0.0/26', { blockSize: 26 })]);
    const a = await ipam.assign(req('c1'));
    const rel = await ipam.releaseByHandle('k8s-pod-network.c1');
    expect(rel.map((r) => r.address)).toEqual([a.addresses[0]!.address]);
    expect(await ds.get('IPAMHandle', 'k8s-pod-network.c1')).toBeUndefined();
    expect(await ipam.releaseByHandle('k8s-pod-network.c1')).toEqual([]);
    const b = await ipam.assign(req('c2'));
    expect(b.addresses[0]!.address).not.toBe(a.addresses[0]!.address);
    now.t += 11_000;
    // The released ordinal went to the back of the queue; fill the block to reach it.
    const seen = new Set<string>();
    for (let i = 0; i < 63; i++) seen.add((await ipam.assign(req(`d${i}`))).addresses[0]!.address);
    expect(seen.has(a.addresses[0]!.address)).toBe(true);
  });

  it('borrows from another node when no block is free, and refuses under strict affinity', async () => {
    const { ipam, ds } = await setup([pool('p', '10.65.0.0/26', { blockSize: 26 })]);
    await ipam.assign(req('c1'));
    const b = await ipam.assign(req('c2', { node: 'node-b' }));
    expect(b.addresses[0]!.borrowed).toBe(true);
    await ds.create({ apiVersion: M, kind: 'IPAMConfiguration', metadata: { name: 'default' }, spec: { strictAffinity: true } });
    await expect(ipam.assign(req('c3', { node: 'node-c' }))).rejects.toBeInstanceOf(IpamExhaustedError);
  });

  it('exhausted pool: a typed error that says what to do, and nothing left behind', async () => {
    const { ipam, ds } = await setup([pool('p', '10.65.0.0/30', { blockSize: 30 })]);
    for (let i = 0; i < 4; i++) await ipam.assign(req(`c${i}`));
    const err = await ipam.assign(req('cx')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IpamExhaustedError);
    expect((err as Error).message).toMatch(/no free IPv4 address for node node-a in pool\(s\) p 10\.65\.0\.0\/30: 4 allocated.*Add an IPPool/);
    expect(await ds.get('IPAMHandle', 'k8s-pod-network.cx')).toBeUndefined();
  });

  it('no pool: a clear error', async () => {
    const { ipam } = await setup([]);
    await expect(ipam.assign(req('c1'))).rejects.toThrow(IpamNoPoolError);
    await expect(ipam.assign(req('c1'))).rejects.toThrow(/there is no IPv4 IPPool/);
  });
});
