import { describe, expect, it } from 'vitest';
import { MemoryDatastore } from '../src/datastore/index.js';
import { silentLogger } from '../src/log.js';
import type { Resource } from '../src/model/index.js';
import { Ipam, type AssignRequest } from './index.js';

const M = 'margay.dev/v1';
const pod = (ns: string, name: string): Resource => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: ns },
  spec: { nodeName: 'node-a' },
});
const node = (name: string): Resource => ({ apiVersion: 'v1', kind: 'Node', metadata: { name } });

async function setup() {
  const ds = new MemoryDatastore();
  await ds.create({
    apiVersion: M,
    kind: 'IPPool',
    metadata: { name: 'p' },
    spec: { cidr: '10.65.0.0/24', blockSize: 28 },
  });
  const now = { t: 5_000_000 };
  const ipam = new Ipam({ store: ds, log: silentLogger(), now: () => now.t, clusterCacheMs: 0, sleep: async () => {} });
  return { ds, ipam, now };
}
const req = (id: string, extra: Partial<AssignRequest> = {}): AssignRequest => ({
  network: 'net',
  containerId: id,
  node: 'node-a',
  ...extra,
});

describe('check and gc', () => {
  it('finds allocations of deleted pods and releases them after the grace period only', async () => {
    const { ds, ipam, now } = await setup();
    await ds.create(node('node-a'));
    await ds.create(pod('ns', 'a'));
    await ds.create(pod('ns', 'b'));
    await ipam.assign(req('ca', { pod: { namespace: 'ns', name: 'a' } }));
    const b = await ipam.assign(req('cb', { pod: { namespace: 'ns', name: 'b' } }));
    expect((await ipam.check()).problems).toEqual([]);
    await ds.delete('Pod', 'b', 'ns');
    const report = await ipam.check();
    expect(report.problems).toMatchObject([
      {
        kind: 'leaked-allocation',
        address: b.addresses[0]!.address,
        pod: 'ns/b',
        handleId: 'net.cb',
        releasable: true,
      },
    ]);
    expect(await ipam.gc({ gracePeriodMs: 60_000 })).toMatchObject({ releasedAddresses: [], waiting: 1 });
    now.t += 61_000;
    const r = await ipam.gc({ gracePeriodMs: 60_000 });
    expect(r.releasedAddresses.map((x) => x.address)).toEqual([b.addresses[0]!.address]);
    expect((await ipam.check()).problems).toEqual([]);
    expect(await ds.get('IPAMHandle', 'net.cb')).toBeUndefined();
  });

  it('release --from-report frees nothing that was re-allocated since the report', async () => {
    const { ds, ipam, now } = await setup();
    await ds.create(pod('ns', 'a'));
    const a = await ipam.assign(req('ca', { pod: { namespace: 'ns', name: 'gone' } }));
    const report = JSON.parse(JSON.stringify(await ipam.check()));
    expect(report.problems[0]).toMatchObject({ kind: 'leaked-allocation', address: a.addresses[0]!.address });
    await ipam.releaseByHandle('net.ca');
    now.t += 3_600_000;
    // Fill the block until the same address comes back to a live pod.
    let again = '';
    for (let i = 0; i < 16 && again !== a.addresses[0]!.address; i++)
      again = (await ipam.assign(req(`x${i}`, { pod: { namespace: 'ns', name: 'a' } }))).addresses[0]!.address;
    expect(again).toBe(a.addresses[0]!.address);
    const r = await ipam.releaseFromReport(report);
    expect(r.releasedAddresses).toEqual([]);
  });

  it('CNI GC releases attachments not in the valid list', async () => {
    const { ipam } = await setup();
    await ipam.assign(req('keep'));
    await ipam.assign(req('drop'));
    await ipam.assign({ network: 'other', containerId: 'drop', node: 'node-a' });
    expect(await ipam.cniGc('net', [{ containerId: 'keep', ifname: 'eth0' }])).toEqual(['net.drop']);
    expect((await ipam.check()).summary.allocations).toBe(2);
  });

  it('a deleted node: empty blocks given back, non-empty blocks lose the affinity', async () => {
    const { ds, ipam } = await setup();
    await ds.create(node('node-a'));
    await ds.create(node('node-b'));
    await ipam.assign(req('a1'));
    const b1 = await ipam.assign(req('b1', { node: 'node-b' }));
    for (let i = 0; i < 15; i++) await ipam.assign(req(`b${i + 2}`, { node: 'node-b' }));
    await ipam.releaseByHandle('net.b1');
    for (let i = 0; i < 15; i++) await ipam.releaseByHandle(`net.b${i + 2}`);
    await ipam.assign(req('b99', { node: 'node-b' }));
    await ds.delete('Node', 'node-b');
    const r = await ipam.gc({ gracePeriodMs: 0 });
    expect(r.releasedNodes).toEqual(['node-b']);
    const blocks = (await ds.list('IPAMBlock')).items.map((b) => b.spec as { cidr: string; affinity?: string });
    expect(blocks.filter((b) => b.affinity === 'host:node-b')).toEqual([]);
    expect(blocks.some((b) => b.cidr === b1.addresses[0]!.block)).toBe(false);
    expect((await ds.list('BlockAffinity')).items.every((a) => (a.spec as { node: string }).node === 'node-a')).toBe(
      true,
    );
  });

  it('a leaked allocation whose handle also counts another block (interrupted assign): GC leaves nothing', async () => {
    const { ds, ipam } = await setup();
    await ds.create(pod('ns', 'a'));
    await ipam.assign(req('ca', { pod: { namespace: 'ns', name: 'a' } }));
    const h = (await ds.get('IPAMHandle', 'net.ca'))!;
    await ds.update({
      ...h,
      spec: { ...(h.spec as object), block: { ...(h.spec as { block: object }).block, '10.65.0.240/28': 1 } },
    });
    expect((await ipam.check()).problems.map((p) => p.kind)).toEqual(['handle-count-mismatch']);
    await ds.delete('Pod', 'a', 'ns');
    const r = await ipam.gc({ gracePeriodMs: 0 });
    expect(r.deletedHandles).toEqual(['net.ca']);
    expect((await ipam.check()).problems).toEqual([]);
  });
});
