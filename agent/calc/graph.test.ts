import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { KindId, Resource } from '../../src/model/kinds.js';
import type { CacheConsumer } from '../sync/resource-cache.js';
import { CalcGraph } from './graph.js';
import { affinity, block, namespace, node, pod, pool, RecordingSink } from './testing/fixtures.js';
import type { CalcConfig, DesiredChain, WorkloadEndpointRegistration } from './types.js';

const CONFIG: CalcConfig = { nodeName: 'node-a', routingMode: 'host-gw', ipv4: true, ipv6: true, hostMtu: 1500 };
const REG: WorkloadEndpointRegistration = {
  key: 'k8s/c1',
  namespace: 'default',
  pod: 'web',
  iface: 'mgy0000000000a',
  mac: '0a:58:0a:01:00:05',
  ipv4Nets: ['10.1.0.5/32'],
  ipv6Nets: ['fd00:1::5/128'],
};

function graph(config = CONFIG) {
  const sink = new RecordingSink();
  return { sink, g: new CalcGraph(config, sink) };
}

/** A cluster: nodes a and b, a NAT pool per family, blocks on each, a borrowed address. */
const CLUSTER: [KindId, Resource][] = [
  ['Node', node('node-a', '10.0.0.1', 'fd00::1')],
  ['Node', node('node-b', '10.0.0.2', 'fd00::2')],
  ['IPPool', pool('v4', '10.1.0.0/16', true)],
  ['IPPool', pool('v6', 'fd00:1::/48', false)],
  ['IPAMBlock', block('10.1.0.0/26', 'node-a', [{ ordinal: 9, node: 'node-b' }])],
  ['IPAMBlock', block('10.1.0.64/26', 'node-b', [{ ordinal: 3, node: 'node-a' }])],
  ['IPAMBlock', block('fd00:1::/122', 'node-a')],
  ['BlockAffinity', affinity('node-b', '10.1.0.128/26')],
  ['Namespace', namespace('default', { team: 'x' })],
  ['Pod', pod('default', 'web', 'node-a', ['10.1.0.5'], { app: 'web' })],
];

describe('CalcGraph: sequences of datastore states', () => {
  it('is a ResourceCache consumer (the agent wires cache → graph directly)', () => {
    const consumer: CacheConsumer = graph().g;
    expect(typeof consumer.upserted).toBe('function');
  });

  it('emits nothing before in-sync, then the full desired state in dependency order', () => {
    const { sink, g } = graph();
    for (const [k, o] of CLUSTER) g.upserted(k, o);
    g.registerEndpoint(REG);
    expect(sink.calls).toEqual([]);
    g.inSync();
    const names = sink.names;
    expect(names.at(-2)).toBe('inSync');
    expect(names.at(-1)).toBe('learnedRoutesInSync'); // host-gw: nothing to wait for
    const firstChain = names.indexOf('chainUpdated');
    expect(names.lastIndexOf('ipsetUpdated')).toBeLessThan(firstChain);
    expect(names.lastIndexOf('chainUpdated')).toBeLessThan(names.indexOf('endpointUpdated'));
    expect([...sink.routes.values()].sort((a, b) => a.dst.localeCompare(b.dst))).toEqual([
      { dst: '10.1.0.0/26', kind: 'blackhole' },
      { dst: '10.1.0.128/26', kind: 'remote', nextHops: ['10.0.0.2'] },
      { dst: '10.1.0.5/32', kind: 'workload', dev: 'mgy0000000000a' },
      { dst: '10.1.0.64/26', kind: 'remote', nextHops: ['10.0.0.2'] },
      { dst: '10.1.0.9/32', kind: 'remote', nextHops: ['10.0.0.2'] },
      { dst: 'fd00:1::/122', kind: 'blackhole' },
      { dst: 'fd00:1::5/128', kind: 'workload', dev: 'mgy0000000000a' },
    ]);
    // 10.1.0.67 (node-b's block, allocated to node-a) has no route until a local endpoint claims it.
    expect(sink.ipsets.get('4|mgy4-masq-pools')?.members).toEqual(['10.1.0.0/16']);
    expect(sink.ipsets.get('6|mgy6-masq-pools')?.members).toEqual([]);
    expect(sink.endpoints.get('k8s/c1')).toMatchObject({
      labels: { app: 'web' },
      namespaceLabels: { team: 'x' },
      mtu: 1500,
    });
    // Every chain jumped to is emitted before the chain jumping to it.
    const order = sink.calls
      .filter((c) => c[0] === 'chainUpdated')
      .map((c) => `${(c[1] as DesiredChain).family}|${(c[1] as DesiredChain).name}`);
    for (const c of sink.calls.filter((x) => x[0] === 'chainUpdated').map((x) => x[1] as DesiredChain)) {
      for (const r of c.rules) {
        const t = r[r.indexOf('-j') + 1] ?? r[r.indexOf('-g') + 1];
        if (t?.startsWith('mgy-') && order.includes(`${c.family}|${t}`)) {
          expect(order.indexOf(`${c.family}|${t}`)).toBeLessThan(order.indexOf(`${c.family}|${c.name}`));
        }
      }
    }
  });

  it('follows changes after in-sync with minimal output: a block moving, a node readdressed, a pod going', () => {
    const { sink, g } = graph();
    for (const [k, o] of CLUSTER) g.upserted(k, o);
    g.registerEndpoint(REG);
    g.inSync();
    sink.clear();
    g.upserted('IPAMBlock', block('10.1.0.64/26', 'node-a'));
    expect(sink.calls).toEqual([['routeUpdated', { dst: '10.1.0.64/26', kind: 'blackhole' }]]);
    sink.clear();
    g.upserted('Node', node('node-b', '10.0.0.22', 'fd00::2'));
    expect(sink.calls.map((c) => c[1])).toEqual(
      expect.arrayContaining([
        { dst: '10.1.0.128/26', kind: 'remote', nextHops: ['10.0.0.22'] },
        { dst: '10.1.0.9/32', kind: 'remote', nextHops: ['10.0.0.22'] },
      ]),
    );
    expect(sink.calls.length).toBe(2);
    sink.clear();
    g.unregisterEndpoint('k8s/c1');
    g.removed('Pod', 'default/web', pod('default', 'web', 'node-a'));
    expect(sink.routes.has('10.1.0.5/32')).toBe(false);
    expect(sink.endpoints.size).toBe(0);
    expect(sink.chains.has('4|filter|mgy-fw-mgy0000000000a')).toBe(false);
    expect(sink.names.indexOf('routeRemoved')).toBeLessThan(sink.names.indexOf('endpointRemoved'));
    expect(sink.names.indexOf('endpointRemoved')).toBeLessThan(sink.names.indexOf('chainRemoved'));
  });

  it('bgp mode: learned routes are programmed, and learnedRoutesInSync is passed on when BGP says so', () => {
    const { sink, g } = graph({ ...CONFIG, routingMode: 'bgp' });
    for (const [k, o] of CLUSTER) g.upserted(k, o);
    g.learnedRoutesChanged([
      { prefix: '10.1.0.64/26', nextHops: ['10.0.0.2'] },
      { prefix: '0.0.0.0/0', nextHops: ['10.0.0.254'] },
    ]);
    g.inSync();
    expect(sink.names).not.toContain('learnedRoutesInSync');
    expect(sink.routes.get('10.1.0.128/26')).toBeUndefined(); // no host-gw routes in bgp mode
    expect(sink.routes.get('0.0.0.0/0')).toEqual({ dst: '0.0.0.0/0', kind: 'remote', nextHops: ['10.0.0.254'] });
    g.learnedRoutesInSync();
    expect(sink.names.at(-1)).toBe('learnedRoutesInSync');
  });

  it('a policy match (the seam) rewrites only the endpoint chain', () => {
    const { sink, g } = graph();
    g.registerEndpoint(REG);
    g.inSync();
    sink.clear();
    g.policiesMatched('k8s/c1', { ingress: ['mgy-pi-deny'], egress: [] });
    expect(sink.calls.map((c) => `${(c[1] as DesiredChain).family} ${(c[1] as DesiredChain).name}`)).toEqual([
      '4 mgy-tw-mgy0000000000a',
      '6 mgy-tw-mgy0000000000a',
    ]);
  });

  it('any order of the same final state gives the same output (fast-check)', () => {
    const events: [KindId, Resource][] = [...CLUSTER, ['Pod', pod('default', 'other', 'node-b', ['10.1.0.77'])]];
    const reference = (() => {
      const { sink, g } = graph();
      for (const [k, o] of events) g.upserted(k, o);
      g.registerEndpoint(REG);
      g.inSync();
      return sink.snapshot();
    })();
    fc.assert(
      fc.property(
        fc.shuffledSubarray([...events.keys(), -1], { minLength: events.length + 1, maxLength: events.length + 1 }),
        fc.integer({ min: 0, max: events.length + 1 }),
        fc.boolean(),
        (order, syncAt, detour) => {
          const { sink, g } = graph();
          order.forEach((i, n) => {
            if (n === syncAt) g.inSync();
            if (i === -1) g.registerEndpoint(REG);
            else {
              const [k, o] = events[i]!;
              // A detour through a different state must not leave traces.
              if (detour && k === 'IPAMBlock') g.upserted(k, block((o['spec'] as { cidr: string }).cidr, 'node-z'));
              g.upserted(k, o);
            }
          });
          g.inSync();
          expect(sink.snapshot()).toEqual(reference);
        },
      ),
      { numRuns: 60 },
    );
  });
});
