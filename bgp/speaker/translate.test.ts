import { describe, expect, it } from 'vitest';
import { FAMILY } from '../codec/constants.js';
import { parseBgpdConfig } from '../config-file.js';
import { prefixTextContains } from '../../src/net/index.js';
import {
  matchListenRange,
  peerChange,
  policyDefinitions,
  resolvePeerAs,
  ribPeerConfig,
  sessionInput,
} from './translate.js';

const CONF = parseBgpdConfig(`
routerId: 10.0.0.1
asn: 65001
policies:
  pods:
    defaultAction: reject
    rules:
      - match: { prefixes: [{ prefix: 10.244.0.0/16, le: 26 }], communities: ["65000:1"], originAs: [65010] }
        action: accept
        set: { localPref: 200, nextHop: self, asPathPrepend: 2 }
peers:
  - { address: 10.0.0.2, asn: internal, import: pods, routeReflectorClient: true, addPath: receive, families: [ipv4, ipv6], password: pw }
  - { address: 10.0.0.3, asn: external, passive: true, maxPrefix: { limit: 5 }, ipv6NextHop: "2001:db8::1" }
listenRanges:
  - { prefix: 10.9.0.0/16, asn: 65009 }
`);

describe('translate', () => {
  it('compiles policies to bgp/policy definitions', () => {
    const d = policyDefinitions(CONF).get('pods')!;
    expect(d).toEqual({
      name: 'pods',
      defaultResult: 'reject',
      statements: [
        {
          name: 'pods[0]',
          result: 'accept',
          match: {
            prefix: { entries: [{ prefix: '10.244.0.0/16', le: 26 }] },
            community: { any: ['65000:1'] },
            asPath: { originAs: [65010] },
          },
          actions: { setLocalPref: 200, setNextHop: 'self', prepend: { count: 2 } },
        },
      ],
    });
  });

  it('builds session inputs with families, add-path, MD5 and GR', () => {
    const s = sessionInput(CONF, CONF.peers[0]!, { restarting: true, forwardingPreserved: false });
    expect(s).toMatchObject({
      peerAddress: '10.0.0.2',
      peerPort: 179,
      localAs: 65001,
      peerAs: 'internal',
      routerId: '10.0.0.1',
      md5Password: 'pw',
      passive: false,
    });
    expect(s.families).toEqual([FAMILY.IPV4_UNICAST, FAMILY.IPV6_UNICAST]);
    expect([...s.addPath!.entries()]).toEqual([
      [FAMILY.IPV4_UNICAST, 'receive'],
      [FAMILY.IPV6_UNICAST, 'receive'],
    ]);
    expect(s.gracefulRestart).toEqual({
      restartTimeSeconds: 120,
      restarting: true,
      notification: true,
      forwardingPreserved: [],
    });
    expect(
      sessionInput(CONF, CONF.peers[1]!, { restarting: false, forwardingPreserved: false }).addPath,
    ).toBeUndefined();
  });

  it('offers RFC 8950 by default on IPv6 sessions that carry ipv4; the option overrides', () => {
    const base = CONF.peers[0]!;
    const enhe = (p: Partial<typeof base>): boolean | undefined =>
      sessionInput(CONF, { ...base, ...p }, { restarting: false, forwardingPreserved: false }).extendedNextHop;
    expect(enhe({})).toBe(false);
    expect(enhe({ address: 'fd00::2' })).toBe(true);
    expect(enhe({ address: 'fd00::2', families: ['ipv6'] })).toBe(false);
    expect(enhe({ address: 'fd00::2', extendedNextHop: false })).toBe(false);
    expect(enhe({ extendedNextHop: true })).toBe(true);
    expect(peerChange(base, { ...base, extendedNextHop: true })).toBe('reset');
  });

  it('passes the NEXT_HOP facts to the RIB', () => {
    const link = { localAddresses: ['10.0.0.1'], connectedSubnets: ['10.0.0.0/24'], multihop: false };
    expect(
      ribPeerConfig(CONF, CONF.peers[1]!, 'x', { peerAs: 65002, localAddress: '10.0.0.1', link }, new Map()),
    ).toMatchObject(link);
    expect(
      ribPeerConfig(CONF, CONF.peers[1]!, 'x', { peerAs: 65002, localAddress: '10.0.0.1' }, new Map()),
    ).not.toHaveProperty('connectedSubnets');
    expect(peerChange(CONF.peers[1]!, { ...CONF.peers[1]!, multihop: true })).toBe('rib');
  });

  it('builds RIB peer settings and resolves internal/external ASNs', () => {
    const pol = policyDefinitions(CONF);
    expect(resolvePeerAs(CONF, CONF.peers[0]!)).toBe(65001);
    expect(resolvePeerAs(CONF, CONF.peers[1]!)).toBeUndefined();
    expect(resolvePeerAs(CONF, CONF.peers[1]!, 65003)).toBe(65003);
    const r = ribPeerConfig(CONF, CONF.peers[0]!, '10.0.0.2', { peerAs: 65001, localAddress: '10.0.0.1' }, pol);
    expect(r).toMatchObject({
      id: '10.0.0.2',
      peerAs: 65001,
      routeReflectorClient: true,
      nextHopSelf: 'auto',
      allowAsIn: 0,
    });
    expect(r.importPolicy?.name).toBe('pods');
    expect(r.exportPolicy).toBeUndefined();
    expect(ribPeerConfig(CONF, CONF.peers[1]!, 'x', { peerAs: 1, localAddress: '10.0.0.1' }, pol)).toMatchObject({
      maxPrefixes: 5,
      localAddressV6: '2001:db8::1',
    });
  });

  it('classifies peer changes: session reset vs RIB-only vs none', () => {
    const p = CONF.peers[0]!;
    expect(peerChange(p, { ...p })).toBe('none');
    expect(peerChange(p, { ...p, import: undefined })).toBe('rib');
    expect(peerChange(p, { ...p, holdTime: 30 })).toBe('reset');
    expect(peerChange(p, { ...p, password: 'other' })).toBe('reset');
  });

  it('matches listen ranges (v4, v4-mapped, v6)', () => {
    expect(matchListenRange(CONF, '10.9.3.4')?.asn).toBe(65009);
    expect(matchListenRange(CONF, '::ffff:10.9.3.4')?.asn).toBe(65009);
    expect(matchListenRange(CONF, '10.8.3.4')).toBeUndefined();
    expect(prefixTextContains('2001:db8::/32', '2001:db8:1::5')).toBe(true);
    expect(prefixTextContains('2001:db8::/32', '2001:db9::5')).toBe(false);
    expect(prefixTextContains('0.0.0.0/0', '1.2.3.4')).toBe(true);
    expect(prefixTextContains('10.0.0.0/9', '10.128.0.1')).toBe(false);
  });
});
