import { describe, expect, it } from 'vitest';
import { InvariantError, KernelOpError } from '../errors.js';
import { silentLogger } from '../log.js';
import { confKey, normalizeSysctlKey, ProcSysctlOps } from './sysctl-ops.js';
import { FakeCommandRunner } from './testing/fake-command-runner.js';
import { FakeSysctlOps } from './testing/fake-sysctl-ops.js';

describe('sysctl keys', () => {
  it('normalises dotted keys to paths and keeps dots in interface names of path keys', () => {
    expect(normalizeSysctlKey('net.ipv4.ip_forward')).toBe('net/ipv4/ip_forward');
    expect(confKey(4, 'eth0.100', 'rp_filter')).toBe('net/ipv4/conf/eth0.100/rp_filter');
    expect(confKey(6, 'mgy0123', 'accept_ra')).toBe('net/ipv6/conf/mgy0123/accept_ra');
  });

  it.each([
    ['net/../kernel/core_pattern'],
    ['net/ipv4/conf/../../../etc/passwd'],
    ['kernel.core_pattern'],
    ['/net/ipv4/ip_forward'],
    ['net//ipv4'],
    ['net.ipv4.ip forward'],
    ['net/ipv4/conf/a\n/b'],
    ['net'],
    ['net/ipv4/conf/./rp_filter'],
  ])('refuses %j', (key) => {
    expect(() => normalizeSysctlKey(key)).toThrow(InvariantError);
  });

  it.each([
    ['kernel.yama.ptrace_scope', /only net\.\* keys/],
    ['fs/protected/regular', /only net\.\* keys/],
    ['net/ipv4/conf/../rp_filter', /segment "\.\." is not allowed/],
    ['net.ipv4', /too short/],
  ])('refuses %j for the right reason', (key, reason) => {
    expect(() => normalizeSysctlKey(key)).toThrow(reason);
  });
});

describe('ProcSysctlOps', () => {
  it('reads and writes through sysctl in the namespace, all entries in one call', async () => {
    const runner = new FakeCommandRunner().on('sysctl -n', { stdout: '1\n' });
    const s = new ProcSysctlOps(runner, silentLogger(), 'node1');
    expect(await s.get('net.ipv4.ip_forward')).toBe('1');
    await s.setMany({ 'net.ipv4.ip_forward': 1, [confKey(4, 'mgyab', 'proxy_arp')]: '1' });
    expect(runner.lines).toEqual([
      'ip netns exec node1 sysctl -n net/ipv4/ip_forward',
      'ip netns exec node1 sysctl -q -w net/ipv4/ip_forward=1 net/ipv4/conf/mgyab/proxy_arp=1',
    ]);
    await expect(s.set('net.ipv4.ip_forward', '1; reboot')).rejects.toThrow(InvariantError);
  });

  it('fails with the key sysctl could not write', async () => {
    const runner = new FakeCommandRunner().on('sysctl -q -w', {
      exitCode: 255,
      stderr: 'sysctl: cannot stat /proc/sys/net/ipv4/conf/mgynope/rp_filter: No such file or directory\n',
    });
    const err = await new ProcSysctlOps(runner, silentLogger())
      .set(confKey(4, 'mgynope', 'rp_filter'), 1)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KernelOpError);
    expect((err as Error).message).toContain('mgynope/rp_filter');
  });
});

describe('FakeSysctlOps', () => {
  it('stores values by canonical key and fails on unknown keys', async () => {
    const f = new FakeSysctlOps({ 'net.ipv4.ip_forward': 0 });
    await f.set('net/ipv4/ip_forward', 1);
    expect(await f.get('net.ipv4.ip_forward')).toBe('1');
    await expect(f.get('net.ipv4.nope')).rejects.toThrow(KernelOpError);
    expect(f.ops).toEqual(['set net/ipv4/ip_forward=1', 'get net/ipv4/ip_forward', 'get net/ipv4/nope']);
  });
});
