/**
 * RFC 4271 §6.3: a NEXT_HOP equal to the receiver's own address is semantically incorrect; the route is
 * ignored (the RIB does that, next-hop-check.ts) and the error SHOULD be logged. This watches the UPDATEs
 * of one Established connection for our address on that connection (classic NEXT_HOP and the MP_REACH
 * next hop, global or link-local part) and says when to log: the first one at once, then at most one
 * line per OWN_NEXT_HOP_LOG_MS carrying how many UPDATEs it stands for — a peer sending a whole table
 * this way must not flood the log. Pure apart from the clock value it is given.
 */
import { parseAddress } from '../codec/index.js';
import type { UpdateMessage } from '../codec/index.js';
import type { Logger } from 'pino';

export const OWN_NEXT_HOP_LOG_MS = 60_000;

function addressBytes(text: string): Buffer | undefined {
  return parseAddress(text.startsWith('::ffff:') && text.includes('.') ? text.slice(7) : text);
}

export class OwnNextHopWatch {
  readonly address: string | undefined;
  readonly #v4: string | undefined;
  readonly #bytes: Buffer | undefined;
  #count = 0;
  #lastLog = -Infinity;

  /** `localAddress`: our address on the connection (socket.localAddress); undefined disables the watch. */
  constructor(localAddress: string | undefined) {
    const b = localAddress === undefined ? undefined : addressBytes(localAddress);
    this.#bytes = b;
    this.address = b === undefined ? undefined : localAddress!.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
    this.#v4 = b?.length === 4 ? this.address : undefined;
  }

  /** Counts `msg` when it carries our address as next hop; true when a log line is due now. */
  check(msg: UpdateMessage, nowMs: number): boolean {
    const b = this.#bytes;
    if (b === undefined) return false;
    const a = msg.attributes;
    let own = this.#v4 !== undefined && a.nextHop === this.#v4 && msg.nlri.count > 0;
    const mp = a.mpReach;
    if (!own && mp !== undefined && mp.nlri.count > 0) {
      const nh = mp.nextHop;
      own =
        nh.length === b.length
          ? nh.equals(b)
          : nh.length === 32 && b.length === 16 && (nh.subarray(0, 16).equals(b) || nh.subarray(16).equals(b));
    }
    if (!own) return false;
    this.#count++;
    if (nowMs - this.#lastLog < OWN_NEXT_HOP_LOG_MS) return false;
    this.#lastLog = nowMs;
    return true;
  }

  /** UPDATEs counted since the last log line (reset). */
  takeCount(): number {
    const n = this.#count;
    this.#count = 0;
    return n;
  }
}

/** RFC 4271 §6.3: a NEXT_HOP that is our own address SHOULD be logged (the RIB ignores the route). */
export function logOwnNextHop(log: Logger, w: OwnNextHopWatch): void {
  log.warn(
    { nextHop: w.address, updates: w.takeCount(), perMinutes: OWN_NEXT_HOP_LOG_MS / 60_000 },
    'UPDATE with our own address as NEXT_HOP: routes ignored (RFC 4271 §6.3)',
  );
}
