import { MargayError } from '../errors.js';

/** A lab daemon (BIRD, FRR, GoBGP, margay-bgpd) failed to start, or a command to it failed. */
export class LabDaemonError extends MargayError {
  readonly code = 'MGY_LAB_DAEMON';
}

/** The lab waited too long for a daemon or a condition. */
export class LabTimeoutError extends MargayError {
  readonly code = 'MGY_LAB_TIMEOUT';
}
