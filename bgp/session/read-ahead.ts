/**
 * The process's read-ahead budget: bytes read from BGP sockets and not yet consumed (decoded into the
 * RIB), summed over every connection. Each connection also has its own high-water mark
 * (`maxBacklogBytes`), but 50 peers sending their tables at once each read up to that much: with 1 MiB
 * per session, tens of MB of socket data in user space (and in the malloc heap, which keeps its
 * high-water mark), where BIRD lets TCP push back. Here, once the bytes held by all connections pass
 * `limitBytes`, every connection still reading is paused (its peer's data stays in the kernel once
 * the socket's 64 KiB stream buffer is full, and TCP pushes back), and once they fall to `resumeBytes` the paused ones are resumed in the order they were
 * paused (first paused, first resumed), as many at once as one socket read each (READ_CHUNK) fits in
 * what is left of the budget. While others wait, a resumed one reads one READ_CHUNK and goes to the
 * back of the line (as does every reader when the budget runs out), so the sessions take turns a read
 * at a time, whatever their peers' speed. One session alone is paced by its own marks only (the
 * defaults are the same), as before the budget.
 *
 * A paused connection whose peer has nothing to send reads nothing when resumed: the budget keeps
 * resuming the next ones, one event-loop turn at a time, until the line is empty — no connection stays
 * paused while the budget has room. Module state on purpose, like the receive scheduler
 * (receive-budget.ts): the budget is the process's memory.
 */
import { assert } from '../../src/errors.js';

/** What the budget needs of a connection. */
export interface ReadAheadMember {
  /** Stop reading the socket (the budget is used up). */
  budgetPause(): void;
  /** Read again (unless the connection's own backlog still holds it paused). */
  budgetResume(): void;
}

/** Bytes one socket read can add (libuv/Node read into 64 KiB buffers). */
export const READ_CHUNK = 64 * 1024;

export interface ReadAheadLimits {
  /** Pause every reading connection once more than this many bytes are held in all. */
  readonly limitBytes: number;
  /** Resume paused connections once at most this many are held (< limitBytes). */
  readonly resumeBytes: number;
}

/**
 * Defaults: a single session's own limits (1 MiB / 256 KiB, session config) are the same, so one busy
 * peer is paced exactly as before; only many peers at once are held to the one budget.
 */
export const READ_AHEAD_DEFAULTS: ReadAheadLimits = { limitBytes: 1024 * 1024, resumeBytes: 256 * 1024 };

export class ReadAheadBudget {
  #limits: ReadAheadLimits;
  /** Bytes held (read, not consumed) by all members. */
  #held = 0;
  /** Members reading, in the order they (re)started reading: paused in that order when the budget runs out. */
  readonly #reading = new Set<ReadAheadMember>();
  /** Members paused by the budget, in the order they were paused (the order they resume in). */
  #waiting: ReadAheadMember[] = [];
  readonly #isWaiting = new Set<ReadAheadMember>();
  /** Bytes read by each member since it was resumed, counted while others wait (its turn is one READ_CHUNK). */
  readonly #turn = new Map<ReadAheadMember, number>();
  #tickScheduled = false;
  #pauses = 0;

  constructor(
    limits: ReadAheadLimits = READ_AHEAD_DEFAULTS,
    private readonly defer: (fn: () => void) => void = (fn) => setImmediate(fn),
  ) {
    this.#limits = checkLimits(limits);
  }

  get limits(): ReadAheadLimits {
    return this.#limits;
  }
  /** Change the limits (tests, embedders); takes effect at the next read or consumption. */
  setLimits(limits: ReadAheadLimits): void {
    this.#limits = checkLimits(limits);
    this.#maybeResume();
  }
  get heldBytes(): number {
    return this.#held;
  }
  /** Members paused by the budget right now. */
  get waiting(): number {
    return this.#waiting.length;
  }
  /** Times the budget ran out (every reading member paused). */
  get exhaustions(): number {
    return this.#pauses;
  }
  isPaused(m: ReadAheadMember): boolean {
    return this.#isWaiting.has(m);
  }

  join(m: ReadAheadMember): void {
    if (!this.#isWaiting.has(m)) this.#reading.add(m);
  }

  /** A member leaves (its socket is gone): no longer paused or resumed by the budget. */
  leave(m: ReadAheadMember): void {
    this.#reading.delete(m);
    this.#turn.delete(m);
    if (this.#isWaiting.delete(m)) this.#waiting = this.#waiting.filter((x) => x !== m);
  }

  /**
   * `m` read `bytes` more (queued for its consumer). Past the limit every reading member pauses; while
   * others wait, `m` pauses after its turn's READ_CHUNK and the next in line may resume.
   */
  add(m: ReadAheadMember, bytes: number): void {
    this.#held += bytes;
    if (this.#held > this.#limits.limitBytes) {
      if (this.#reading.size === 0) return;
      this.#pauses++;
      const reading = [...this.#reading];
      for (const r of reading) this.#pause(r);
      return;
    }
    if (this.#waiting.length === 0 || !this.#reading.has(m)) return;
    const read = (this.#turn.get(m) ?? 0) + bytes;
    if (read < READ_CHUNK) {
      this.#turn.set(m, read);
      return;
    }
    this.#pause(m);
    this.#maybeResume();
  }

  #pause(m: ReadAheadMember): void {
    this.#reading.delete(m);
    this.#turn.delete(m);
    this.#isWaiting.add(m);
    this.#waiting.push(m);
    m.budgetPause();
  }

  /** `bytes` held by some member were consumed (or dropped): resumes paused members when there is room. */
  release(bytes: number): void {
    this.#held -= bytes;
    if (this.#held < 0) this.#held = 0; // never below zero, whatever a caller miscounts
    this.#maybeResume();
  }

  /**
   * Resume the longest-paused members, as many as one read each fits in the room left; if the line is
   * not empty, look again next turn (the resumed may have had nothing to read).
   */
  #maybeResume(): void {
    if (this.#waiting.length === 0 || this.#held > this.#limits.resumeBytes) return;
    const room = this.#limits.limitBytes - this.#held;
    const n = Math.min(this.#waiting.length, Math.max(1, Math.floor(room / READ_CHUNK)));
    const resumed = this.#waiting.splice(0, n);
    for (const m of resumed) {
      this.#isWaiting.delete(m);
      this.#reading.add(m);
      m.budgetResume();
    }
    if (this.#waiting.length > 0 && !this.#tickScheduled) {
      this.#tickScheduled = true;
      this.defer(() => {
        this.#tickScheduled = false;
        this.#maybeResume();
      });
    }
  }
}

function checkLimits(l: ReadAheadLimits): ReadAheadLimits {
  assert(
    Number.isInteger(l.limitBytes) && l.limitBytes >= 4096,
    `read-ahead limitBytes must be an integer ≥ 4096, not ${l.limitBytes}`,
  );
  assert(
    Number.isInteger(l.resumeBytes) && l.resumeBytes >= 0 && l.resumeBytes < l.limitBytes,
    `read-ahead resumeBytes must be an integer in 0..limitBytes-1, not ${l.resumeBytes}`,
  );
  return { limitBytes: l.limitBytes, resumeBytes: l.resumeBytes };
}

/** The process's budget, shared by every Connection. */
export const readAhead = new ReadAheadBudget();
