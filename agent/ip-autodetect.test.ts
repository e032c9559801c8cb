import { describe, expect, it } from 'vitest';
import { chooseAddress, resolveNodeIp, type HostAddress } from './ip-autodetect.js';

const HOST: HostAddress[] = [
  { iface: 'lo', address: '127.0.0.1', prefixLength: 8, family: 4 },
  { iface: 'docker0', address: '172.17.0.1', prefixLength: 16, family: 4 },
  { iface: 'mgy1234', address: '169.254.1.1', prefixLength: 32, family: 4 },
  { iface: 'eth0', address: '10.0.0.5', prefixLength: 24, family: 4 },
  { iface: 'eth1', address: '192.168.7.2', prefixLength: 24, family: 4 },
  { iface: 'eth0', address: 'fe80::1', prefixLength: 64, family: 6 },
  { iface: 'eth0', address: 'fd00::5', prefixLength: 64, family: 6 },
];

describe('chooseAddress', () => {
  it.each([
    [{ method: 'first-found' } as const, 4, '10.0.0.5'],
    [{ method: 'first-found' } as const, 6, 'fd00::5'],
    [{ method: 'interface', patterns: ['eth1'] } as const, 4, '192.168.7.2'],
    [{ method: 'interface', patterns: ['eth'] } as const, 4, undefined], // anchored like Calico's regex match on the whole name
    [{ method: 'interface', patterns: ['docker.*'] } as const, 4, '172.17.0.1'],
    [{ method: 'skip-interface', patterns: ['eth0'] } as const, 4, '192.168.7.2'],
    [{ method: 'cidr', cidrs: ['192.168.0.0/16'] } as const, 4, '192.168.7.2'],
    [{ method: 'cidr', cidrs: ['11.0.0.0/8'] } as const, 4, undefined],
  ])('%o IPv%i → %s', (m, family, want) => {
    expect(chooseAddress(HOST, family as 4 | 6, m)?.address).toBe(want);
  });
});

describe('resolveNodeIp', () => {
  it('takes an explicit address and its prefix length from the interface', async () => {
    expect(await resolveNodeIp({ address: '10.0.0.5', prefixLength: undefined }, 4, { addresses: () => HOST })).toEqual(
      { address: '10.0.0.5', prefixLength: 24, iface: 'eth0' },
    );
  });
  it('none is no address', async () => {
    expect(await resolveNodeIp({ none: true }, 6, { addresses: () => HOST })).toBeUndefined();
  });
  it('kubernetes-internal-ip reads the Node', async () => {
    const r = await resolveNodeIp({ autodetect: { method: 'kubernetes-internal-ip' } }, 4, {
      addresses: () => HOST,
      internalIp: async () => '192.168.7.2',
    });
    expect(r).toEqual({ address: '192.168.7.2', prefixLength: 24, iface: 'eth1' });
  });
  it('names the method and what it saw when nothing matches', async () => {
    await expect(
      resolveNodeIp({ autodetect: { method: 'cidr', cidrs: ['11.0.0.0/8'] } }, 4, { addresses: () => HOST }),
    ).rejects.toThrow(/cidr: no interface address matches \(saw .*eth0:10\.0\.0\.5/);
  });
});
