/** The BGP FSM (pure): transitions, OPEN validation and negotiation, collision resolution, back-off. */
export { step, fsmError, notification } from './transitions.js';
export {
  negotiate,
  negotiateTimers,
  validateOpen,
  isPeerAsAcceptable,
  routerIdFromText,
  routerIdToText,
} from './negotiate.js';
export { resolveCollision, type CollisionVerdict } from './collision.js';
export { backoffSeconds, jitter, nextFailureCount, type BackoffParams } from './backoff.js';
export * from './types.js';
export { hasNotificationBit, isGracefulRestartDown, withHardReset } from './graceful.js';
