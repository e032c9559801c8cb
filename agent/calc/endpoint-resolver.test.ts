import { describe, expect, it } from 'vitest';
import { LocalEndpointResolver, workloadInterfaceName, type EndpointListener } from './endpoint-resolver.js';
import { namespace, pod } from './testing/fixtures.js';
import { recorder } from './testing/recorder.js';
import type { CalcConfig, LocalEndpoint } from './types.js';

const CONFIG: CalcConfig = { nodeName: 'node-a', routingMode: 'host-gw', ipv4: true, ipv6: true, hostMtu: 1500 };
const REG = {
  key: 'net/c1',
  namespace: 'ns',
  pod: 'p1',
  containerId: 'c1',
  iface: 'mgy00000000001',
  mac: '0A:58:00:00:00:01',
  ipv4Nets: ['10.1.0.5'],
  ipv6Nets: ['fd00::5/128'],
  labels: { from: 'cni' },
};

describe('LocalEndpointResolver', () => {
  it('joins a registration with its Pod labels and Namespace labels, canonicalising addresses', () => {
    const out = recorder<EndpointListener>();
    const r = new LocalEndpointResolver(CONFIG, out);
    r.register(REG);
    r.flush();
    r.onNamespace('ns', namespace('ns', { team: 'x' }));
    r.onPod('ns/p1', pod('ns', 'p1', 'node-a', ['10.1.0.5'], { app: 'web' }));
    r.flush();
    const last = out.calls.at(-1)![2] as LocalEndpoint;
    expect(out.calls.length).toBe(2);
    expect(last).toEqual({
      key: 'net/c1',
      iface: 'mgy00000000001',
      mac: '0a:58:00:00:00:01',
      namespace: 'ns',
      pod: 'p1',
      containerId: 'c1',
      ipv4Nets: ['10.1.0.5/32'],
      ipv6Nets: ['fd00::5/128'],
      labels: { app: 'web' },
      namespaceLabels: { team: 'x' },
      mtu: 1500,
    });
    r.unregister('net/c1');
    r.flush();
    expect(out.calls.at(-1)).toEqual(['endpointChanged', 'net/c1', undefined]);
  });

  it('derives an endpoint from a local Pod until its registration arrives (agent restart)', () => {
    const out = recorder<EndpointListener>();
    const r = new LocalEndpointResolver(CONFIG, out);
    r.onPod('ns/p1', pod('ns', 'p1', 'node-a', ['10.1.0.5']));
    r.onPod('ns/other', pod('ns', 'other', 'node-b', ['10.1.0.6']));
    r.flush();
    expect(out.calls).toEqual([
      [
        'endpointChanged',
        'pod:ns/p1',
        expect.objectContaining({ iface: workloadInterfaceName('ns', 'p1'), ipv4Nets: ['10.1.0.5/32'] }),
      ],
    ]);
    r.register(REG);
    r.flush();
    expect(out.calls.slice(1).map((c) => [c[1], c[2] === undefined])).toEqual(
      expect.arrayContaining([
        ['pod:ns/p1', true],
        ['net/c1', false],
      ]),
    );
  });

  it('lowers the veth MTU by the encapsulation overhead unless a fixed MTU is configured', () => {
    const out = recorder<EndpointListener>();
    const r = new LocalEndpointResolver(CONFIG, out);
    r.register(REG);
    r.encapOverheadChanged(50);
    r.flush();
    expect((out.calls.at(-1)![2] as LocalEndpoint).mtu).toBe(1450);
    const fixed = new LocalEndpointResolver({ ...CONFIG, vethMtu: 9000 }, recorder<EndpointListener>());
    fixed.encapOverheadChanged(50);
    expect(fixed.mtu).toBe(9000);
  });

  it('names veths like Calico: mgy + 11 hex digits of sha1(namespace.pod)', () => {
    expect(workloadInterfaceName('default', 'nginx')).toMatch(/^mgy[0-9a-f]{11}$/);
    expect(workloadInterfaceName('default', 'nginx')).not.toBe(workloadInterfaceName('default', 'nginx2'));
  });
});
