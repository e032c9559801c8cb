/**
 * The process's read-ahead budget (read-ahead.ts): every reading connection pauses once the bytes held
 * by all pass the limit; paused ones resume in the order they were paused, as many as one read each
 * fits in the room left; a connection with nothing to read never keeps the others waiting.
 */
import { describe, expect, it } from 'vitest';
import { InvariantError } from '../../src/errors.js';
import { READ_CHUNK, ReadAheadBudget, type ReadAheadMember } from './read-ahead.js';

class FakeMember implements ReadAheadMember {
  paused = false;
  pauses = 0;
  constructor(readonly name: string) {}
  budgetPause(): void {
    this.paused = true;
    this.pauses++;
  }
  budgetResume(): void {
    this.paused = false;
  }
}

/** A budget whose deferred ticks run only when the test says so. */
function budget(limitBytes: number, resumeBytes: number) {
  const ticks: (() => void)[] = [];
  const b = new ReadAheadBudget({ limitBytes, resumeBytes }, (fn) => ticks.push(fn));
  const runTicks = () => {
    while (ticks.length > 0) ticks.shift()!();
  };
  return { b, ticks, runTicks };
}

function members(b: ReadAheadBudget, n: number): FakeMember[] {
  const ms = Array.from({ length: n }, (_, i) => new FakeMember(`m${i}`));
  for (const m of ms) b.join(m);
  return ms;
}

describe('ReadAheadBudget', () => {
  it('pauses every reading member once the bytes held by all pass the limit, not before', () => {
    const { b } = budget(4 * READ_CHUNK, READ_CHUNK);
    const ms = members(b, 5);
    for (const m of ms.slice(0, 4)) b.add(m, READ_CHUNK); // exactly at the limit: nobody paused
    expect(ms.some((m) => m.paused)).toBe(false);
    b.add(ms[0]!, 1);
    expect(ms.every((m) => m.paused)).toBe(true); // the idle m4 too: it must not read now either
    expect(b.waiting).toBe(5);
    expect(b.exhaustions).toBe(1);
    b.add(ms[1]!, 100); // already all paused: no second pause
    expect(ms.every((m) => m.pauses === 1)).toBe(true);
    expect(b.exhaustions).toBe(1);
  });

  it('resumes only at the low-water mark, the longest-paused first, as many as one read each fits', () => {
    const { b } = budget(4 * READ_CHUNK, READ_CHUNK);
    const ms = members(b, 6);
    b.add(ms[0]!, 4 * READ_CHUNK + 10); // paused in join order m0..m5
    b.release(2 * READ_CHUNK); // 2 chunks + 10 held: above the low-water mark
    expect(ms.every((m) => m.paused)).toBe(true);
    b.release(READ_CHUNK + 10); // one chunk held: room for 3 reads
    expect(ms.map((m) => m.paused)).toEqual([false, false, false, true, true, true]);
    expect(b.waiting).toBe(3);
  });

  it('takes turns: a resumed member that fills the budget again waits behind those still paused', () => {
    const { b } = budget(2 * READ_CHUNK, 0);
    const [a, c, d] = members(b, 3);
    b.add(a!, 2 * READ_CHUNK + 1); // all paused: a, c, d
    b.release(2 * READ_CHUNK + 1); // room for 2: a and c resume
    expect([a!.paused, c!.paused, d!.paused]).toEqual([false, false, true]);
    b.add(a!, 2 * READ_CHUNK + 1); // a's read takes it over: a and c pause again, behind d
    b.release(2 * READ_CHUNK + 1);
    expect([a!.paused, c!.paused, d!.paused]).toEqual([false, true, false]); // d first, then a
    b.add(d!, 2 * READ_CHUNK + 1);
    b.release(2 * READ_CHUNK + 1);
    expect([a!.paused, c!.paused, d!.paused]).toEqual([true, false, false]); // c, then d
  });

  it('while others wait, a resumed member reads one READ_CHUNK, then the next in line gets a turn', () => {
    const { b } = budget(2 * READ_CHUNK, 0);
    const ms = members(b, 4);
    const paused = () => ms.filter((m) => m.paused).map((m) => m.name);
    b.add(ms[0]!, 2 * READ_CHUNK + 1); // everyone waits: m0, m1, m2, m3
    b.release(2 * READ_CHUNK + 1); // room for two reads: m0 and m1 resume
    expect(paused()).toEqual(['m2', 'm3']);
    b.add(ms[0]!, READ_CHUNK / 2); // half a turn: m0 keeps reading
    expect(paused()).toEqual(['m2', 'm3']);
    b.add(ms[0]!, READ_CHUNK / 2); // its turn is used: m0 goes to the back (m2, m3, m0)
    expect(paused()).toEqual(['m0', 'm2', 'm3']);
    b.release(READ_CHUNK); // consumed: m2 and m3 get their turn before m0's next
    expect(paused()).toEqual(['m0']);
    b.add(ms[1]!, READ_CHUNK); // m1's turn is used too: the line is m0, m1
    expect(paused()).toEqual(['m0', 'm1']);
    b.release(READ_CHUNK);
    expect(paused()).toEqual([]);
  });

  it('one member alone reads as much as the limit allows (no turns without others waiting)', () => {
    const { b } = budget(4 * READ_CHUNK, READ_CHUNK);
    const [a] = members(b, 1);
    for (let i = 0; i < 4; i++) b.add(a!, READ_CHUNK);
    expect(a!.paused).toBe(false);
    b.add(a!, 1);
    expect(a!.paused).toBe(true);
    b.release(3 * READ_CHUNK + 1);
    expect(a!.paused).toBe(false);
    for (let i = 0; i < 3; i++) b.add(a!, READ_CHUNK); // alone again: no one-chunk turns
    expect(a!.paused).toBe(false);
  });

  it('keeps resuming, one turn at a time, while the resumed ones read nothing (no one left paused)', () => {
    const { b, ticks, runTicks } = budget(2 * READ_CHUNK, 0);
    const ms = members(b, 7);
    b.add(ms[0]!, 2 * READ_CHUNK + 1);
    b.release(2 * READ_CHUNK + 1); // 2 resume now, a look again is scheduled
    expect(ms.filter((m) => !m.paused)).toHaveLength(2);
    expect(ticks).toHaveLength(1);
    runTicks(); // nothing was read: the next ones resume, and so on until the line is empty
    expect(ms.every((m) => !m.paused)).toBe(true);
    expect(b.waiting).toBe(0);
  });

  it('a member that leaves is neither resumed nor counted as waiting', () => {
    const { b } = budget(READ_CHUNK, 0);
    const [a, c] = members(b, 2);
    b.add(a!, READ_CHUNK + 1);
    b.leave(a!);
    expect(b.waiting).toBe(1);
    a!.paused = true;
    b.release(READ_CHUNK + 1);
    expect(a!.paused).toBe(true); // not touched after leaving
    expect(c!.paused).toBe(false);
    b.add(c!, READ_CHUNK + 1);
    expect(a!.pauses).toBe(1); // not paused again either
  });

  it('never counts below zero and rejects nonsensical limits', () => {
    const { b } = budget(READ_CHUNK, 0);
    b.release(10);
    expect(b.heldBytes).toBe(0);
    expect(() => b.setLimits({ limitBytes: 100, resumeBytes: 0 })).toThrow(InvariantError);
    expect(() => b.setLimits({ limitBytes: 8192, resumeBytes: 8192 })).toThrow(InvariantError);
  });
});
