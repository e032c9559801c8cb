/**
 * ReadGate: whether one connection's socket reads. Paused while the connection's own backlog is over
 * its high-water mark (until it falls to the low-water mark, connection.ts) or while the process's
 * read-ahead budget is used up (read-ahead.ts, which resumes connections in turn); reading otherwise.
 * The gate tells the budget how many bytes the connection holds, and counts pauses for PeerStatus.
 * A paused net.Socket still fills its stream buffer (64 KiB, Node's readable high-water mark) before
 * its handle stops reading: those bytes are not counted here (they reach us as 'data' on resume).
 */
import type { Socket } from 'node:net';
import { readAhead, type ReadAheadBudget, type ReadAheadMember } from './read-ahead.js';

export class ReadGate {
  #socket: Socket | undefined;
  #own = false;
  #byBudget = false;
  /** What pause()/resume() were last called for on the current socket. */
  #paused = false;
  /** Bytes counted in the budget for this connection. */
  #held = 0;
  readonly counts = { paused: 0, resumed: 0 };
  readonly #member: ReadAheadMember = {
    budgetPause: () => {
      this.#byBudget = true;
      this.#apply();
    },
    budgetResume: () => {
      this.#byBudget = false;
      this.#apply();
    },
  };

  constructor(private readonly budget: ReadAheadBudget = readAhead) {}

  /** A new socket: it reads, and the connection takes part in the budget. */
  attach(socket: Socket): void {
    this.detach();
    this.#socket = socket;
    this.budget.join(this.#member);
  }

  /** The socket is gone: out of the budget (what is still queued stays counted until `hold(0)`). */
  detach(): void {
    this.budget.leave(this.#member);
    this.#socket = undefined;
    this.#byBudget = false;
    this.#paused = false;
  }

  /** Paused for the connection's own backlog. */
  get ownPaused(): boolean {
    return this.#own;
  }
  setOwnPaused(v: boolean): void {
    if (this.#own === v) return;
    this.#own = v;
    this.#apply();
  }

  /** Paused by the budget: the peer's bytes wait in the kernel by our choice. */
  get pausedByBudget(): boolean {
    return this.#byBudget;
  }

  /** The socket is paused now (for either reason). */
  get pausedNow(): boolean {
    return this.#paused;
  }

  /** The connection's queue holds `bytes` now (read, not yet consumed): the budget is told the change. */
  hold(bytes: number): void {
    const d = bytes - this.#held;
    if (d === 0) return;
    this.#held = bytes;
    if (d > 0) this.budget.add(this.#member, d);
    else this.budget.release(-d);
  }

  #apply(): void {
    const want = this.#own || this.#byBudget;
    const s = this.#socket;
    if (want === this.#paused || s === undefined) return;
    this.#paused = want;
    if (want) {
      this.counts.paused++;
      s.pause();
    } else {
      this.counts.resumed++;
      s.resume();
    }
  }
}
