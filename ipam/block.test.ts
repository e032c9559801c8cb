import { describe, expect, it } from 'vitest';
import { formatAddr, toAddr, toRange } from './addr.js';
import {
  addressOf,
  allocateOrdinals,
  blockCidrAt,
  countBlock,
  newBlockSpec,
  ordinalOf,
  ordinalsOfHandle,
  releaseOrdinals,
  reservedOrdinals,
  usableOrdinals,
} from './block.js';

const attrs = (h: string) => ({ handleId: h, secondary: { node: 'n1' } });
const free = { reserved: new Set<number>(), nowMs: 1000, minReuseAgeMs: 500 };

describe('addresses', () => {
  it.each([
    ['10.0.0.1', '10.0.0.1'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['fd00::1', 'fd00::1'],
    ['FD00:0:0:0:0:0:0:1', 'fd00::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8::', '2001:db8::'],
    ['::', '::'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['1:0:3:4:5:6:7:8', '1:0:3:4:5:6:7:8'],
  ])('%s round-trips to %s (RFC 5952)', (text, canon) => {
    const a = toAddr(text)!;
    expect(formatAddr(a.family, a.value)).toBe(canon);
  });

  it('maps ordinals to addresses and back', () => {
    expect(addressOf('10.0.0.64/26', 5)).toBe('10.0.0.69');
    expect(addressOf('fd00::40/122', 63)).toBe('fd00::7f');
    expect(ordinalOf('10.0.0.64/26', toAddr('10.0.0.127')!.value)).toBe(63);
    expect(ordinalOf('10.0.0.64/26', toAddr('10.0.0.128')!.value)).toBeUndefined();
    expect(blockCidrAt(toRange('10.0.0.0/16')!, 26, 3n)).toBe('10.0.0.192/26');
    expect(blockCidrAt(toRange('fd00::/64')!, 122, 1n)).toBe('fd00::40/122');
  });
});

describe('block allocation', () => {
  it('allocates in unallocated order with sequence numbers, shares attributes per handle', () => {
    let s = newBlockSpec('10.0.0.0/29', 'n1', false, 't');
    s = allocateOrdinals(s, [0, 1], attrs('h1'));
    s = allocateOrdinals(s, [2], attrs('h2'));
    expect(s.allocations).toEqual([0, 0, 1, null, null, null, null, null]);
    expect(s.attributes.map((a) => a.handle_id)).toEqual(['h1', 'h2']);
    expect(s.sequenceNumberForAllocation).toEqual({ 0: 1, 1: 2, 2: 3 });
    expect(s.unallocated).toEqual([3, 4, 5, 6, 7]);
    expect(ordinalsOfHandle(s, 'h1')).toEqual([0, 1]);
    expect(() => allocateOrdinals(s, [2], attrs('h3'))).toThrow(/not free/);
  });

  it('refuses stale releases (sequence number) and releases of another handle', () => {
    let s = allocateOrdinals(newBlockSpec('10.0.0.0/29', 'n1', false, 't'), [0], attrs('h1'));
    const seq = s.sequenceNumberForAllocation!['0']!;
    s = releaseOrdinals(s, [{ ordinal: 0, handleId: 'h1' }], 1000, 500).spec;
    s = allocateOrdinals(s, [0], attrs('h2'));
    const stale = releaseOrdinals(s, [{ ordinal: 0, sequenceNumber: seq }], 2000, 500);
    expect(stale.released).toEqual([]);
    expect(stale.skipped[0]!.reason).toMatch(/re-allocated since/);
    expect(releaseOrdinals(s, [{ ordinal: 0, handleId: 'h1' }], 2000, 500).skipped[0]!.reason).toBe(
      'held by handle h2',
    );
    expect(releaseOrdinals(s, [{ ordinal: 3 }], 2000, 500).skipped[0]!.reason).toBe('not allocated');
  });

  it('keeps released addresses out of use for the minimum age, then at the back of the queue', () => {
    let s = allocateOrdinals(newBlockSpec('10.0.0.0/30', 'n1', false, 't'), [0, 1], attrs('h1'));
    s = releaseOrdinals(s, [{ ordinal: 0 }], 1000, 500).spec;
    expect(s.attributes).toEqual([{ handle_id: 'h1', secondary: { node: 'n1' } }]);
    expect(usableOrdinals(s, { ...free, nowMs: 1200 })).toEqual([2, 3]);
    expect(countBlock(s, { ...free, nowMs: 1200 })).toEqual({
      size: 4,
      allocated: 1,
      reserved: 0,
      cooling: 1,
      usable: 2,
    });
    expect(usableOrdinals(s, { ...free, nowMs: 1500 })).toEqual([2, 3, 0]);
    s = releaseOrdinals(s, [{ ordinal: 1 }], 5000, 500).spec;
    expect(s.releaseTimes).toEqual({ 1: 5000 }); // ordinal 0's old entry pruned
    expect(s.attributes).toEqual([]);
  });

  it('skips reserved ordinals', () => {
    const r = reservedOrdinals('10.0.0.0/29', [
      toRange('10.0.0.2/31')!,
      toRange('10.0.0.7/32')!,
      toRange('fd00::/64')!,
    ]);
    expect([...r].sort()).toEqual([2, 3, 7]);
    const s = newBlockSpec('10.0.0.0/29', 'n1', false, 't');
    expect(usableOrdinals(s, { ...free, reserved: r })).toEqual([0, 1, 4, 5, 6]);
  });
});
