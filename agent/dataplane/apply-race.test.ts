import { describe, expect, it } from 'vitest';
import { FakeIpsetBackend } from '../../src/kernel/testing/fake-ipset-backend.js';
import { FakeIptablesBackend } from '../../src/kernel/testing/fake-iptables-backend.js';
import { FakeLinkOps } from '../../src/kernel/testing/fake-link-ops.js';
import { FakeSysctlOps } from '../../src/kernel/testing/fake-sysctl-ops.js';
import { IpsetReconciler } from './ipset-reconciler.js';
import { IptablesReconciler } from './iptables-reconciler.js';
import { LinkReconciler } from './link-reconciler.js';
import { SysctlReconciler } from './sysctl-reconciler.js';

/**
 * Desired state changes at any time (a CNI ADD registers an endpoint while an apply is writing the
 * previous one). A change that arrives while a reconciler's kernel write is in flight must stay
 * pending and reach the kernel on the next apply — found in CI: a pod's interface missing from the
 * dispatch chains (all its traffic dropped) because the iptables reconciler cleared every dirty
 * mark after its restore, including the mark set during it.
 */

/** Runs `during` once, inside the next call of `obj[method]`, before the call itself proceeds. */
function during<T extends object>(obj: T, method: keyof T, fn: () => void): void {
  const orig = (obj[method] as (...a: unknown[]) => Promise<unknown>).bind(obj);
  let pending: (() => void) | undefined = fn;
  (obj as Record<keyof T, unknown>)[method] = async (...args: unknown[]) => {
    const f = pending;
    pending = undefined;
    const r = orig(...args);
    f?.();
    return r;
  };
}

describe('reconcilers keep a change made while their write is in flight', () => {
  it('iptables: a dispatch chain rewritten during the restore is written on the next apply', async () => {
    const be = new FakeIptablesBackend(4);
    const ipt = new IptablesReconciler(be);
    ipt.setChain('filter', 'mgy-from-wl-dispatch', [
      ['-i', 'mgyaaaaaaaaaaa', '-j', 'ACCEPT'],
      ['-j', 'DROP'],
    ]);
    await ipt.apply();
    ipt.setChain('filter', 'mgy-from-wl-dispatch', [
      ['-i', 'mgyaaaaaaaaaaa', '-j', 'ACCEPT'],
      ['-i', 'mgybbbbbbbbbbb', '-j', 'ACCEPT'],
      ['-j', 'DROP'],
    ]);
    during(be, 'restore', () =>
      ipt.setChain('filter', 'mgy-from-wl-dispatch', [
        ['-i', 'mgyaaaaaaaaaaa', '-j', 'ACCEPT'],
        ['-i', 'mgybbbbbbbbbbb', '-j', 'ACCEPT'],
        ['-i', 'mgyccccccccccc', '-j', 'ACCEPT'],
        ['-j', 'DROP'],
      ]),
    );
    await ipt.apply();
    expect(be.saveText('filter')).not.toContain('mgyccccccccccc');
    expect(ipt.hasPending).toBe(true);
    expect(ipt.isProgrammed('filter', 'mgy-from-wl-dispatch')).toBe(false);
    await ipt.apply();
    expect(be.saveText('filter')).toContain('-i mgyccccccccccc');
    expect(ipt.hasPending).toBe(false);
    expect(ipt.isProgrammed('filter', 'mgy-from-wl-dispatch')).toBe(true);
  });

  it('iptables: a chain removed during the restore that wrote it is removed on the next apply', async () => {
    const be = new FakeIptablesBackend(4);
    const ipt = new IptablesReconciler(be);
    ipt.setChain('filter', 'mgy-tw-mgyaaaaaaaaaaa', [['-j', 'ACCEPT']]);
    during(be, 'restore', () => ipt.removeChain('filter', 'mgy-tw-mgyaaaaaaaaaaa'));
    await ipt.apply();
    expect(ipt.hasPending).toBe(true);
    await ipt.apply();
    expect(be.saveText('filter')).not.toContain('mgy-tw-mgyaaaaaaaaaaa');
    expect(ipt.hasPending).toBe(false);
  });

  it('ipsets: members added during the restore are added on the next apply (not recorded as present)', async () => {
    const be = new FakeIpsetBackend();
    const r = new IpsetReconciler(be);
    r.setIpset({ family: 4, name: 'mgy4-all-pools', type: 'hash:net', members: ['10.1.0.0/16'] });
    during(be, 'restore', () =>
      r.setIpset({ family: 4, name: 'mgy4-all-pools', type: 'hash:net', members: ['10.1.0.0/16', '10.2.0.0/16'] }),
    );
    await r.apply();
    expect(be.sets.get('mgy4-all-pools')?.members).toEqual(['10.1.0.0/16']);
    expect(r.hasPending).toBe(true);
    await r.apply();
    expect(be.sets.get('mgy4-all-pools')?.members).toEqual(['10.1.0.0/16', '10.2.0.0/16']);
    expect(r.hasPending).toBe(false);
  });

  it('ipsets: a set wanted again while its removal is written is created on the next apply', async () => {
    const be = new FakeIpsetBackend();
    const r = new IpsetReconciler(be);
    r.setIpset({ family: 4, name: 'mgy4-masq', type: 'hash:net', members: ['10.1.0.0/16'] });
    await r.apply();
    r.removeIpset('mgy4-masq');
    during(be, 'restore', () =>
      r.setIpset({ family: 4, name: 'mgy4-masq', type: 'hash:net', members: ['10.3.0.0/16'] }),
    );
    await r.applyRemovals();
    expect(be.sets.has('mgy4-masq')).toBe(false);
    expect(r.hasPending).toBe(true);
    await r.apply();
    expect(be.sets.get('mgy4-masq')?.members).toEqual(['10.3.0.0/16']);
  });

  it('sysctls: a key set during the write is written on the next apply', async () => {
    const ops = new FakeSysctlOps({ 'net/ipv4/conf/mgy1/proxy_arp': 0, 'net/ipv4/conf/mgy2/proxy_arp': 0 });
    const r = new SysctlReconciler(ops);
    r.setOwner('ep1', { 'net/ipv4/conf/mgy1/proxy_arp': '1' });
    await r.apply();
    r.setOwner('ep1', { 'net/ipv4/conf/mgy1/proxy_arp': '0' });
    during(ops, 'setMany', () => r.setOwner('ep2', { 'net/ipv4/conf/mgy2/proxy_arp': '1' }));
    await r.apply();
    expect(r.isProgrammed('ep2')).toBe(false);
    await r.apply();
    expect(ops.values.get('net/ipv4/conf/mgy2/proxy_arp')).toBe('1');
    expect(r.isProgrammed('ep2')).toBe(true);
  });

  it('links: an MTU changed during the write is written on the next apply', async () => {
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
    during(links, 'set', () => r.setMtu('mgy1', 1440));
    await r.apply();
    expect(r.isProgrammed('mgy1')).toBe(false);
    await r.apply();
    expect(links.links.get('mgy1')?.mtu).toBe(1440);
    expect(r.isProgrammed('mgy1')).toBe(true);
  });
});
