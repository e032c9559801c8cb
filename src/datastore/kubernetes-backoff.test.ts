import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Backoff } from './kubernetes-backoff.js';

describe('Backoff', () => {
  it('doubles from initialMs up to the cap without jitter, and reset starts over', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 });
    expect(Array.from({ length: 6 }, () => b.next())).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(b.attempt).toBe(6);
    b.reset();
    expect(b.next()).toBe(100);
  });

  it('jitter spreads each delay around its exponential value and never exceeds the cap', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 0.999999, noNaN: true }), { minLength: 1, maxLength: 20 }),
        (rs) => {
          let i = 0;
          const b = new Backoff({ initialMs: 100, maxMs: 5000, factor: 2, jitter: 0.5 }, () => rs[i++ % rs.length]!);
          for (let n = 0; n < rs.length; n++) {
            const base = Math.min(5000, 100 * 2 ** n);
            const d = b.next();
            expect(d).toBeGreaterThanOrEqual(Math.floor(base * 0.75));
            expect(d).toBeLessThanOrEqual(Math.min(5000, Math.ceil(base * 1.25)));
          }
        },
      ),
    );
  });
});
