import { describe, expect, it } from 'vitest';
import { KernelOpError } from '../../src/errors.js';
import { FakeIpsetBackend } from '../../src/kernel/testing/fake-ipset-backend.js';
import { ApplyError } from './errors.js';
import { IpsetReconciler } from './ipset-reconciler.js';

describe('IpsetReconciler (fake ipset)', () => {
  it('creates sets, writes only member differences, and never touches foreign sets', async () => {
    const be = new FakeIpsetBackend();
    be.seedForeign({ name: 'KUBE-X', type: 'hash:ip', family: 'inet' }, ['10.0.0.1']);
    const r = new IpsetReconciler(be);
    r.setIpset({ family: 4, name: 'mgy4-all-pools', type: 'hash:net', members: ['10.1.0.0/16', '10.2.0.5/32'] });
    await r.apply();
    expect(be.sets.get('mgy4-all-pools')?.members).toEqual(['10.1.0.0/16', '10.2.0.5']);
    r.setIpset({ family: 4, name: 'mgy4-all-pools', type: 'hash:net', members: ['10.1.0.0/16', '10.3.0.0/16'] });
    be.faults.ops.length = 0;
    await r.apply();
    expect(be.ops).toEqual(['restore 2']);
    expect(be.sets.get('KUBE-X')?.members).toEqual(['10.0.0.1']);
  });

  it('swaps through a temporary set when the create options changed; recreates on a type change; removes last', async () => {
    const be = new FakeIpsetBackend();
    be.seedForeign({ name: 'mgy4-all-pools', type: 'hash:net', family: 'inet', maxelem: 1024 }, ['10.0.0.0/8']);
    be.seedForeign({ name: 'mgy4-typed', type: 'hash:ip', family: 'inet' }, ['10.0.0.1']);
    be.seedForeign({ name: 'mgy4-stale', type: 'hash:net', family: 'inet' });
    be.inUse.add('mgy4-all-pools');
    const r = new IpsetReconciler(be);
    r.setIpset({ family: 4, name: 'mgy4-all-pools', type: 'hash:net', members: ['10.1.0.0/16'], maxElem: 4096 });
    r.setIpset({ family: 4, name: 'mgy4-typed', type: 'hash:net', members: ['10.2.0.0/16'] });
    await r.applyUpdates();
    expect(be.sets.get('mgy4-all-pools')).toEqual({
      spec: { name: 'mgy4-all-pools', type: 'hash:net', family: 'inet' },
      members: ['10.1.0.0/16'],
    });
    expect(be.sets.get('mgy4-typed')).toEqual({
      spec: { name: 'mgy4-typed', type: 'hash:net', family: 'inet' },
      members: ['10.2.0.0/16'],
    });
    expect([...be.sets.keys()].some((n) => n.startsWith('mgyt-'))).toBe(false);
    expect(be.sets.has('mgy4-stale')).toBe(true);
    await r.applyRemovals();
    expect(be.sets.has('mgy4-stale')).toBe(false);
  });

  it('repairs a member deleted by hand on resync, and resyncs after a failure', async () => {
    const be = new FakeIpsetBackend();
    const r = new IpsetReconciler(be);
    r.setIpset({ family: 6, name: 'mgy6-all-pools', type: 'hash:net', members: ['fd00::/48'] });
    await r.apply();
    be.sets.get('mgy6-all-pools')!.members = [];
    r.queueResync();
    be.failNext(new KernelOpError(['ipset'], 1, 'boom'), /restore/);
    await expect(r.apply()).rejects.toBeInstanceOf(ApplyError);
    await r.apply();
    expect(be.sets.get('mgy6-all-pools')?.members).toEqual(['fd00::/48']);
  });
});
