import { describe, expect, it } from 'vitest';
import { DeltaTracker } from './delta-tracker.js';

describe('DeltaTracker', () => {
  it('yields only differences, and only for keys touched since they were applied', () => {
    const t = new DeltaTracker<number>((a, b) => a === b);
    t.replaceActual([
      ['a', 1],
      ['b', 2],
      ['x', 9],
    ]);
    t.setDesired('a', 1);
    t.setDesired('b', 3);
    t.setDesired('c', 4);
    expect([...t.pendingUpdates()]).toEqual([
      ['b', 3],
      ['c', 4],
    ]);
    expect([...t.pendingDeletions()]).toEqual([['x', 9]]);
    t.markApplied('b', 3);
    t.markApplied('c', 4);
    t.markDeleted('x');
    t.settle();
    expect(t.hasPending).toBe(false);
    t.deleteDesired('a');
    expect([...t.pendingDeletions()]).toEqual([['a', 1]]);
    expect(t.isPending('a')).toBe(true);
    t.clearDirty('a');
    expect(t.hasPending).toBe(false);
    t.replaceActual([['a', 1]]);
    expect(t.isPending('a')).toBe(true);
  });

  it('touch looks again at a difference that was set aside, without a re-read', () => {
    const t = new DeltaTracker<number>((a, b) => a === b);
    t.replaceActual([['stale', 1]]);
    expect([...t.pendingDeletions()].map(([k]) => k)).toEqual(['stale']);
    t.clearDirty('stale');
    expect(t.hasPending).toBe(false);
    t.touch('stale');
    t.touch('unknown');
    expect([...t.pendingDeletions()].map(([k]) => k)).toEqual(['stale']);
    expect(t.isPending('unknown')).toBe(false);
  });
});
