import { describe, expect, it } from 'vitest';
import { IpPoolIndex, type EncapListener, type IpsetSink } from './pool-index.js';
import { pool } from './testing/fixtures.js';
import { recorder } from './testing/recorder.js';

describe('IpPoolIndex', () => {
  it('keeps both NAT sets per family, masquerading only natOutgoing pools, and reports encap overhead', () => {
    const sets = recorder<IpsetSink>();
    const encap = recorder<EncapListener>();
    const idx = new IpPoolIndex([4, 6], sets, encap);
    idx.flush();
    expect(sets.calls.map((c) => [(c[1] as { name: string }).name, (c[1] as { members: string[] }).members])).toEqual([
      ['mgy4-all-pools', []],
      ['mgy4-masq-pools', []],
      ['mgy6-all-pools', []],
      ['mgy6-masq-pools', []],
    ]);
    sets.calls.length = 0;
    idx.onPool('a', pool('a', '10.1.0.0/16', true));
    idx.onPool('b', pool('b', '10.2.0.0/16', false, { ipipMode: 'Always' }));
    idx.flush();
    expect(sets.calls).toEqual([
      [
        'ipsetUpdated',
        { family: 4, name: 'mgy4-all-pools', type: 'hash:net', members: ['10.1.0.0/16', '10.2.0.0/16'] },
      ],
      ['ipsetUpdated', { family: 4, name: 'mgy4-masq-pools', type: 'hash:net', members: ['10.1.0.0/16'] }],
    ]);
    expect(encap.calls).toEqual([['encapOverheadChanged', 20]]);
    idx.onPool('b', undefined);
    idx.flush();
    expect(encap.calls.at(-1)).toEqual(['encapOverheadChanged', 0]);
  });

  it('ignores pools of a disabled family', () => {
    const sets = recorder<IpsetSink>();
    const idx = new IpPoolIndex([4], sets, recorder<EncapListener>());
    idx.onPool('v6', pool('v6', 'fd00::/48', true, { vxlanMode: 'Always' }));
    idx.flush();
    expect(sets.calls.every((c) => (c[1] as { family: number }).family === 4)).toBe(true);
  });
});
