import { MargayError } from '../errors.js';

/** A lab or topology spec is malformed (names, addresses, links): names the field and the reason. */
export class TopologySpecError extends MargayError {
  readonly code = 'MGY_LAB_SPEC';
  constructor(
    readonly field: string,
    readonly detail: string,
    options?: ErrorOptions,
  ) {
    super(`topology spec: ${field}: ${detail}`, options);
  }
}

/** Building or tearing down a lab topology failed; `cause` holds the kernel error. */
export class TopologyError extends MargayError {
  readonly code = 'MGY_LAB_TOPOLOGY';
}

/** A lab process (daemon, agent) failed to start, died, or could not be stopped. */
export class LabProcessError extends MargayError {
  readonly code = 'MGY_LAB_PROCESS';
  constructor(
    readonly processName: string,
    message: string,
    readonly logTail = '',
    options?: ErrorOptions,
  ) {
    super(`${processName}: ${message}${logTail ? `\n--- ${processName} log tail ---\n${logTail}` : ''}`, options);
  }
}

/** A wait for a condition in the lab (a session, a route, a socket) ran out of time. */
export class LabTimeoutError extends MargayError {
  readonly code = 'MGY_LAB_TIMEOUT';
}

/** The lab's state (state file, lab dir) is missing, malformed or belongs to something else. */
export class LabStateError extends MargayError {
  readonly code = 'MGY_LAB_STATE';
}
