import { describe, expect, it } from 'vitest';
import { MemoryDatastore } from '../src/datastore/index.js';
import { silentLogger } from '../src/log.js';
import type { BlockAffinity, Resource } from '../src/model/index.js';
import { newBlockSpec } from './block.js';
import { claimBlock } from './claim.js';
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

const req = (containerId: string, extra: Partial<AssignRequest> = {}): AssignRequest => ({
  network: 'k8s-pod-network',
  containerId,
  node: 'node-a',
  ...extra,
});

describe('Ipam.assign', () => {
  it('claims a block for the node and hands out its addresses in order', async () => {
    const { ipam, ds } = await setup([pool('p', '10.65.0.0/24', { blockSize: 26 })]);
    const a = await ipam.assign(req('c1'));
    const b = await ipam.assign(req('c2'));
    expect(a.addresses).toHaveLength(1);
    expect(a.addresses[0]).toMatchObject({ family: 'ipv4', pool: 'p', borrowed: false, source: 'node-selector' });
    const block = a.addresses[0]!.block;
    expect(b.addresses[0]!.block).toBe(block);
    expect(b.addresses[0]!.ordinal).toBe(a.addresses[0]!.ordinal + 1);
    expect((await ds.list('BlockAffinity')).items.map((x) => (x.spec as { state: string }).state)).toEqual([
      'confirmed',
    ]);
    expect((await ds.get('IPAMHandle', 'k8s-pod-network.c1'))?.spec).toMatchObject({
      handleID: 'k8s-pod-network.c1',
      block: { [block]: 1 },
    });
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
    expect(a.addresses.map((x) => x.address)).toEqual([
      expect.stringMatching(/^10\.65\.0\./),
      expect.stringMatching(/^fd00:65::/),
    ]);
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
    await ds.create({
      apiVersion: M,
      kind: 'IPAMConfiguration',
      metadata: { name: 'default' },
      spec: { strictAffinity: true },
    });
    await expect(ipam.assign(req('c3', { node: 'node-c' }))).rejects.toBeInstanceOf(IpamExhaustedError);
  });

  it('exhausted pool: a typed error that says what to do, and nothing left behind', async () => {
    const { ipam, ds } = await setup([pool('p', '10.65.0.0/30', { blockSize: 30 })]);
    for (let i = 0; i < 4; i++) await ipam.assign(req(`c${i}`));
    const err = await ipam.assign(req('cx')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IpamExhaustedError);
    expect((err as Error).message).toMatch(
      /no free IPv4 address for node node-a in pool\(s\) p 10\.65\.0\.0\/30: 4 allocated.*Add an IPPool/,
    );
    expect(await ds.get('IPAMHandle', 'k8s-pod-network.cx')).toBeUndefined();
  });

  it('no pool: a clear error', async () => {
    const { ipam } = await setup([]);
    await expect(ipam.assign(req('c1'))).rejects.toThrow(IpamNoPoolError);
    await expect(ipam.assign(req('c1'))).rejects.toThrow(/there is no IPv4 IPPool/);
  });

  it('never hands out reserved addresses', async () => {
    const { ipam } = await setup([
      pool('p', '10.65.0.0/29', { blockSize: 29 }),
      {
        apiVersion: M,
        kind: 'IPReservation',
        metadata: { name: 'r' },
        spec: { reservedCIDRs: ['10.65.0.0/30', '10.65.0.6'] },
      },
    ]);
    const got = [];
    for (let i = 0; i < 3; i++) got.push((await ipam.assign(req(`c${i}`))).addresses[0]!.address);
    expect(got).toEqual(['10.65.0.4', '10.65.0.5', '10.65.0.7']);
    await expect(ipam.assign(req('c9'))).rejects.toBeInstanceOf(IpamExhaustedError);
    await expect(ipam.assign(req('cf', { addresses: ['10.65.0.1'] }))).rejects.toThrow(
      'address 10.65.0.1 cannot be assigned: it is reserved (IPReservation 10.65.0.0/30)',
    );
  });

  it('reads pool choice and fixed addresses from the pod and namespace annotations', async () => {
    const { ipam } = await setup([
      pool('a', '10.65.0.0/24'),
      pool('b', '10.66.0.0/24'),
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'ns', annotations: { 'margay.dev/ipv4pools': '["b"]' } },
      },
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p1', namespace: 'ns' } },
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'p2', namespace: 'ns', annotations: { 'margay.dev/ipv4pools': '["a"]' } },
      },
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'p3', namespace: 'ns', annotations: { 'margay.dev/ipAddrs': '["10.65.0.200"]' } },
      },
    ]);
    expect((await ipam.assign(req('c1', { pod: { namespace: 'ns', name: 'p1' } }))).addresses[0]).toMatchObject({
      pool: 'b',
      source: 'namespace-annotation',
    });
    expect((await ipam.assign(req('c2', { pod: { namespace: 'ns', name: 'p2' } }))).addresses[0]).toMatchObject({
      pool: 'a',
      source: 'pod-annotation',
    });
    const fixed = await ipam.assign(req('c3', { pod: { namespace: 'ns', name: 'p3' } }));
    expect(fixed.addresses[0]).toMatchObject({ address: '10.65.0.200', block: '10.65.0.192/26', source: 'fixed' });
    await expect(ipam.assign(req('c4', { addresses: ['10.65.0.200'] }))).rejects.toThrow(
      'address 10.65.0.200 cannot be assigned: it is already allocated to k8s-pod-network.c3',
    );
    await expect(ipam.assign(req('c5', { addresses: ['192.0.2.1'] }))).rejects.toThrow(/it is in no IPPool/);
  });

  it('rejects hostile handle parts before touching the store', async () => {
    const { ipam, ds } = await setup([pool('p', '10.65.0.0/24')]);
    await expect(ipam.assign(req('../etc'))).rejects.toThrow(
      /container id "..\/etc" must start with a letter or digit/,
    );
    await expect(ipam.assign({ ...req('c1'), network: '' })).rejects.toThrow(/network name/);
    expect((await ds.list('IPAMBlock')).items).toEqual([]);
  });

  it('rolls back the IPv4 address when IPv6 fails (all or nothing)', async () => {
    const { ipam, ds } = await setup([pool('p', '10.65.0.0/24')]);
    await expect(ipam.assign(req('c1', { ipv6: true }))).rejects.toThrow(/no IPv6 pool/);
    const blocks = (await ds.list('IPAMBlock')).items;
    expect(blocks.every((b) => (b.spec as { allocations: unknown[] }).allocations.every((a) => a === null))).toBe(true);
    expect((await ds.list('IPAMHandle')).items).toEqual([]);
  });

  it('a burst of concurrent assigns (and then releases) on one node shares block writes; distinct addresses', async () => {
    const { ipam, ds } = await setup([pool('p', '10.65.0.0/24', { blockSize: 26 })]);
    let blockWrites = 0;
    const update = ds.update.bind(ds);
    ds.update = async (o) => {
      if (o.kind === 'IPAMBlock') blockWrites++;
      return update(o);
    };
    const got = await Promise.all(Array.from({ length: 100 }, (_x, i) => ipam.assign(req(`b${i}`))));
    const addrs = got.map((r) => r.addresses[0]!.address);
    expect(new Set(addrs).size).toBe(100);
    expect(blockWrites).toBeLessThan(20); // 100 writes without group commit
    expect((await ipam.check()).problems).toEqual([]);
    blockWrites = 0;
    const released = await Promise.all(got.map((r) => ipam.releaseByHandle(r.handleId)));
    expect(released.flatMap((r) => r.map((x) => x.address)).sort()).toEqual([...addrs].sort());
    expect(blockWrites).toBeLessThan(20);
    expect((await ipam.check()).summary).toMatchObject({ allocations: 0, handles: 0 });
  });
});

/** The store as the Kubernetes backend offers it: no atomic multi-object create. */
function stepwise<T extends MemoryDatastore>(ds: T): T {
  (ds as { createAll?: unknown }).createAll = undefined;
  return ds;
}

/** Counts the writes a store receives, by method. */
class Counting extends MemoryDatastore {
  readonly writes: string[] = [];
  override async create(obj: Resource): Promise<Resource> {
    this.writes.push(`create ${obj.kind}`);
    return super.create(obj);
  }
  override async createAll(objs: readonly Resource[]): Promise<Resource[]> {
    this.writes.push(`createAll ${objs.map((o) => o.kind).join('+')}`);
    return super.createAll(objs);
  }
  override async update(obj: Resource): Promise<Resource> {
    this.writes.push(`update ${obj.kind}`);
    return super.update(obj);
  }
  override async delete(...args: Parameters<MemoryDatastore['delete']>): Promise<void> {
    this.writes.push(`delete ${args[0]}`);
    return super.delete(...args);
  }
}

const affinities = async (ds: MemoryDatastore) =>
  ((await ds.list('BlockAffinity')).items as unknown as BlockAffinity[]).map((a) => [a.spec.node, a.spec.state]);

describe('claimBlock', () => {
  it('with an atomic datastore: the block and the confirmed affinity in one write', async () => {
    const ds = new Counting();
    const ipam = new Ipam({ store: ds, log: silentLogger(), clusterCacheMs: 0, sleep: async () => {} });
    const block = await claimBlock(ipam, 'node-a', '10.0.0.0/26', false);
    expect(block?.spec.affinity).toBe('host:node-a');
    expect(ds.writes).toEqual(['createAll IPAMBlock+BlockAffinity']);
    expect(await affinities(ds)).toEqual([['node-a', 'confirmed']]);
  });

  it('step by step (no atomic create): pending affinity, block, confirmed', async () => {
    const ds = stepwise(new Counting());
    const ipam = new Ipam({ store: ds, log: silentLogger(), clusterCacheMs: 0, sleep: async () => {} });
    const block = await claimBlock(ipam, 'node-a', '10.0.0.0/26', false);
    expect(block?.spec.affinity).toBe('host:node-a');
    expect(ds.writes).toEqual(['create BlockAffinity', 'create IPAMBlock', 'update BlockAffinity']);
    expect(await affinities(ds)).toEqual([['node-a', 'confirmed']]);
  });

  for (const mode of ['atomic', 'step by step'] as const) {
    const make = () => (mode === 'atomic' ? new MemoryDatastore() : stepwise(new MemoryDatastore()));
    it(`${mode}: a block another node holds is not claimed, and no affinity is left behind`, async () => {
      const ds = make();
      const ipam = new Ipam({ store: ds, log: silentLogger(), clusterCacheMs: 0, sleep: async () => {} });
      expect(await claimBlock(ipam, 'node-b', '10.0.0.0/26', false)).toBeDefined();
      expect(await claimBlock(ipam, 'node-a', '10.0.0.0/26', false)).toBeUndefined();
      expect(await affinities(ds)).toEqual([['node-b', 'confirmed']]);
    });

    it(`${mode}: an interrupted earlier claim (pending affinity, with or without its block) is completed`, async () => {
      for (const withBlock of [false, true]) {
        const ds = make();
        const ipam = new Ipam({ store: ds, log: silentLogger(), clusterCacheMs: 0, sleep: async () => {} });
        await ipam.bs.createAffinity('node-a', '10.0.0.0/26', 'pending');
        if (withBlock)
          await ipam.bs.createBlock(newBlockSpec('10.0.0.0/26', 'node-a', false, new Date(0).toISOString()));
        const block = await claimBlock(ipam, 'node-a', '10.0.0.0/26', false);
        expect(block?.spec.affinity).toBe('host:node-a');
        expect(await affinities(ds)).toEqual([['node-a', 'confirmed']]);
        expect((await ds.list('IPAMBlock')).items).toHaveLength(1);
      }
    });
  }

  it('confirms the affinity also when it changed between the claim steps (a stale copy is read again)', async () => {
    class Meddling extends MemoryDatastore {
      override async create(obj: Resource): Promise<Resource> {
        const out = await super.create(obj);
        if (obj.kind === 'IPAMBlock') {
          // Someone else touches the pending affinity right after the block is made.
          const a = (await this.list('BlockAffinity')).items[0]!;
          await super.update({ ...a, metadata: { ...a.metadata, labels: { touched: 'yes' } } });
        }
        return out;
      }
    }
    const ds = stepwise(new Meddling());
    const ipam = new Ipam({ store: ds, log: silentLogger(), clusterCacheMs: 0, sleep: async () => {} });
    const block = await claimBlock(ipam, 'node-a', '10.0.0.0/26', false);
    expect(block?.spec.affinity).toBe('host:node-a');
    const affs = (await ds.list('BlockAffinity')).items as unknown as BlockAffinity[];
    expect(affs.map((a) => [a.spec.state, a.metadata.labels?.touched])).toEqual([['confirmed', 'yes']]);
  });
});
