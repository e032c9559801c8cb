/**
 * Public types of a BGP session (one configured or dynamic peer). See session.ts for the design.
 */
import type { Socket } from 'node:net';
import type { FamilyKey } from '../codec/index.js';
import type { Capability, NotificationMessage, RouteRefreshMessage, UpdateMessage } from '../codec/index.js';
import type { DownReason, FsmConfig, Negotiated, SessionState } from '../fsm/index.js';

export type { DownReason, Negotiated, SessionState, PeerAsSpec, GracefulRestartOffer } from '../fsm/index.js';

/** Exponential, capped, jittered back-off between connection attempts after errors. */
export interface BackoffConfig {
  /** First delay after an error. */
  readonly initialSeconds: number;
  /** Cap. */
  readonly maxSeconds: number;
  /** A session that stayed Established this long before failing starts again from `initialSeconds`. */
  readonly stableSeconds: number;
}

/** Full, validated session configuration. Build it with `makeSessionConfig` (fills the defaults). */
export interface SessionConfig extends FsmConfig {
  readonly peerAddress: string;
  /** 179 in production; tests use other ports. */
  readonly peerPort: number;
  /** Source address for outgoing connections (and the address to expect incoming ones on). */
  readonly localAddress?: string | undefined;
  /** Do not connect out: wait for the peer. */
  readonly passive: boolean;
  /** RFC 2385 TCP-MD5 key (1..80 bytes). */
  readonly md5Password?: string | undefined;
  /** RFC 5082 GTSM: the peer is at most this many hops away (we send TTL 255, accept TTL ≥ 256 - hops). */
  readonly ttlSecurityHops?: number | undefined;
  readonly backoff: BackoffConfig;
  /** Receive side: deliver UPDATEs for at most this many milliseconds, then yield to the event loop. */
  readonly sliceMs: number;
  /** High-water mark: stop reading the socket while more than this many received bytes wait for the consumer. */
  readonly maxBacklogBytes: number;
  /** Low-water mark: resume reading once at most this many wait (< maxBacklogBytes). */
  readonly resumeBacklogBytes: number;
  /** The socket's kernel receive buffer (SO_RCVBUF); 0 leaves autotuning on. */
  readonly receiveBufferBytes: number;
  /** Extra capabilities for our OPEN (e.g. RFC 8950 extended next hop, RFC 9234 role). */
  readonly extraCapabilities: readonly Capability[];
}

/** What callers give `makeSessionConfig`; everything not named has a default. */
export interface SessionConfigInput {
  readonly peerAddress: string;
  readonly peerPort?: number | undefined;
  readonly localAddress?: string | undefined;
  readonly localAs: number;
  readonly peerAs: FsmConfig['peerAs'];
  /** Dotted quad. */
  readonly routerId: string;
  readonly holdTimeSeconds?: number | undefined;
  readonly keepaliveSeconds?: number | undefined;
  readonly connectRetrySeconds?: number | undefined;
  readonly delayOpenSeconds?: number | undefined;
  readonly openHoldSeconds?: number | undefined;
  readonly sendHoldSeconds?: number | undefined;
  readonly passive?: boolean | undefined;
  readonly md5Password?: string | undefined;
  readonly ttlSecurityHops?: number | undefined;
  /** Default: IPv4 unicast only. */
  readonly families?: readonly FamilyKey[] | undefined;
  readonly addPath?: FsmConfig['addPath'] | undefined;
  readonly extendedMessages?: boolean | undefined;
  /** RFC 8950: offer IPv4 unicast with IPv6 next hops (default false). */
  readonly extendedNextHop?: boolean | undefined;
  readonly gracefulRestart?: FsmConfig['gracefulRestart'];
  readonly backoff?: Partial<BackoffConfig> | undefined;
  readonly sliceMs?: number | undefined;
  readonly maxBacklogBytes?: number | undefined;
  readonly resumeBacklogBytes?: number | undefined;
  readonly receiveBufferBytes?: number | undefined;
  readonly extraCapabilities?: readonly Capability[] | undefined;
}

/** Counters and facts for `margayctl bgp peers`. Prefix counts are the consumer's (the RIB's) to fill. */
export interface PeerStatus {
  readonly peerAddress: string;
  readonly state: SessionState;
  /** ms since epoch of the last change into or out of Established (0: never). */
  readonly stateSince: number;
  readonly establishedAt?: number | undefined;
  readonly negotiated?: Negotiated | undefined;
  /** Our address on the Established connection (for next-hop-self), IPv4-mapped forms normalised. */
  readonly localAddress?: string | undefined;
  /** Which side opened the Established connection ('us' = outgoing, 'peer' = incoming). */
  readonly openedBy?: 'us' | 'peer' | undefined;
  readonly messagesIn: number;
  readonly messagesOut: number;
  readonly updatesIn: number;
  readonly updatesOut: number;
  readonly keepalivesIn: number;
  readonly keepalivesOut: number;
  readonly notificationsIn: number;
  readonly notificationsOut: number;
  /** Times the session left Established. */
  readonly flaps: number;
  /** Consecutive failed attempts (drives the back-off). */
  readonly failures: number;
  readonly lastError?: string | undefined;
  readonly lastDown?: DownReason | undefined;
  /** Received bytes waiting for the consumer (flow control). */
  readonly backlogBytes: number;
  /** Receive back-pressure on the Established connection: times its socket was paused, largest backlog. */
  readonly receivePauses?: number | undefined;
  /** Bytes read from the Established connection's socket so far. */
  readonly bytesIn?: number | undefined;
  readonly backlogMaxBytes?: number | undefined;
}

/** Events a Session emits (typed EventEmitter). */
export interface SessionEvents {
  stateChange: [from: SessionState, to: SessionState];
  established: [negotiated: Negotiated];
  /** Delivered in bounded slices; `msg` holds views into the received chunk (copy what you keep). */
  update: [msg: UpdateMessage];
  /** Emitted after each slice of UPDATEs: a good moment to flush outbound work. */
  updatesDone: [];
  routeRefresh: [msg: RouteRefreshMessage];
  /** The Established session ended. */
  down: [why: DownReason];
  /** `send()` returned false earlier and the socket drained. */
  drain: [];
}

export interface ConnectOptions {
  readonly peerAddress: string;
  readonly peerPort: number;
  readonly localAddress?: string | undefined;
  readonly md5Password?: string | undefined;
  readonly ttlSecurityHops?: number | undefined;
}

/**
 * How a session opens outgoing connections. The returned socket is connecting: it emits 'connect' or
 * 'error'. TcpTransport (transport.ts) sets TCP-MD5 and GTSM before the SYN is sent.
 */
export interface Transport {
  connect(opts: ConnectOptions): Socket;
}

export type { NotificationMessage };
