import { describe, expect, it } from 'vitest';
import { KernelOpError } from '../../src/errors.js';
import { FakeConntrackOps } from '../../src/kernel/testing/fake-conntrack-ops.js';
import { FakeLinkOps } from '../../src/kernel/testing/fake-link-ops.js';
import { FakeNeighborOps } from '../../src/kernel/testing/fake-neighbor-ops.js';
import { FakeSysctlOps } from '../../src/kernel/testing/fake-sysctl-ops.js';
import { ConntrackFlusher } from './conntrack-flusher.js';
import { ApplyError } from './errors.js';
import { LinkReconciler } from './link-reconciler.js';
import { NeighborReconciler } from './neighbor-reconciler.js';
import { interfaceSysctls, SysctlReconciler } from './sysctl-reconciler.js';

describe('SysctlReconciler', () => {
  it('writes what differs in one call, skips keys of a vanished interface, and repairs drift on resync', async () => {
    const ops = new FakeSysctlOps({
      'net/ipv4/ip_forward': 0,
      'net/ipv4/conf/mgy1/proxy_arp': 0,
      'net/ipv4/conf/mgy1/forwarding': 1,
      'net/ipv4/conf/mgy1/rp_filter': 1,
      'net/ipv4/neigh/mgy1/proxy_delay': 0,
    });
    const r = new SysctlReconciler(ops);
    r.setOwner('global', { 'net.ipv4.ip_forward': '1' });
    r.setOwner('ep1', interfaceSysctls('mgy1', [4]));
    r.setOwner('ep2', interfaceSysctls('mgygone', [4]));
    await r.apply();
    expect(ops.ops.filter((o) => o.startsWith('set'))).toEqual([
      'set net/ipv4/ip_forward=1',
      'set net/ipv4/conf/mgy1/proxy_arp=1',
    ]);
    expect(r.isProgrammed('ep2')).toBe(true);
    ops.values.set('net/ipv4/conf/mgy1/proxy_arp', '0');
    r.queueResync();
    await r.apply();
    expect(ops.values.get('net/ipv4/conf/mgy1/proxy_arp')).toBe('1');
    ops.failNext(new KernelOpError(['sysctl'], 1, 'boom'), /getMany/);
    r.queueResync();
    await expect(r.apply()).rejects.toBeInstanceOf(ApplyError);
    expect(r.hasPending).toBe(true);
  });
});

describe('NeighborReconciler', () => {
  it('keeps one permanent entry per pod address on our veths, in one batch, and removes stale ones of ours only', async () => {
    const ops = new FakeNeighborOps(true);
    ops.entries.set('n|eth0|10.0.0.1', {
      dst: '10.0.0.1',
      dev: 'eth0',
      lladdr: 'aa:aa:aa:aa:aa:aa',
      state: ['PERMANENT'],
      proxy: false,
    });
    ops.entries.set('n|mgyold|10.1.0.9', {
      dst: '10.1.0.9',
      dev: 'mgyold',
      lladdr: 'bb:bb:bb:bb:bb:bb',
      state: ['PERMANENT'],
      proxy: false,
    });
    const r = new NeighborReconciler(ops);
    r.setOwner('ep', [{ dst: '10.1.0.5', dev: 'mgy1', lladdr: '0a:58:00:00:00:05' }]);
    await r.apply();
    expect(ops.ops).toEqual(['list', 'apply 1 1']);
    expect([...ops.entries.keys()].sort()).toEqual(['n|eth0|10.0.0.1', 'n|mgy1|10.1.0.5']);
    expect(r.isProgrammed('ep')).toBe(true);
    await r.apply();
    expect(ops.ops).toHaveLength(2);
  });
});

describe('LinkReconciler', () => {
  it('sets the MTU of our veths when it differs, and ignores a veth that is not there', async () => {
    const links = new FakeLinkOps();
    links.links.set('mgy1', {
      name: 'mgy1',
      index: 5,
      mtu: 1500,
      mac: '02:00:00:00:00:05',
      up: true,
      operState: 'UP',
      kind: 'veth',
      addresses: [],
    });
    const r = new LinkReconciler(links);
    r.setMtu('mgy1', 1450);
    r.setMtu('mgynone', 1450);
    await r.apply();
    expect(links.links.get('mgy1')?.mtu).toBe(1450);
    expect(r.hasPending).toBe(false);
    expect(links.ops.filter((o) => o.startsWith('set'))).toHaveLength(1);
  });
});

describe('ConntrackFlusher', () => {
  it('blocks an address until its flows are flushed, and retries after a failure', async () => {
    const ops = new FakeConntrackOps();
    ops.flows = [{ proto: 'tcp', src: '10.1.0.5', dst: '10.2.0.1', replySrc: '10.2.0.1', replyDst: '10.1.0.5' }];
    const c = new ConntrackFlusher(ops);
    c.queueFlush('10.1.0.5/32');
    expect(c.isBlocked('10.1.0.5/32')).toBe(true);
    ops.failNext(new KernelOpError(['conntrack'], 1, 'boom'));
    await expect(c.apply()).rejects.toBeInstanceOf(ApplyError);
    expect(c.isBlocked('10.1.0.5/32')).toBe(true);
    expect(await c.apply()).toEqual({ upserted: 0, deleted: 1 });
    expect(c.isBlocked('10.1.0.5/32')).toBe(false);
    expect(ops.flows).toEqual([]);
  });
});
