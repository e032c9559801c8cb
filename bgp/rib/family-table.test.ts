import { describe, expect, it } from 'vitest';
import { FamilyTable } from './family-table.js';

/** Index of prefix 10.0.0.k/32 (inserted when absent). */
function prefix(ft: FamilyTable, k: number): number {
  const p = ft.prefixes.intern1((10 << 24) | k, 32);
  ft.syncCapacity();
  return p;
}

describe('FamilyTable pre-policy attribute sets', () => {
  it('stores no pre-policy sets while every path was accepted unchanged', () => {
    const ft = new FamilyTable('ipv4');
    for (let k = 0; k < 3000; k++) ft.allocPath(prefix(ft, k), 1, 0, k, k);
    expect(ft.pathInAttr.length).toBe(0);
    expect(ft.inAttrOf(2999)).toBe(2999);
    expect(ft.bytes).toBeLessThan(3000 * (15 + 19) + ft.prefixes.bytes); // 15 bytes per path, not 19
  });

  it('keeps every earlier path’s pre-policy set once one differs (rejected, or changed by policy)', () => {
    const ft = new FamilyTable('ipv4');
    const a = ft.allocPath(prefix(ft, 1), 1, 0, 7, 7);
    const b = ft.allocPath(prefix(ft, 2), 1, 0, 8, -1); // rejected: pre-policy 8, post-policy none
    expect(ft.pathInAttr.length).toBeGreaterThan(0);
    expect([ft.inAttrOf(a), ft.pathAttr[a]]).toEqual([7, 7]);
    expect([ft.inAttrOf(b), ft.pathAttr[b]]).toEqual([8, -1]);
    for (let k = 3; k < 3000; k++) ft.allocPath(prefix(ft, k), 1, 0, k, k + 1); // grows past the reserve
    expect([ft.inAttrOf(ft.pathTop - 1), ft.pathAttr[ft.pathTop - 1]]).toEqual([2999, 3000]);
  });

  it('re-applied policy (setAttr) changes the post-policy set only', () => {
    const ft = new FamilyTable('ipv4');
    const a = ft.allocPath(prefix(ft, 1), 1, 0, 5, 5);
    ft.setAttr(a, 5); // unchanged: still nothing stored
    expect(ft.pathInAttr.length).toBe(0);
    ft.setAttr(a, 9);
    expect([ft.inAttrOf(a), ft.pathAttr[a]]).toEqual([5, 9]);
    ft.setAttrs(a, 6, 6); // a new UPDATE for the path
    expect([ft.inAttrOf(a), ft.pathAttr[a]]).toEqual([6, 6]);
  });
});
