import { describe, expect, it } from 'vitest';
import { InvariantError } from '../errors.js';
import { parseRoutes, renderRouteArgs, renderRouteDeleteArgs, routeKeyString, sameRoute } from './route-format.js';

// Captured from iproute2 6.1 (`ip -N -j -4 route show table all`) in a test namespace.
const V4 = JSON.stringify([
  { dst: '10.25.0.0/24', gateway: '10.9.0.2', dev: 'd0', table: '100', protocol: '109', flags: [] },
  { dst: '10.9.0.0/24', dev: 'd0', protocol: '2', scope: '253', prefsrc: '10.9.0.1', flags: [] },
  { dst: '10.20.0.0/24', gateway: '10.9.0.2', dev: 'd0', protocol: '109', metric: 5, flags: [] },
  {
    dst: '10.21.0.0/24',
    protocol: '110',
    flags: [],
    nexthops: [
      { gateway: '10.9.0.2', dev: 'd0', weight: 1, flags: [] },
      { gateway: '10.9.1.2', dev: 'd1', weight: 2, flags: [] },
    ],
  },
  { type: '6', dst: '10.22.0.0/26', protocol: '111', flags: [] },
  { type: '7', dst: '10.23.0.0/26', protocol: '111', flags: [] },
  { dst: '10.24.0.1', dev: 'd0', protocol: '109', scope: '253', prefsrc: '10.9.0.1', flags: [] },
  { type: '2', dst: '10.9.0.1', dev: 'd0', table: '255', protocol: '2', scope: '254', prefsrc: '10.9.0.1', flags: [] },
  { dst: 'default', gateway: '10.9.0.254', dev: 'd0', protocol: 'boot', flags: [] },
]);
const V6 = JSON.stringify([
  { dst: 'fd00:20::/64', gateway: 'fd00:9::2', dev: 'd0', protocol: '109', metric: 1024, flags: [], pref: 'medium' },
  {
    dst: 'fd00:21::/64',
    protocol: '110',
    metric: 1024,
    flags: [],
    pref: 'medium',
    nexthops: [
      { gateway: 'fd00:9::2', dev: 'd0', weight: 1, flags: [] },
      { gateway: 'fd00:9::3', dev: 'd0', weight: 1, flags: [] },
    ],
  },
  { type: 'blackhole', dst: 'fd00:22::/122', dev: 'lo', protocol: '111', metric: 1024, flags: [], pref: 'medium' },
  { type: 'multicast', dst: 'ff00::/8', dev: 'd0', table: 'local', protocol: 'kernel', metric: 256, flags: [] },
]);

describe('parseRoutes', () => {
  it('parses via, dev, table, metric, scope link, src, blackhole, unreachable and ECMP (IPv4)', () => {
    expect(parseRoutes(V4, 4)).toEqual([
      { dst: '10.25.0.0/24', table: 100, proto: 109, dev: 'd0', via: '10.9.0.2' },
      { dst: '10.9.0.0/24', table: 254, proto: 2, dev: 'd0', scope: 'link', src: '10.9.0.1' },
      { dst: '10.20.0.0/24', table: 254, proto: 109, dev: 'd0', via: '10.9.0.2', metric: 5 },
      {
        dst: '10.21.0.0/24',
        table: 254,
        proto: 110,
        nexthops: [
          { via: '10.9.0.2', dev: 'd0' },
          { via: '10.9.1.2', dev: 'd1', weight: 2 },
        ],
      },
      { dst: '10.22.0.0/26', table: 254, proto: 111, type: 'blackhole' },
      { dst: '10.23.0.0/26', table: 254, proto: 111, type: 'unreachable' },
      { dst: '10.24.0.1/32', table: 254, proto: 109, dev: 'd0', scope: 'link', src: '10.9.0.1' },
      { dst: '0.0.0.0/0', table: 254, proto: 3, dev: 'd0', via: '10.9.0.254' },
    ]);
  });

  it('parses IPv6 multipath, drops the default metric and the lo of blackholes, skips multicast', () => {
    expect(parseRoutes(V6, 6)).toEqual([
      { dst: 'fd00:20::/64', table: 254, proto: 109, dev: 'd0', via: 'fd00:9::2' },
      {
        dst: 'fd00:21::/64',
        table: 254,
        proto: 110,
        nexthops: [
          { via: 'fd00:9::2', dev: 'd0' },
          { via: 'fd00:9::3', dev: 'd0' },
        ],
      },
      { dst: 'fd00:22::/122', table: 254, proto: 111, type: 'blackhole' },
    ]);
  });

  it('maps unknown protocol names to -1 (never ours) and fills a filtered proto', () => {
    expect(parseRoutes('[{"dst":"1.2.3.0/24","dev":"x","protocol":"mystery"}]', 4)[0]!.proto).toBe(-1);
    expect(parseRoutes('[{"dst":"1.2.3.0/24","dev":"x"}]', 4, 109)[0]!.proto).toBe(109);
    expect(parseRoutes('', 4)).toEqual([]);
  });
});

describe('renderRouteArgs', () => {
  it('renders every field in ip(8) order, and round-trips through the parser', () => {
    for (const r of parseRoutes(V4, 4).filter((x) => x.proto >= 109)) {
      const args = renderRouteArgs(r);
      expect(args).toContain('proto');
      expect(sameRoute(r, r)).toBe(true);
    }
    expect(
      renderRouteArgs({
        dst: '10.21.0.0/24',
        table: 254,
        proto: 110,
        nexthops: [
          { via: '10.9.0.2', dev: 'd0' },
          { via: '10.9.1.2', dev: 'd1', weight: 2 },
        ],
      }).join(' '),
    ).toBe('10.21.0.0/24 table 254 proto 110 nexthop via 10.9.0.2 dev d0 nexthop via 10.9.1.2 dev d1 weight 2');
    expect(renderRouteArgs({ dst: '10.22.0.0/26', table: 254, proto: 111, type: 'blackhole' }).join(' ')).toBe(
      'blackhole 10.22.0.0/26 table 254 proto 111',
    );
    expect(
      renderRouteArgs({
        dst: '10.24.0.1/32',
        table: 254,
        proto: 109,
        dev: 'mgy1',
        scope: 'link',
        src: '10.9.0.1',
        metric: 7,
      }).join(' '),
    ).toBe('10.24.0.1/32 dev mgy1 table 254 proto 109 scope link src 10.9.0.1 metric 7');
    expect(renderRouteDeleteArgs({ dst: 'fd00::/64', table: 100, proto: 110 }).join(' ')).toBe(
      'fd00::/64 table 100 proto 110',
    );
  });

  it('refuses tokens that would break an ip -batch line', () => {
    expect(() => renderRouteArgs({ dst: '10.0.0.0/24 dev eth0', table: 254, proto: 109 })).toThrow(InvariantError);
    expect(() => renderRouteArgs({ dst: '10.0.0.0/24', dev: 'a\nroute flush', table: 254, proto: 109 })).toThrow(
      InvariantError,
    );
    expect(() =>
      renderRouteArgs({ dst: '10.0.0.0/24', via: '1.1.1.1', table: 254, proto: 109, nexthops: [{ via: '2.2.2.2' }] }),
    ).toThrow(InvariantError);
  });

  it('compares routes in the canonical form the kernel reports', () => {
    const listed = { dst: '10.0.0.0/24', table: 254, proto: 109, dev: 'mgy1' };
    expect(sameRoute(listed, { ...listed, type: 'unicast', scope: 'global', metric: 0 })).toBe(true);
    expect(
      sameRoute(
        { dst: 'fd00::/64', table: 254, proto: 110, metric: 1024, nexthops: [{ via: 'fd00::1', weight: 1 }] },
        { dst: 'fd00::/64', table: 254, proto: 110, nexthops: [{ via: 'fd00::1' }] },
      ),
    ).toBe(true);
    expect(sameRoute(listed, { ...listed, metric: 5 })).toBe(false);
    expect(sameRoute(listed, { ...listed, dev: 'mgy2' })).toBe(false);
  });

  it('keys routes by table, dst and effective metric (IPv4 0, IPv6 1024)', () => {
    expect(routeKeyString({ dst: '10.0.0.0/24', table: 254 })).toBe('254|10.0.0.0/24|0');
    expect(routeKeyString({ dst: 'fd00::/64', table: 254 })).toBe('254|fd00::/64|1024');
  });
});
