import { MargayError } from '../errors.js';

/** Work was offered to a service that is stopping or stopped. */
export class ServiceStoppedError extends MargayError {
  readonly code = 'MGY_SERVICE_STOPPED';
  constructor(readonly service: string) {
    super(`${service} is stopping or stopped`);
  }
}

/** A service of a group failed to start; the ones already started were stopped again. */
export class ServiceStartError extends MargayError {
  readonly code = 'MGY_SERVICE_START';
  constructor(
    readonly service: string,
    options?: ErrorOptions,
  ) {
    super(`${service} failed to start`, options);
  }
}

/** One or more services failed while stopping; the others were still stopped. */
export class ServiceStopError extends MargayError {
  readonly code = 'MGY_SERVICE_STOP';
  constructor(readonly failures: readonly { readonly service: string; readonly error: unknown }[]) {
    super(`failed to stop ${failures.map((f) => f.service).join(', ')}`, { cause: failures[0]?.error });
  }
}
