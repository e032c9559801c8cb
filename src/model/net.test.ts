import { describe, expect, it } from 'vitest';
import { addressCount, cidrContains, parseCidr, parseIp } from './net.js';

describe('net', () => {
  it('parses and canonicalises addresses', () => {
    expect(parseIp('10.1.2.3')).toEqual({ family: 'ipv4', address: '10.1.2.3' });
    expect(parseIp('FD00:0:0::1')).toEqual({ family: 'ipv6', address: 'fd00::1' });
    for (const bad of ['1.2.3', '10.0.0.1/8', 'fe80::1%eth0', '01.2.3.4', '', 'x'])
      expect(parseIp(bad)).toBeUndefined();
  });

  it('parses CIDRs to their network address', () => {
    expect(parseCidr('10.0.0.5/24')).toMatchObject({
      family: 'ipv4',
      network: '10.0.0.0',
      prefix: 24,
      cidr: '10.0.0.0/24',
    });
    expect(parseCidr('FD00::5/64')).toMatchObject({ family: 'ipv6', cidr: 'fd00::/64' });
    expect(parseCidr('0.0.0.0/0')?.cidr).toBe('0.0.0.0/0');
    expect(parseCidr('10.0.0.1')).toBeUndefined();
    expect(parseCidr('10.0.0.1', { allowBareIp: true })?.cidr).toBe('10.0.0.1/32');
    expect(parseCidr('fd00::1', { allowBareIp: true })?.cidr).toBe('fd00::1/128');
    for (const bad of ['10.0.0.0/33', '10.0.0.0/08', '10.0.0.0/', 'fd00::/129', '10.0.0.0/8 ', 'a/8']) {
      expect(parseCidr(bad)).toBeUndefined();
    }
  });

  it('tests containment and sizes', () => {
    const outer = parseCidr('10.0.0.0/16')!;
    expect(cidrContains(outer, parseCidr('10.0.3.0/24')!)).toBe(true);
    expect(cidrContains(outer, parseCidr('10.1.0.0/24')!)).toBe(false);
    expect(cidrContains(outer, parseCidr('::/0')!)).toBe(false);
    expect(addressCount('ipv4', 26)).toBe(64n);
    expect(addressCount('ipv6', 122)).toBe(64n);
  });
});
