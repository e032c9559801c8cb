import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  connectedSubnets,
  deviceOf,
  systemInterfaces,
  fibChanges,
  linkFacts,
  localAddresses,
  splitZone,
  type InterfaceTable,
} from './interfaces.js';

const v4 = (address: string, cidr: string): NetworkInterfaceInfo => ({
  address,
  netmask: '255.255.255.0',
  family: 'IPv4',
  mac: '00:00:00:00:00:00',
  internal: false,
  cidr,
});
const v6 = (address: string, cidr: string, scopeid = 0): NetworkInterfaceInfo => ({
  address,
  netmask: 'ffff:ffff:ffff:ffff::',
  family: 'IPv6',
  mac: '00:00:00:00:00:00',
  internal: false,
  cidr,
  scopeid,
});

const TABLE: InterfaceTable = {
  lo: [v4('127.0.0.1', '127.0.0.1/8')],
  eth0: [v4('10.0.0.1', '10.0.0.1/24'), v6('fd00::1', 'fd00::1/64'), v6('fe80::1', 'fe80::1/64', 2)],
  eth1: [v4('192.0.2.1', '192.0.2.1/30')],
};

describe('interfaces', () => {
  it('finds the device of an address (zone id, v4-mapped, scope id)', () => {
    expect(deviceOf(TABLE, '10.0.0.1')).toBe('eth0');
    expect(deviceOf(TABLE, '::ffff:192.0.2.1')).toBe('eth1');
    expect(deviceOf(TABLE, 'FD00::1')).toBe('eth0');
    expect(deviceOf(TABLE, 'fe80::1%eth7')).toBe('eth7');
    expect(deviceOf(TABLE, 'fe80::1%2')).toBe('eth0');
    expect(deviceOf(TABLE, '10.9.9.9')).toBeUndefined();
    expect(splitZone('fe80::1%eth0')).toEqual({ address: 'fe80::1', zone: 'eth0' });
  });

  it('lists local addresses and the connected subnets of a session address', () => {
    expect(localAddresses(TABLE)).toContain('fd00::1');
    expect(connectedSubnets(TABLE, '10.0.0.1')).toEqual(['10.0.0.1/24', 'fd00::1/64', 'fe80::1/64']);
    expect(connectedSubnets(TABLE, '10.9.9.9')).toEqual([]);
  });

  it('gives the RIB its NEXT_HOP facts: our addresses, the session link subnets, multihop', () => {
    const direct = linkFacts(TABLE, '10.0.0.1', '10.0.0.2', {});
    expect(direct).toEqual({
      localAddresses: ['127.0.0.1', '10.0.0.1', 'fd00::1', 'fe80::1', '192.0.2.1'],
      connectedSubnets: ['10.0.0.1/24', 'fd00::1/64', 'fe80::1/64'],
      multihop: false,
    });
    expect(linkFacts(TABLE, '10.0.0.1', '10.7.0.2', {}).multihop, 'peer on no connected subnet').toBe(true);
    expect(linkFacts(TABLE, '10.0.0.1', '10.0.0.2', { ttlSecurity: 2 }).multihop, 'GTSM allows 2 hops').toBe(true);
    expect(linkFacts(TABLE, '10.0.0.1', '10.7.0.2', { multihop: false }).multihop, 'configured').toBe(false);
    expect(linkFacts(TABLE, 'fd00::1', 'fe80::2%eth0', {}).multihop).toBe(false);
    expect(
      linkFacts(TABLE, '10.5.5.5', '10.5.5.6', {}).connectedSubnets,
      'interface unknown: no subnet check',
    ).toBeUndefined();
  });

  it('turns best-path changes into FIB changes: local ones out, link-local next hops with their device', () => {
    const unresolved: string[] = [];
    const out = fibChanges(
      [
        { prefix: '10.1.0.0/24', family: 'ipv4', nextHops: ['10.0.0.2'], local: false },
        { prefix: '10.2.0.0/24', family: 'ipv4', nextHops: [], local: true },
        { prefix: '10.3.0.0/24', family: 'ipv4', nextHops: ['10.0.0.1'], local: true },
        { prefix: '10.4.0.0/24', family: 'ipv4', nextHops: ['fe80::2', 'fd00::2'], local: false },
        { prefix: 'fd01::/64', family: 'ipv6', nextHops: ['fe80::9'], local: false },
        { prefix: 'fd02::/64', family: 'ipv6', nextHops: ['fe80::9'], local: false },
      ],
      (_p, _f, hop) => (hop === 'fe80::2' ? 'eth0' : undefined),
      (p, hop) => unresolved.push(`${p} ${hop}`),
    );
    expect(out).toEqual([
      { prefix: '10.1.0.0/24', nextHops: ['10.0.0.2'] },
      { prefix: '10.2.0.0/24', nextHops: null },
      { prefix: '10.4.0.0/24', nextHops: ['fe80::2%eth0', 'fd00::2'] },
      { prefix: 'fd01::/64', nextHops: [] },
      { prefix: 'fd02::/64', nextHops: [] },
    ]);
    expect(unresolved).toEqual(['fd01::/64 fe80::9']);
  });

  it('systemInterfaces reads the host once per synchronous run, afresh in the next', async () => {
    const a = systemInterfaces();
    expect(systemInterfaces()).toBe(a);
    await Promise.resolve();
    const b = systemInterfaces();
    expect(b).not.toBe(a);
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
  });
});
