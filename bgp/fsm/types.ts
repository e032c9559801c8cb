/**
 * Types of the BGP finite state machine (RFC 4271 §8). The FSM is one pure function per *connection*
 * (`step(state, ctx, event) → { next, actions }`, see transitions.ts); the session driver
 * (bgp/session/session.ts) owns up to two connections per peer (the one it opened and the one the peer
 * opened), resolves collisions between them (collision.ts, §6.8) and applies back-off between attempts
 * (backoff.ts). Timers, sockets and sends come back as data: the FSM never does I/O.
 */
import type { FamilyKey } from '../codec/index.js';
import type {
  AddPathMode,
  OpenMessage,
  UpdateMessage,
  RouteRefreshMessage,
  NotificationMessage,
} from '../codec/index.js';
import type { BgpProtocolError } from '../codec/index.js';

export const STATES = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'] as const;
export type SessionState = (typeof STATES)[number];

/**
 * connectRetry, hold, keepalive and delayOpen are RFC 4271's; sendHold is RFC 9687's. The back-off
 * (IdleHoldTimer) lives in the session driver because it spans connections.
 */
export const TIMERS = ['connectRetry', 'hold', 'keepalive', 'delayOpen', 'sendHold'] as const;
export type TimerName = (typeof TIMERS)[number];

/** Which ASNs the peer may open with. */
export type PeerAsSpec = number | 'internal' | 'external' | { readonly min: number; readonly max: number };

/** RFC 4724 graceful restart as we offer it. */
export interface GracefulRestartOffer {
  readonly restartTimeSeconds: number;
  /** R bit: we are restarting (set only in the first OPEN after our own restart). */
  readonly restarting: boolean;
  /** RFC 8538 N bit: we support graceful restart after NOTIFICATION. */
  readonly notification: boolean;
  /** Families for which we preserved forwarding state (F bit). */
  readonly forwardingPreserved: readonly FamilyKey[];
}

/** What the FSM needs to know about its configuration (already validated, frozen). */
export interface FsmConfig {
  readonly localAs: number;
  readonly peerAs: PeerAsSpec;
  /** Our BGP Identifier as an unsigned 32-bit number. */
  readonly routerId: number;
  /** 0 (no keepalives, no hold timer) or ≥ 3. */
  readonly holdTimeSeconds: number;
  /** Defaults to a third of the negotiated hold time. */
  readonly keepaliveSeconds?: number | undefined;
  readonly connectRetrySeconds: number;
  /** RFC 4271 DelayOpen: 0 disables it. */
  readonly delayOpenSeconds: number;
  /** Hold time used in OpenSent/Active before the OPEN negotiates one ("large value", §8: 4 minutes). */
  readonly openHoldSeconds: number;
  /** RFC 9687 SendHoldTimer; 0 disables. */
  readonly sendHoldSeconds: number;
  /** Families we offer (multiprotocol capability). */
  readonly families: readonly FamilyKey[];
  /** ADD-PATH modes we offer per family. */
  readonly addPath: ReadonlyMap<FamilyKey, AddPathMode>;
  readonly extendedMessages: boolean;
  readonly gracefulRestart?: GracefulRestartOffer | undefined;
  /** RFC 8950: we offer IPv4 unicast NLRI with IPv6 next hops (when ipv4 is among `families`). */
  readonly extendedNextHop?: boolean | undefined;
}

/** Facts agreed in the OPEN exchange (RFC 4271 §4.2 plus capabilities, RFC 5492). */
export interface Negotiated {
  readonly holdTimeSeconds: number;
  /** 0 when the hold time is 0 (no keepalives at all). */
  readonly keepaliveSeconds: number;
  readonly peerAs: number;
  readonly localAs: number;
  readonly isIbgp: boolean;
  /** Peer's BGP Identifier, u32 and dotted quad. */
  readonly peerRouterId: number;
  readonly peerRouterIdText: string;
  readonly fourOctetAs: boolean;
  /** Families both sides offered (IPv4 unicast when the peer sent no multiprotocol capability). */
  readonly families: ReadonlySet<FamilyKey>;
  /** Families where the peer sends us path ids (we receive, they send). */
  readonly addPathReceive: ReadonlySet<FamilyKey>;
  /** Families where we may send path ids. */
  readonly addPathSend: ReadonlySet<FamilyKey>;
  readonly extendedMessages: boolean;
  readonly routeRefresh: boolean;
  readonly enhancedRouteRefresh: boolean;
  /** RFC 8950: both sides offered IPv4 unicast NLRI with IPv6 next hops. */
  readonly extendedNextHopV4?: boolean | undefined;
  /** The peer's graceful-restart capability, when it sent one. */
  readonly peerGracefulRestart?:
    | {
        readonly restarting: boolean;
        readonly notification: boolean;
        readonly restartTimeSeconds: number;
        readonly families: readonly { readonly family: FamilyKey; readonly forwardingPreserved: boolean }[];
      }
    | undefined;
  /** Whether we offered graceful restart (so End-of-RIB and stale handling apply). */
  readonly localGracefulRestart: boolean;
  /** The peer's OPEN as received (capabilities such as RFC 8950 extended next hop live here). */
  readonly peerOpen: OpenMessage;
}

/** A NOTIFICATION to send: the driver encodes it. */
export interface OutNotification {
  readonly code: number;
  readonly subcode: number;
  readonly data: Buffer;
}

export type Outbound =
  | { readonly kind: 'open' }
  | { readonly kind: 'keepalive' }
  | ({ readonly kind: 'notification' } & OutNotification);

/** Why a connection ended, for logs, `margayctl bgp peers` and the back-off decision. */
export interface DownReason {
  /** Short machine-friendly reason: 'hold-timer-expired', 'notification-received', 'protocol-error', ... */
  readonly reason: string;
  /** The NOTIFICATION we sent, if any. */
  readonly sent?: OutNotification | undefined;
  /** The NOTIFICATION the peer sent, if any. */
  readonly received?: NotificationMessage | undefined;
  /** True when the end was an error (counts toward back-off); false for admin stop / collision. */
  readonly error: boolean;
}

export type FsmEvent =
  /** ManualStart/AutomaticStart (RFC 4271 events 1, 3, 4, 5): `passive` waits for the peer. */
  | { readonly type: 'Start'; readonly passive: boolean }
  /** ManualStop (event 2) or an administrative reset: sends the Cease if connected. */
  | { readonly type: 'Stop'; readonly notification: OutNotification }
  /** Events 16/17: the TCP connection is up (ours completed or theirs accepted). */
  | { readonly type: 'TcpConnected' }
  /** Event 18: connect failed or the connection closed. */
  | { readonly type: 'TcpFailed'; readonly detail: string }
  | { readonly type: 'OpenReceived'; readonly open: OpenMessage }
  | { readonly type: 'KeepaliveReceived' }
  | { readonly type: 'UpdateReceived'; readonly update: UpdateMessage }
  | { readonly type: 'RouteRefreshReceived'; readonly refresh: RouteRefreshMessage }
  | { readonly type: 'NotificationReceived'; readonly notification: NotificationMessage }
  /** A framing or decoding error: a NOTIFICATION with its code, subcode and data, then close. */
  | { readonly type: 'ProtocolError'; readonly error: BgpProtocolError }
  | { readonly type: 'TimerExpired'; readonly timer: TimerName }
  /** Event 23 OpenCollisionDump: this connection lost collision resolution (Cease 7). */
  | { readonly type: 'CollisionDump' };

export type FsmAction =
  | { readonly do: 'connect' }
  | { readonly do: 'close' }
  | { readonly do: 'send'; readonly msg: Outbound }
  | { readonly do: 'startTimer'; readonly timer: TimerName; readonly seconds: number }
  | { readonly do: 'stopTimer'; readonly timer: TimerName }
  /** Stop every timer of this connection. */
  | { readonly do: 'stopTimers' }
  /** Record the negotiated session facts (OpenSent → OpenConfirm). */
  | { readonly do: 'negotiated'; readonly negotiated: Negotiated }
  | { readonly do: 'deliverUpdate'; readonly update: UpdateMessage }
  | { readonly do: 'deliverRouteRefresh'; readonly refresh: RouteRefreshMessage }
  | { readonly do: 'up' }
  | { readonly do: 'down'; readonly why: DownReason };

export interface Step {
  readonly next: SessionState;
  readonly actions: readonly FsmAction[];
}

/** Per-connection context the FSM reads. `negotiated` is set by the driver from the 'negotiated' action. */
export interface FsmCtx {
  readonly config: FsmConfig;
  readonly negotiated?: Negotiated | undefined;
  /** Whether DelayOpen is running (the driver tracks it from start/stop actions). */
  readonly delayOpenRunning?: boolean | undefined;
}
