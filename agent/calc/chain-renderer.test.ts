import { describe, expect, it } from 'vitest';
import { EndpointChainRenderer, renderEndpointRules, type ChainSink } from './chain-renderer.js';
import { NO_POLICIES } from './policy-resolver.js';
import { recorder } from './testing/recorder.js';
import type { DesiredChain, LocalEndpoint } from './types.js';

function ep(iface: string, v4 = true, v6 = false): LocalEndpoint {
  return {
    key: iface,
    iface,
    ipv4Nets: v4 ? ['10.0.0.1/32'] : [],
    ipv6Nets: v6 ? ['fd00::1/128'] : [],
    labels: {},
    namespaceLabels: {},
    mtu: 1500,
  };
}

describe('EndpointChainRenderer', () => {
  it('renders per-endpoint chains per family and dispatch chains ending in DROP', () => {
    const sink = recorder<ChainSink>();
    const r = new EndpointChainRenderer([4, 6], sink);
    r.endpointPoliciesChanged('b', ep('mgyb'), NO_POLICIES);
    r.endpointPoliciesChanged('a', ep('mgya', true, true), NO_POLICIES);
    r.flush();
    const chains = sink.calls.map((c) => c[1] as DesiredChain);
    expect(chains.map((c) => `${c.family} ${c.name}`)).toEqual([
      '4 mgy-fw-mgyb',
      '4 mgy-tw-mgyb',
      '4 mgy-fw-mgya',
      '4 mgy-tw-mgya',
      '6 mgy-fw-mgya',
      '6 mgy-tw-mgya',
      '4 mgy-from-wl-dispatch',
      '4 mgy-to-wl-dispatch',
      '6 mgy-from-wl-dispatch',
      '6 mgy-to-wl-dispatch',
    ]);
    expect(chains[6]!.rules).toEqual([
      ['-i', 'mgya', '-g', 'mgy-fw-mgya'],
      ['-i', 'mgyb', '-g', 'mgy-fw-mgyb'],
      ['-j', 'DROP'],
    ]);
    expect(chains[9]!.rules).toEqual([
      ['-o', 'mgya', '-g', 'mgy-tw-mgya'],
      ['-j', 'DROP'],
    ]);
  });

  it('removes chains of a removed endpoint and of a family it lost; dispatch is rebuilt once per flush', () => {
    const sink = recorder<ChainSink>();
    const r = new EndpointChainRenderer([4, 6], sink);
    r.endpointPoliciesChanged('a', ep('mgya', true, true), NO_POLICIES);
    r.flush();
    sink.calls.length = 0;
    r.endpointPoliciesChanged('a', ep('mgya', true, false), NO_POLICIES);
    r.endpointPoliciesChanged('a', undefined, NO_POLICIES);
    r.flush();
    expect(sink.calls.filter((c) => c[0] === 'chainRemoved')).toEqual([
      ['chainRemoved', 6, 'filter', 'mgy-fw-mgya'],
      ['chainRemoved', 6, 'filter', 'mgy-tw-mgya'],
      ['chainRemoved', 4, 'filter', 'mgy-fw-mgya'],
      ['chainRemoved', 4, 'filter', 'mgy-tw-mgya'],
    ]);
    const dispatch = sink.calls.filter(
      (c) => c[0] === 'chainUpdated' && (c[1] as DesiredChain).name.includes('dispatch'),
    );
    expect(dispatch.map((c) => (c[1] as DesiredChain).rules)).toEqual([
      [['-j', 'DROP']],
      [['-j', 'DROP']],
      [['-j', 'DROP']],
      [['-j', 'DROP']],
    ]);
  });

  it('with policies: jumps to each in order, returns on the accept mark, drops the rest (the seam)', () => {
    expect(renderEndpointRules(4, [])).toContainEqual(['-j', 'RETURN']);
    const rules = renderEndpointRules(4, ['mgy-pi-a', 'mgy-pi-b']);
    expect(rules.slice(2)).toEqual([
      ['-j', 'MARK', '--set-xmark', '0x0/0x10000'],
      ['-j', 'mgy-pi-a'],
      ['-m', 'mark', '--mark', '0x10000/0x10000', '-j', 'RETURN'],
      ['-j', 'mgy-pi-b'],
      ['-m', 'mark', '--mark', '0x10000/0x10000', '-j', 'RETURN'],
      ['-j', 'DROP'],
    ]);
    expect(renderEndpointRules(6, []).some((r) => r.includes('--icmpv6-type'))).toBe(true);
  });
});
