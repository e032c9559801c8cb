/**
 * src/runtime: the one Clock (real + fake), the one Backoff, and the one service lifecycle. Every
 * timer, retry loop and long-lived part in Margay uses these.
 */
export { Backoff, backoffDelay, type BackoffPolicy } from './backoff.js';
export { FakeClock, realClock, sleep, type Clock, type Timer } from './clock.js';
export { ServiceStartError, ServiceStopError, ServiceStoppedError } from './errors.js';
export { Lifecycle, ServiceGroup, type Service, type ServiceState, type StoppableService } from './lifecycle.js';
