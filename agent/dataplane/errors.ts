import { MargayError } from '../../src/errors.js';

export interface ApplyStats {
  readonly upserted: number;
  readonly deleted: number;
}

/** A reconciler's apply failed; it has queued a resync. Carries what it got done before failing. */
export class ApplyError extends MargayError {
  readonly code = 'MGY_DATAPLANE_APPLY';
  constructor(
    readonly reconciler: string,
    readonly stats: ApplyStats,
    options?: ErrorOptions,
  ) {
    super(`${reconciler}: apply failed after ${stats.upserted} written, ${stats.deleted} removed`, options);
  }
}

/** waitForEndpoint gave up: the endpoint was not programmed in time, or it was removed meanwhile. */
export class EndpointWaitError extends MargayError {
  readonly code = 'MGY_DATAPLANE_ENDPOINT_WAIT';
  constructor(
    readonly endpoint: string,
    readonly reason: 'timeout' | 'removed' | 'stopped' | 'aborted',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
