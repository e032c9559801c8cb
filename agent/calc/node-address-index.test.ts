import { describe, expect, it } from 'vitest';
import type { Resource } from '../../src/model/kinds.js';
import { NodeAddressIndex, nodeAddress, type NodeAddressListener } from './node-address-index.js';
import { node } from './testing/fixtures.js';
import { recorder } from './testing/recorder.js';

describe('NodeAddressIndex', () => {
  it('prefers spec.bgp, then annotations, then InternalIP, per family, dropping a prefix length', () => {
    const n: Resource = {
      ...node('n', '10.0.0.9', 'fd00::9'),
      metadata: { name: 'n', annotations: { 'projectcalico.org/IPv4Address': '10.0.0.8/24' } },
    };
    expect(nodeAddress(n, 4)).toBe('10.0.0.8');
    expect(nodeAddress({ ...n, spec: { bgp: { ipv4Address: '10.0.0.7/24' } } }, 4)).toBe('10.0.0.7');
    expect(nodeAddress(n, 6)).toBe('fd00::9');
    expect(nodeAddress(node('x'), 4)).toBeUndefined();
  });

  it('emits only real changes', () => {
    const out = recorder<NodeAddressListener>();
    const idx = new NodeAddressIndex(out);
    idx.onNode('b', node('b', '10.0.0.2'));
    idx.onNode('b', { ...node('b', '10.0.0.2'), metadata: { name: 'b', labels: { x: 'y' } } });
    idx.onNode('b', node('b', '10.0.0.3'));
    idx.onNode('b', undefined);
    idx.onNode('b', undefined);
    expect(out.calls).toEqual([
      ['nodeAddressChanged', 'b', { v4: '10.0.0.2' }],
      ['nodeAddressChanged', 'b', { v4: '10.0.0.3' }],
      ['nodeAddressChanged', 'b', undefined],
    ]);
  });
});
