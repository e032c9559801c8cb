import { MargayError } from '../errors.js';

/**
 * Text that is not a valid IP address or prefix. The one syntax error for addresses across Margay
 * (model validation, IPAM, policy ipBlocks, BGP config and origination all parse through src/net).
 */
export class PrefixSyntaxError extends MargayError {
  readonly code = 'MGY_PREFIX_SYNTAX';
  constructor(
    readonly text: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`invalid prefix or address ${JSON.stringify(text)}: ${reason}`, options);
  }
}
