import { describe, expect, it } from 'vitest';
import { BlockOwnerIndex, type BlockOwnerListener } from './block-owner-index.js';
import { affinity, block } from './testing/fixtures.js';
import { recorder } from './testing/recorder.js';

describe('BlockOwnerIndex', () => {
  it('takes the owner from the block, falls back to a confirmed affinity, and forgets deleted blocks', () => {
    const out = recorder<BlockOwnerListener>();
    const idx = new BlockOwnerIndex(out);
    idx.onAffinity('a1', affinity('node-b', '10.0.1.0/26'));
    idx.onAffinity('a2', affinity('node-c', '10.0.2.0/26', 'pending'));
    idx.onBlock('b1', block('10.0.1.0/26', 'node-a'));
    idx.onBlock('b1', {
      ...block('10.0.1.0/26', 'node-a'),
      spec: { cidr: '10.0.1.0/26', affinity: 'host:node-a', deleted: true },
    });
    idx.onBlock('b1', undefined);
    expect(out.calls).toEqual([
      ['blockOwnerChanged', '10.0.1.0/26', 'node-b'],
      ['blockOwnerChanged', '10.0.1.0/26', 'node-a'],
      ['blockOwnerChanged', '10.0.1.0/26', undefined],
      ['blockOwnerChanged', '10.0.1.0/26', 'node-b'],
    ]);
    expect(idx.ownerOf('10.0.2.0/26')).toBeUndefined();
  });

  it('moves a block when its cidr changes under the same key, and ignores invalid cidrs', () => {
    const out = recorder<BlockOwnerListener>();
    const idx = new BlockOwnerIndex(out);
    idx.onBlock('b', block('fd00::/122', 'n1'));
    idx.onBlock('b', block('fd00::40/122', 'n1'));
    idx.onBlock('x', { ...block('10.0.0.0/26', 'n1'), spec: { cidr: 'bogus' } });
    expect(out.calls).toEqual([
      ['blockOwnerChanged', 'fd00::/122', 'n1'],
      ['blockOwnerChanged', 'fd00::/122', undefined],
      ['blockOwnerChanged', 'fd00::40/122', 'n1'],
    ]);
  });
});
