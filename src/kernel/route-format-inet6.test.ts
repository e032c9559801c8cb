/** IPv4 routes with IPv6 gateways (RFC 8950 next hops): `via inet6 ADDR` out, `via: {family, host}` back. */
import { describe, expect, it } from 'vitest';
import { parseRoutes, renderRouteArgs, sameRoute } from './route-format.js';

describe('IPv4 routes via IPv6 gateways', () => {
  it('renders via inet6, with a device for a link-local gateway, also per ECMP next hop', () => {
    expect(renderRouteArgs({ dst: '10.0.1.0/24', table: 254, proto: 110, via: '2001:db8::2' }).join(' ')).toBe(
      '10.0.1.0/24 via inet6 2001:db8::2 table 254 proto 110',
    );
    expect(renderRouteArgs({ dst: '10.0.0.0/24', table: 254, proto: 110, via: 'fe80::1', dev: 'v0' }).join(' ')).toBe(
      '10.0.0.0/24 via inet6 fe80::1 dev v0 table 254 proto 110',
    );
    expect(
      renderRouteArgs({
        dst: '10.0.2.0/24',
        table: 254,
        proto: 110,
        nexthops: [{ via: 'fe80::1', dev: 'v0' }, { via: '192.0.2.1' }],
      }).join(' '),
    ).toBe('10.0.2.0/24 table 254 proto 110 nexthop via inet6 fe80::1 dev v0 nexthop via 192.0.2.1');
    // IPv6 routes and IPv4 gateways are unchanged.
    expect(renderRouteArgs({ dst: 'fd00::/64', table: 254, proto: 110, via: 'fe80::1', dev: 'v0' }).join(' ')).toBe(
      'fd00::/64 via fe80::1 dev v0 table 254 proto 110',
    );
    expect(renderRouteArgs({ dst: '10.0.3.0/24', table: 254, proto: 110, via: '192.0.2.1' }).join(' ')).toBe(
      '10.0.3.0/24 via 192.0.2.1 table 254 proto 110',
    );
  });

  it('parses what `ip -N -j -4 route show` prints for them (captured from iproute2 here)', () => {
    const json =
      '[{"dst":"10.0.0.0/24","via":{"family":"inet6","host":"fe80::1"},"dev":"v0","flags":[]},' +
      '{"dst":"10.0.2.0/24","flags":[],"nexthops":[{"via":{"family":"inet6","host":"fe80::1"},"dev":"v0","weight":1,"flags":[]},' +
      '{"via":{"family":"inet6","host":"fe80::2"},"dev":"v0","weight":1,"flags":[]}]}]';
    const [a, b] = parseRoutes(json, 4, 110);
    expect(a).toEqual({ dst: '10.0.0.0/24', table: 254, proto: 110, via: 'fe80::1', dev: 'v0' });
    expect(b).toEqual({
      dst: '10.0.2.0/24',
      table: 254,
      proto: 110,
      nexthops: [
        { via: 'fe80::1', dev: 'v0' },
        { via: 'fe80::2', dev: 'v0' },
      ],
    });
    expect(sameRoute(a!, { dst: '10.0.0.0/24', table: 254, proto: 110, via: 'fe80::1', dev: 'v0' })).toBe(true);
  });
});
