/**
 * Adj-RIB-Out advertised-set ids (peer.ts setAdv/advOf): 16-bit while the ids fit, widened to 32-bit
 * in place, keeping every recorded id, once one does not.
 */
import { describe, expect, it } from 'vitest';
import { DirtySet } from './dirty-set.js';
import { advOf, setAdv, type OutState } from './peer.js';
import { RESERVE } from './prefix-table.js';

function out(): OutState {
  return {
    adv: new Uint16Array(0),
    dirty: new DirtySet(),
    eorPending: false,
    force: false,
    refreshMarked: false,
    advertised: 0,
  };
}

describe('Adj-RIB-Out advertised ids', () => {
  it('stays 16-bit while ids fit, and withdrawing past the end allocates nothing', () => {
    const o = out();
    setAdv(o, 5, -1, 1024, 10);
    expect(o.adv.length).toBe(0);
    setAdv(o, 5, 0, 1024, 10);
    setAdv(o, 7, 65534, 1024, 10); // stored as 65535: the largest that fits
    expect(o.adv).toBeInstanceOf(Uint16Array);
    expect([advOf(o, 5), advOf(o, 6), advOf(o, 7), advOf(o, 5000)]).toEqual([0, -1, 65534, -1]);
    setAdv(o, 7, -1, 1024, 10);
    expect(advOf(o, 7)).toBe(-1);
  });

  it('widens to 32-bit at the first id past 65534, keeping the ids already recorded', () => {
    const o = out();
    for (let p = 0; p < 3000; p++) setAdv(o, p, p * 7, 4096, p + 1);
    expect(o.adv).toBeInstanceOf(Uint16Array);
    const capacity = o.adv.length;
    setAdv(o, 3000, 65535, 4096, 3001);
    expect(o.adv).toBeInstanceOf(Int32Array);
    expect(o.adv.length).toBe(capacity); // same capacity
    for (let p = 0; p < 3000; p++) expect(advOf(o, p)).toBe(p * 7);
    expect(advOf(o, 3000)).toBe(65535);
    setAdv(o, 3001, 2_000_000, 4096, 3002);
    expect(advOf(o, 3001)).toBe(2_000_000);
  });

  it('a reserved array widens to the same reserve', () => {
    const o = out();
    setAdv(o, 10_000, 1, RESERVE, 10_001);
    expect(o.adv.length).toBe(RESERVE);
    setAdv(o, 10_001, 70_000, RESERVE, 10_002);
    expect(o.adv).toBeInstanceOf(Int32Array);
    expect(o.adv.length).toBe(RESERVE);
    expect([advOf(o, 10_000), advOf(o, 10_001), advOf(o, 9_999)]).toEqual([1, 70_000, -1]);
  });
});
