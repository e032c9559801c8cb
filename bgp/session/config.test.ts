import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { FAMILY } from '../codec/constants.js';
import { makeSessionConfig, openCapabilities } from './config.js';

const BASE = { peerAddress: '192.0.2.2', localAs: 4_200_000_001, peerAs: 'external' as const, routerId: '192.0.2.1' };

describe('session config', () => {
  it('fills defaults: hold 90, send hold max(480, 2×hold), back-off 1..120 s', () => {
    const c = makeSessionConfig(BASE);
    expect(c).toMatchObject({
      peerPort: 179,
      holdTimeSeconds: 90,
      sendHoldSeconds: 480,
      routerId: 0xc0000201,
      passive: false,
    });
    expect(c.backoff).toEqual({ initialSeconds: 1, maxSeconds: 120, stableSeconds: 60 });
    expect(makeSessionConfig({ ...BASE, holdTimeSeconds: 300 }).sendHoldSeconds).toBe(600);
    expect(makeSessionConfig({ ...BASE, holdTimeSeconds: 0 }).sendHoldSeconds).toBe(0);
    expect(Object.isFrozen(c)).toBe(true);
  });
  it.each([
    [{ holdTimeSeconds: 2 }, 'holdTimeSeconds'],
    [{ routerId: '0.0.0.0' }, 'routerId'],
    [{ peerAddress: 'peer.example' }, 'peerAddress'],
    [{ md5Password: 'x'.repeat(81) }, 'md5Password'],
    [{ ttlSecurityHops: 255 }, 'ttlSecurityHops'],
  ])('rejects %o naming the field', (over, field) => {
    expect(() => makeSessionConfig({ ...BASE, ...over })).toThrow(ConfigError);
    expect(() => makeSessionConfig({ ...BASE, ...over })).toThrow(field);
  });
  it('offers MP families, route refresh, enhanced RR, 4-octet AS, extended messages, ADD-PATH and GR', () => {
    const c = makeSessionConfig({
      ...BASE,
      families: [FAMILY.IPV4_UNICAST, FAMILY.IPV6_UNICAST],
      addPath: new Map([[FAMILY.IPV4_UNICAST, 'receive']]),
      gracefulRestart: {
        restartTimeSeconds: 120,
        restarting: true,
        notification: true,
        forwardingPreserved: [FAMILY.IPV4_UNICAST],
      },
    });
    expect(openCapabilities(c)).toEqual([
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'multiprotocol', afi: 2, safi: 1 },
      { kind: 'route-refresh' },
      { kind: 'enhanced-route-refresh' },
      { kind: 'four-octet-as', asn: 4_200_000_001 },
      { kind: 'extended-message' },
      { kind: 'add-path', families: [{ afi: 1, safi: 1, mode: 'receive' }] },
      {
        kind: 'graceful-restart',
        restarting: true,
        notification: true,
        restartTime: 120,
        families: [
          { afi: 1, safi: 1, forwardingPreserved: true },
          { afi: 2, safi: 1, forwardingPreserved: false },
        ],
      },
    ]);
  });
  it('offers RFC 8950 extended next hop for IPv4 unicast only when asked and ipv4 is carried', () => {
    const enhe = { kind: 'extended-next-hop', entries: [{ afi: 1, safi: 1, nextHopAfi: 2 }] };
    expect(openCapabilities(makeSessionConfig({ ...BASE, extendedNextHop: true }))).toContainEqual(enhe);
    expect(openCapabilities(makeSessionConfig(BASE)).map((c) => c.kind)).not.toContain('extended-next-hop');
    expect(
      openCapabilities(makeSessionConfig({ ...BASE, extendedNextHop: true, families: [FAMILY.IPV6_UNICAST] })).map(
        (c) => c.kind,
      ),
    ).not.toContain('extended-next-hop');
  });
});
