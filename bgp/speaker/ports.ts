/**
 * What the speaker needs from the session layer (bgp/session, B2) and the RIB (bgp/rib, B3), as
 * narrow ports. The real adapters are in adapters.ts; unit tests plug in fakes. Keeping the speaker
 * behind these ports means it is tested without sockets and adapts to the modules in one place.
 */
import type { Logger } from '../../src/log.js';
import type { OutNotification } from '../fsm/index.js';
import type { RibApi, RibSlicedRemoval } from '../rib/index.js';
import type { PeerStatus, SessionConfigInput, SessionEvents } from '../session/index.js';

export interface SessionPort {
  on<E extends keyof SessionEvents>(event: E, fn: (...args: SessionEvents[E]) => void): unknown;
  start(): void;
  /** Sends the NOTIFICATION (if connected), closes, and stays Idle until start(). */
  stop(notification?: OutNotification): void;
  /** Queue encoded messages; false = the socket buffer is full, wait for 'drain'. */
  send(messages: Buffer[]): boolean;
  /** False when the session is not up or the peer did not negotiate route refresh. */
  sendRouteRefresh(afi: number, safi: number, subtype?: number): boolean;
  status(): PeerStatus;
  /** Our address on the current connection (for next-hop-self), when connected. */
  localAddress(): string | undefined;
  /** Releases timers and sockets for good. */
  destroy(): void;
}

export interface SessionFactory {
  create(input: SessionConfigInput, log: Logger): SessionPort;
}

/** Incoming connections: the listener hands accepted sockets of configured peers to their sessions. */
export interface ListenerPort {
  /** Register a session for incoming connections from its peer address (installs its MD5 key, GTSM). */
  register(session: SessionPort): void;
  unregister(session: SessionPort): void;
  /**
   * Dynamic neighbours: connections from `prefix` with no registered session are offered to `accept`,
   * which returns a (started) session or undefined to refuse (the listener sends Cease 5 and closes).
   */
  addRange(
    range: {
      readonly prefix: string;
      readonly md5Password?: string | undefined;
      readonly ttlSecurityHops?: number | undefined;
    },
    accept: (address: string) => SessionPort | undefined,
  ): void;
  close(): Promise<void>;
}

export interface ListenerFactory {
  listen(opts: { readonly addresses: readonly string[]; readonly port: number }, log: Logger): Promise<ListenerPort>;
}

/** The RIB with sliced peer removal: losing a session with 1M paths never blocks the event loop. */
export type RibPort = RibApi & RibSlicedRemoval;
export type RibFactory = (options: import('../rib/types.js').RibOptions) => RibPort;
