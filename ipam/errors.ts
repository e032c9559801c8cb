import { MargayError } from '../src/errors.js';

/**
 * IPAM's typed errors. Callers (the agent's CNI endpoint, margayctl) branch on `code`; the message
 * alone tells an operator what happened and what to do.
 */

/** The request itself is wrong (bad handle id, unparsable annotation, unknown address). Not retryable. */
export class IpamRequestError extends MargayError {
  readonly code = 'MGY_IPAM_BAD_REQUEST';
}

/** No enabled pool can serve this request (none matches the node, or a requested pool is missing/disabled). */
export class IpamNoPoolError extends MargayError {
  readonly code = 'MGY_IPAM_NO_POOL';
}

export interface PoolUsage {
  readonly pool: string;
  readonly cidr: string;
  readonly capacity: bigint;
  readonly allocated: number;
  readonly reserved: number;
  /** Free but released too recently to be handed out again. */
  readonly cooling: number;
}

/**
 * Every candidate pool is out of addresses for this node. `retryable` is true when some addresses
 * are only cooling down (released less than minReuseAgeSeconds ago): retrying shortly succeeds.
 */
export class IpamExhaustedError extends MargayError {
  readonly code = 'MGY_IPAM_EXHAUSTED';
  constructor(
    readonly family: 'ipv4' | 'ipv6',
    readonly node: string,
    readonly pools: readonly PoolUsage[],
    readonly retryable: boolean,
    options?: ErrorOptions,
  ) {
    const usage = pools.map(
      (p) =>
        `${p.pool} ${p.cidr}: ${p.allocated} allocated, ${p.reserved} reserved, ${p.cooling} cooling of ${p.capacity}`,
    );
    super(
      `no free ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address for node ${node} in pool(s) ${usage.join('; ') || '(none)'}. ` +
        (retryable
          ? 'Some addresses were released moments ago and become usable after IPAMConfiguration minReuseAgeSeconds; retry shortly.'
          : 'Add an IPPool (or widen one), or free addresses: `margayctl ipam check` lists leaked ones and `margayctl ipam release --from-report` frees them.'),
      options,
    );
  }
}

/** A fixed address (annotation or request) is already allocated to another handle, or reserved. */
export class IpamAddressInUseError extends MargayError {
  readonly code = 'MGY_IPAM_ADDRESS_IN_USE';
  constructor(
    readonly address: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`address ${address} cannot be assigned: ${reason}`, options);
  }
}

/** Compare-and-swap kept losing to concurrent writers for too long. Retryable. */
export class IpamContendedError extends MargayError {
  readonly code = 'MGY_IPAM_CONTENDED';
  constructor(
    readonly what: string,
    readonly attempts: number,
    options?: ErrorOptions,
  ) {
    super(`gave up ${what} after ${attempts} conflicting concurrent updates; retry`, options);
  }
}
