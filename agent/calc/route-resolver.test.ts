import { describe, expect, it } from 'vitest';
import { RouteResolver, type RouteSink } from './route-resolver.js';
import { recorder } from './testing/recorder.js';
import type { CalcConfig, LocalEndpoint } from './types.js';

const HOSTGW: CalcConfig = { nodeName: 'node-a', routingMode: 'host-gw', ipv4: true, ipv6: true, hostMtu: 1500 };
const BGP: CalcConfig = { ...HOSTGW, routingMode: 'bgp' };

function ep(key: string, iface: string, v4: string[], v6: string[] = []): LocalEndpoint {
  return { key, iface, ipv4Nets: v4, ipv6Nets: v6, labels: {}, namespaceLabels: {}, mtu: 1500 };
}

describe('RouteResolver', () => {
  it('routes a remote block via its node, and withdraws it when the block moves here (blackhole)', () => {
    const sink = recorder<RouteSink>();
    const rr = new RouteResolver(HOSTGW, sink);
    rr.nodeAddressChanged('node-b', { v4: '10.0.0.2' });
    rr.blockOwnerChanged('192.168.5.0/26', 'node-b');
    rr.flush();
    rr.blockOwnerChanged('192.168.5.0/26', 'node-a');
    rr.flush();
    rr.blockOwnerChanged('192.168.5.0/26', undefined);
    rr.flush();
    expect(sink.calls).toEqual([
      ['routeUpdated', { dst: '192.168.5.0/26', kind: 'remote', nextHops: ['10.0.0.2'] }],
      ['routeUpdated', { dst: '192.168.5.0/26', kind: 'blackhole' }],
      ['routeRemoved', '192.168.5.0/26'],
    ]);
  });

  it('follows a node address change, drops routes of a node without an address of the family', () => {
    const sink = recorder<RouteSink>();
    const rr = new RouteResolver(HOSTGW, sink);
    rr.blockOwnerChanged('fd00:5::/122', 'node-b');
    rr.nodeAddressChanged('node-b', { v4: '10.0.0.2' });
    rr.flush();
    expect(sink.calls).toEqual([]);
    rr.nodeAddressChanged('node-b', { v4: '10.0.0.2', v6: 'fd00::2' });
    rr.flush();
    rr.nodeAddressChanged('node-b', undefined);
    rr.flush();
    expect(sink.calls).toEqual([
      ['routeUpdated', { dst: 'fd00:5::/122', kind: 'remote', nextHops: ['fd00::2'] }],
      ['routeRemoved', 'fd00:5::/122'],
    ]);
  });

  it('borrowed addresses: a local pod in a remote block gets its /32; a remote pod in our block gets a /32 via its node', () => {
    const sink = recorder<RouteSink>();
    const rr = new RouteResolver(HOSTGW, sink);
    rr.nodeAddressChanged('node-b', { v4: '10.0.0.2' });
    rr.blockOwnerChanged('192.168.5.0/26', 'node-b');
    rr.blockOwnerChanged('192.168.6.0/26', 'node-a');
    rr.endpointChanged('k1', ep('k1', 'mgy1', ['192.168.5.9/32']));
    rr.addressNodeChanged('192.168.5.9/32', 'node-a');
    rr.addressNodeChanged('192.168.6.7/32', 'node-b');
    rr.flush();
    expect(new Map(sink.calls.map((c) => [(c[1] as { dst: string }).dst, c[1]]))).toEqual(
      new Map([
        ['192.168.5.0/26', { dst: '192.168.5.0/26', kind: 'remote', nextHops: ['10.0.0.2'] }],
        ['192.168.6.0/26', { dst: '192.168.6.0/26', kind: 'blackhole' }],
        ['192.168.5.9/32', { dst: '192.168.5.9/32', kind: 'workload', dev: 'mgy1' }],
        ['192.168.6.7/32', { dst: '192.168.6.7/32', kind: 'remote', nextHops: ['10.0.0.2'] }],
      ]),
    );
  });

  it('bgp mode: learned routes (ECMP sorted), local knowledge wins, withdrawals remove', () => {
    const sink = recorder<RouteSink>();
    const rr = new RouteResolver(BGP, sink);
    rr.blockOwnerChanged('192.168.6.0/26', 'node-a');
    rr.blockOwnerChanged('192.168.5.0/26', 'node-b');
    rr.learnedRoutesChanged([
      { prefix: '192.168.5.0/26', nextHops: ['10.0.0.3', '10.0.0.2', '10.0.0.2'] },
      { prefix: '192.168.6.0/26', nextHops: ['10.0.0.9'] },
    ]);
    rr.flush();
    rr.learnedRoutesChanged([{ prefix: '192.168.5.0/26', nextHops: null }]);
    rr.flush();
    expect(sink.calls).toEqual([
      ['routeUpdated', { dst: '192.168.6.0/26', kind: 'blackhole' }],
      ['routeUpdated', { dst: '192.168.5.0/26', kind: 'remote', nextHops: ['10.0.0.2', '10.0.0.3'] }],
      ['routeRemoved', '192.168.5.0/26'],
    ]);
  });

  it('prefers a registered endpoint over a pod-derived one for the same address, and skips disabled families', () => {
    const sink = recorder<RouteSink>();
    const rr = new RouteResolver({ ...HOSTGW, ipv6: false }, sink);
    rr.endpointChanged('pod:ns/p', ep('pod:ns/p', 'mgyA', ['10.1.0.1/32'], ['fd00::1/128']));
    rr.endpointChanged('reg', ep('reg', 'mgyB', ['10.1.0.1/32']));
    rr.flush();
    rr.endpointChanged('reg', undefined);
    rr.flush();
    expect(sink.calls).toEqual([
      ['routeUpdated', { dst: '10.1.0.1/32', kind: 'workload', dev: 'mgyB' }],
      ['routeUpdated', { dst: '10.1.0.1/32', kind: 'workload', dev: 'mgyA' }],
    ]);
  });
});
