import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { SLICE_MS, scheduleSliced, slicedPending, type SlicedTask } from './receive-budget.js';

const busy = (ms: number): void => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};
const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('sliced work scheduler', () => {
  it('bounds a turn by the budget, not by the number of busy tasks, and serves them round-robin', async () => {
    const UNIT_MS = 2;
    const UNITS = 6; // more than one slice's worth (a slice is ≤ 3 units: 2 ms each, 5 ms budget)
    const done: number[] = [];
    const log: number[][] = [];
    let turn: number[] = [];
    const tasks: SlicedTask[] = Array.from({ length: 20 }, (_, i) => {
      let left = UNITS;
      return (deadline) => {
        do {
          busy(UNIT_MS);
          turn.push(i);
          left--;
        } while (left > 0 && performance.now() < deadline);
        if (left === 0) done.push(i);
        return left > 0;
      };
    });
    for (const t of tasks) scheduleSliced(t);
    scheduleSliced(tasks[0]!); // already queued: no second entry
    expect(slicedPending()).toBe(20);
    while (done.length < tasks.length) {
      await nextTurn();
      if (turn.length > 0) log.push(turn);
      turn = [];
    }
    // Every turn did at most the budget plus one unit (the old per-task budget: ≥ 20 units a turn).
    for (const units of log) expect(units.length).toBeLessThanOrEqual(Math.ceil(SLICE_MS / UNIT_MS) + 1);
    // Round-robin: every task had its first slice before any task got a second one (its 4th unit).
    const order = log.flat();
    const firstFourth = order.findIndex((i, k) => order.slice(0, k).filter((j) => j === i).length === 3);
    expect(firstFourth).toBeGreaterThan(0);
    expect(new Set(order.slice(0, firstFourth)).size).toBe(20);
    expect(done.sort((a, b) => a - b)).toEqual([...Array(20).keys()]);
    expect(slicedPending()).toBe(0);
  });

  it('always makes progress: a task alone gets at least one unit per turn however long it takes', async () => {
    let units = 0;
    scheduleSliced(function slow(): boolean {
      busy(SLICE_MS * 2);
      units++;
      if (units < 3) scheduleSliced(slow);
      return false;
    });
    for (let i = 0; i < 10 && units < 3; i++) await nextTurn();
    expect(units).toBe(3);
  });

  it('runs a task first queued during a turn in that turn (a flush after a receive), a re-queued one in the next', async () => {
    const events: string[] = [];
    const flush: SlicedTask = () => {
      events.push('flush');
      return false;
    };
    let receives = 0;
    const receive: SlicedTask = () => {
      events.push(`receive ${++receives}`);
      scheduleSliced(flush); // the UPDATE it ingested is to be sent on
      return receives < 2; // more to read: its next slice is the next turn's
    };
    scheduleSliced(receive);
    await nextTurn();
    expect(events).toEqual(['receive 1', 'flush']);
    await nextTurn();
    expect(events).toEqual(['receive 1', 'flush', 'receive 2', 'flush']);
    await nextTurn();
    expect(slicedPending()).toBe(0);
  });
});
