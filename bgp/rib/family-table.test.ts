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

describe('FamilyTable path lists (successor stored + 1)', () => {
  const list = (ft: FamilyTable, p: number): number[] => {
    const out: number[] = [];
    for (let q = ft.head[p]!; q >= 0; q = ft.nextOf(q)) out.push(q);
    return out;
  };

  it('writes nothing for the one path of a prefix', () => {
    const ft = new FamilyTable('ipv4');
    for (let k = 0; k < 100; k++) ft.allocPath(prefix(ft, k), 1, 0, 1, 1);
    expect(ft.pathNext1.subarray(0, 100).every((v) => v === 0)).toBe(true);
    expect(list(ft, 5)).toEqual([5]);
  });

  it('keeps the best path first, unlinks, and reuses freed slots', () => {
    const ft = new FamilyTable('ipv4');
    const p = prefix(ft, 1);
    const a = ft.allocPath(p, 1, 0, 1, 1);
    ft.setBest(p, a);
    const b = ft.allocPath(p, 2, 0, 1, 1);
    const c = ft.allocPath(p, 3, 0, 1, 1);
    expect(list(ft, p)).toEqual([a, c, b]); // new paths go right after the best
    ft.setBest(p, b);
    expect(list(ft, p)[0]).toBe(b);
    ft.freePath(c);
    expect(list(ft, p).sort()).toEqual([a, b].sort());
    const q = prefix(ft, 2);
    const d = ft.allocPath(q, 4, 0, 1, 1); // reuses c's slot, whose old successor must not leak
    expect(d).toBe(c);
    expect(list(ft, q)).toEqual([d]);
    expect(ft.findPath(p, 3, 0)).toBe(-1);
    expect(ft.findPath(q, 4, 0)).toBe(d);
  });
});

describe('FamilyTable peer indices (8-bit until a peer index needs 16)', () => {
  it('widens in place at the first peer index ≥ 255, keeping every path’s peer and the free marks', () => {
    const ft = new FamilyTable('ipv4');
    const paths = Array.from({ length: 300 }, (_, k) => ft.allocPath(prefix(ft, k), k % 255, 0, 1, 1));
    expect(ft.pathPeer).toBeInstanceOf(Uint8Array);
    ft.freePath(paths[7]!); // its peer slot now holds the free mark (0xff here)
    const wide = ft.allocPath(prefix(ft, 1000), 254 + 46, 0, 1, 1);
    expect(ft.pathPeer).toBeInstanceOf(Uint16Array);
    expect(wide).toBe(paths[7]); // the freed slot, reused
    for (let k = 0; k < 300; k++) if (k !== 7) expect(ft.findPath(prefix(ft, k), k % 255, 0)).toBe(paths[k]);
    expect(ft.findPath(prefix(ft, 1000), 300, 0)).toBe(wide);
    ft.freePath(paths[8]!);
    expect(ft.pathPeer[paths[8]!]).toBe(0xffff); // free marks are 16-bit now
    expect(ft.findPath(prefix(ft, 8), 255, 0)).toBe(-1);
  });
});
