/**
 * Public interface of the BGP session layer (owner B2): the FSM driver over a socket, the listener and the
 * transport (TCP-MD5, GTSM). See session.ts for the design.
 */
export type {
  BackoffConfig,
  ConnectOptions,
  DownReason,
  GracefulRestartOffer,
  Negotiated,
  PeerAsSpec,
  PeerStatus,
  SessionConfig,
  SessionConfigInput,
  SessionEvents,
  SessionState,
  Transport,
} from './types.js';
