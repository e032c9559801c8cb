/**
 * ConnectionTimers: the FSM timers of one Connection on an injectable Clock. ConnectRetry and
 * Keepalive are jittered (RFC 4271 §10). The hold timer, restarted by every KEEPALIVE and UPDATE,
 * moves a deadline instead of re-creating the timer: when the armed timer fires early, `rearmHold`
 * re-arms it for what is left (one timer per hold time, not one per message). Expiry decisions stay
 * with the Connection, which gets every firing through `fired`.
 */
import type { Clock, Timer } from '../../src/runtime/index.js';
import { jitter } from '../fsm/index.js';
import type { TimerName } from '../fsm/index.js';

export class ConnectionTimers {
  readonly #timers = new Map<TimerName, Timer>();
  #holdSeconds = 0;
  /** clock.now() at which the hold timer expires unless restarted again (see start). */
  #holdDeadline = 0;

  constructor(
    private readonly clock: Clock,
    private readonly random: () => number,
    private readonly fired: (t: TimerName, seconds: number) => void,
  ) {}

  has(t: TimerName): boolean {
    return this.#timers.has(t);
  }

  start(t: TimerName, seconds: number): void {
    if (t === 'hold' && this.#timers.has('hold') && seconds === this.#holdSeconds) {
      // Restarted by every KEEPALIVE and UPDATE: move the deadline only; the armed timer, when it
      // fires early, re-arms itself for what is left (one timer per hold time, not one per message).
      this.#holdDeadline = this.clock.now() + seconds * 1000;
      return;
    }
    if (t === 'hold') {
      this.#holdSeconds = seconds;
      this.#holdDeadline = this.clock.now() + seconds * 1000;
    }
    this.stop(t);
    // RFC 4271 §10: ConnectRetry and Keepalive are jittered (×0.75..1) so peers do not synchronise.
    const ms = (t === 'connectRetry' || t === 'keepalive' ? jitter(seconds, this.random()) : seconds) * 1000;
    const h = this.clock.setTimeout(() => {
      this.#timers.delete(t);
      this.fired(t, seconds);
    }, ms);
    this.#timers.set(t, h);
  }

  /** The hold timer fired before its deadline: re-arm it for what is left. False: it is really due. */
  rearmHold(seconds: number): boolean {
    if (this.#holdDeadline <= this.clock.now()) return false;
    const h = this.clock.setTimeout(() => {
      this.#timers.delete('hold');
      this.fired('hold', seconds);
    }, this.#holdDeadline - this.clock.now());
    this.#timers.set('hold', h);
    return true;
  }

  stop(t: TimerName): void {
    const h = this.#timers.get(t);
    h?.cancel();
    this.#timers.delete(t);
  }

  clear(): void {
    for (const h of this.#timers.values()) h.cancel();
    this.#timers.clear();
  }
}
