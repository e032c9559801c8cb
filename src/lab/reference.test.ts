import { describe, expect, it } from 'vitest';
import { lookup, parseProcRoutes } from './kernel-routes.js';
import { planLab } from './lab-plan.js';
import { calicoBirdConfig, CALICO_TIMERS } from './reference.js';

describe('calicoBirdConfig (confd templates in BIRD 2 syntax)', () => {
  const plan = planLab(
    { name: 'ref', nodes: 3, podsPerNode: 0, tor: 'bird', mode: 'mesh', dualStack: false },
    'mtref1',
  );
  const cfg = calicoBirdConfig(plan.nodes[1]!, plan, ['10.244.2.0/26']);

  it('has the block blackhole, the aggregation filter and Calico’s timers', () => {
    expect(cfg).toContain('route 10.244.2.0/26 blackhole;');
    expect(cfg).toContain('if ( net = 10.244.2.0/26 ) then { accept; }');
    expect(cfg).toContain('if ( net ~ 10.244.2.0/26 ) then { reject; }');
    expect(cfg).toContain(`connect delay time ${CALICO_TIMERS.connectDelay};`);
    expect(cfg).toContain(`connect retry time ${CALICO_TIMERS.connectRetry};`);
    expect(cfg).toMatch(/protocol kernel \{\n {2}learn;\n {2}persist;\n {2}scan time 2;/);
  });

  it('meshes with every other node (passive toward higher addresses) and peers with the ToR', () => {
    expect(cfg).toMatch(
      /protocol bgp Mesh_10_99_0_11 from bgp_template \{\n {2}neighbor 10\.99\.0\.11 as 64512;\n {2}source address 10\.99\.0\.12;\n\}/,
    );
    expect(cfg).toMatch(/protocol bgp Mesh_10_99_0_13 from bgp_template \{[^}]*passive on;/);
    expect(cfg).not.toContain('Mesh_10_99_0_12');
    expect(cfg).toContain('protocol bgp Global_10_99_0_1 from bgp_template {\n  neighbor 10.99.0.1 as 65000;');
  });
});

describe('parseProcRoutes', () => {
  it('reads destinations, masks and gateways from /proc/net/route', () => {
    const text = [
      'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
      'eth0\t00000000\t0100630A\t0003\t0\t0\t0\t00000000\t0\t0\t0',
      'eth0\t0001F40A\t0B00630A\t0003\t0\t0\t0\tC0FFFFFF\t0\t0\t0',
      'cali1\t0501F40A\t00000000\t0005\t0\t0\t0\tFFFFFFFF\t0\t0\t0',
      'garbage',
    ].join('\n');
    expect(parseProcRoutes(text)).toEqual([
      { dst: '0.0.0.0/0', gateway: '10.99.0.1', dev: 'eth0' },
      { dst: '10.244.1.0/26', gateway: '10.99.0.11', dev: 'eth0' },
      { dst: '10.244.1.5/32', gateway: undefined, dev: 'cali1' },
    ]);
  });
});

describe('lookup', () => {
  it('picks the longest prefix that holds the address', () => {
    const routes = parseProcRoutes(
      [
        'Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT',
        'eth0\t00000000\t0100630A\t0003\t0\t0\t0\t00000000\t0\t0\t0',
        'eth0\t0001F40A\t0B00630A\t0003\t0\t0\t0\tC0FFFFFF\t0\t0\t0',
        'cali1\t0501F40A\t00000000\t0005\t0\t0\t0\tFFFFFFFF\t0\t0\t0',
      ].join('\n'),
    );
    expect(lookup(routes, '10.244.1.5')?.dev).toBe('cali1');
    expect(lookup(routes, '10.244.1.6')?.gateway).toBe('10.99.0.11');
    expect(lookup(routes, '10.244.1.64')?.gateway).toBe('10.99.0.1');
    expect(lookup([], '10.0.0.1')).toBeUndefined();
  });
});
