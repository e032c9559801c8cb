import { describe, expect, it } from 'vitest';
import { RemoteAddressIndex, type RemoteAddressListener } from './remote-address-index.js';
import { block, pod } from './testing/fixtures.js';
import { recorder } from './testing/recorder.js';

describe('RemoteAddressIndex', () => {
  it('finds addresses allocated to another node than the block owner, from IPAM attributes', () => {
    const out = recorder<RemoteAddressListener>();
    const idx = new RemoteAddressIndex(out);
    idx.blockOwnerChanged('10.0.1.0/26', 'node-b');
    idx.onBlock(
      'b',
      block('10.0.1.0/26', 'node-b', [
        { ordinal: 1, node: 'node-b' },
        { ordinal: 5, node: 'node-c' },
      ]),
    );
    idx.flush();
    expect(out.calls).toEqual([['addressNodeChanged', '10.0.1.5/32', 'node-c']]);
    // The block moves to node-c: the address is no longer borrowed.
    idx.blockOwnerChanged('10.0.1.0/26', 'node-c');
    idx.flush();
    expect(out.calls.at(-1)).toEqual(['addressNodeChanged', '10.0.1.5/32', undefined]);
  });

  it('takes a Pod over IPAM, ignores host-network pods, handles IPv6 ordinals, and forgets removed sources', () => {
    const out = recorder<RemoteAddressListener>();
    const idx = new RemoteAddressIndex(out);
    idx.blockOwnerChanged('fd00::/122', 'node-a');
    idx.onBlock('b6', block('fd00::/122', 'node-a', [{ ordinal: 17, node: 'node-b' }]));
    idx.onPod('ns/p', pod('ns', 'p', 'node-d', ['fd00::11']));
    idx.onPod('ns/h', { ...pod('ns', 'h', 'node-e', ['10.9.9.9']), spec: { nodeName: 'node-e', hostNetwork: true } });
    idx.flush();
    expect(out.calls).toEqual([['addressNodeChanged', 'fd00::11/128', 'node-d']]);
    idx.onPod('ns/p', undefined);
    idx.flush();
    expect(out.calls.at(-1)).toEqual(['addressNodeChanged', 'fd00::11/128', 'node-b']);
    idx.onBlock('b6', undefined);
    idx.flush();
    expect(out.calls.at(-1)).toEqual(['addressNodeChanged', 'fd00::11/128', undefined]);
  });

  it('treats an address in no owned block as remote to its node', () => {
    const out = recorder<RemoteAddressListener>();
    const idx = new RemoteAddressIndex(out);
    idx.onPod('ns/p', pod('ns', 'p', 'node-b', ['10.5.0.7']));
    idx.flush();
    expect(out.calls).toEqual([['addressNodeChanged', '10.5.0.7/32', 'node-b']]);
  });
});
