import { describe, expect, it } from 'vitest';
import { ipamAddresses, renderResult, type Attachment } from './result.js';

const ATT: Attachment = {
  host: { name: 'mgy0123456789a', mac: 'ee:ee:ee:ee:ee:ee', mtu: 1450 },
  pod: { name: 'eth0', mac: '02:00:00:00:00:01', mtu: 1450, sandbox: '/run/netns/p' },
  addresses: ['10.0.0.5/32', 'fd00::5/128'],
  routes: [
    { dst: '0.0.0.0/0', gw: '169.254.1.1' },
    { dst: '::/0', gw: 'fe80::ecee:eeff:feee:eeee' },
  ],
};

describe('CNI results per version', () => {
  it('1.x: interface index of the pod side, no ips[].version, mtu on interfaces', () => {
    const r = renderResult('1.1.0', ATT);
    expect(r.interfaces).toEqual([
      { name: 'mgy0123456789a', mac: 'ee:ee:ee:ee:ee:ee', mtu: 1450 },
      { name: 'eth0', mac: '02:00:00:00:00:01', mtu: 1450, sandbox: '/run/netns/p' },
    ]);
    expect(r.ips).toEqual([
      { address: '10.0.0.5/32', gateway: '169.254.1.1', interface: 1 },
      { address: 'fd00::5/128', gateway: 'fe80::ecee:eeff:feee:eeee', interface: 1 },
    ]);
  });

  it('0.3.x/0.4.0: ips[].version, no mtu', () => {
    const r = renderResult('0.3.1', ATT);
    expect(r.ips[0]).toEqual({ version: '4', address: '10.0.0.5/32', gateway: '169.254.1.1', interface: 1 });
    expect(r.interfaces[0]).toEqual({ name: 'mgy0123456789a', mac: 'ee:ee:ee:ee:ee:ee' });
  });

  it('after another plugin in a chain: keeps its result first and shifts our interface index', () => {
    const prev = {
      interfaces: [{ name: 'x' }],
      ips: [{ address: '192.168.0.2/24', interface: 0 }],
      routes: [{ dst: '192.168.0.0/16' }],
      dns: { nameservers: ['1.1.1.1'] },
    };
    const r = renderResult('1.0.0', ATT, prev);
    expect(r.interfaces.map((i) => i.name)).toEqual(['x', 'mgy0123456789a', 'eth0']);
    expect(r.ips.map((i) => i.interface)).toEqual([0, 2, 2]);
    expect(r.routes).toHaveLength(3);
    expect(r.dns).toEqual({ nameservers: ['1.1.1.1'] });
  });

  it('reads an IPAM plugin result and refuses a bad one', () => {
    expect(ipamAddresses({ ips: [{ address: '10.1.0.3/24', gateway: '10.1.0.1' }] })).toEqual(['10.1.0.3/24']);
    expect(() => ipamAddresses({ ips: [] })).toThrow('no addresses');
    expect(() => ipamAddresses({ ips: [{ address: 'x; rm -rf' }] })).toThrow('invalid address');
  });
});
