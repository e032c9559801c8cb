import { describe, expect, it } from 'vitest';
import * as fc from 'fast-check';
import { DirtySet } from './dirty-set.js';

describe('DirtySet', () => {
  it('yields every marked index exactly once, across the queue and the overflow scan', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.nat(100_000), fc.constant(-1)), { maxLength: 3000 }),
        fc.nat(36_000),
        (ops, bulk) => {
          const d = new DirtySet(),
            model = new Set<number>();
          // A bulk mark beyond the queue bound forces overflow mode.
          for (let i = 0; i < bulk; i++) {
            d.mark(i * 2, 0);
            model.add(i * 2);
          }
          for (const op of ops) {
            if (op < 0) {
              const i = d.take();
              if (model.size === 0) expect(i).toBe(-1);
              else {
                if (!model.has(i)) expect.fail(`took ${i}, not dirty`);
                model.delete(i);
              }
            } else {
              d.mark(op, 0);
              model.add(op);
            }
            if (d.count !== model.size) expect.fail(`count ${d.count} != ${model.size}`);
          }
          const rest: number[] = [];
          for (let i = d.take(); i >= 0; i = d.take()) rest.push(i);
          expect(rest.sort((a, b) => a - b)).toEqual([...model].sort((a, b) => a - b)); // each once
          expect(d.take()).toBe(-1);
          expect(d.count).toBe(0);
          expect([...model].some((i) => d.has(i))).toBe(false);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('keeps arrival order while below the queue bound', () => {
    const d = new DirtySet();
    for (const i of [5, 1, 9, 1, 3]) d.mark(i, 16);
    expect([d.take(), d.take(), d.take(), d.take(), d.take()]).toEqual([5, 1, 9, 3, -1]);
  });
});
