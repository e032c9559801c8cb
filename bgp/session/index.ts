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
export {
  Session,
  describe as describeDown,
  connectionRejectedNotification,
  type SessionDeps,
  type StopReason,
} from './session.js';
export { BgpListener, normalizeAddress, type ListenRange, type ListenerOptions } from './listener.js';
export { TcpTransport } from './transport.js';
export { makeSessionConfig, openCapabilities, SESSION_DEFAULTS } from './config.js';
export type { Clock } from './connection.js';
export { scheduleSliced, slicedPending, SLICE_MS, type SlicedTask } from './receive-budget.js';
export { isSockoptAvailable, SocketOptionError } from '../native/index.js';
