import { MargayError } from '../../src/errors.js';

export type ErrorAction = 'session-reset' | 'treat-as-withdraw' | 'attribute-discard';

/**
 * A protocol error found while framing or decoding. `errorCode`/`subcode`/`data` are exactly what a
 * NOTIFICATION for it carries (RFC 4271 §6); `action` is the RFC 7606 reaction. Only the session driver
 * turns one into a NOTIFICATION; the codec never sends. `attrType` names the path attribute at fault.
 */
export class BgpProtocolError extends MargayError {
  readonly code = 'MGY_BGP_PROTOCOL';
  constructor(
    readonly errorCode: number,
    readonly subcode: number,
    readonly data: Buffer,
    readonly action: ErrorAction,
    message: string,
    readonly attrType?: number,
  ) {
    super(message);
  }
}

const EMPTY = Buffer.alloc(0);
const RANK: Readonly<Record<ErrorAction, number>> = {
  'attribute-discard': 1,
  'treat-as-withdraw': 2,
  'session-reset': 3,
};

/** The stronger of two actions (RFC 7606 §3: the most severe applies). */
export function strongerAction<A extends ErrorAction | 'none'>(a: A, b: ErrorAction): A | ErrorAction {
  if (a === 'none') return b;
  return RANK[b] > RANK[a as ErrorAction] ? b : a;
}

export function sessionReset(
  code: number,
  subcode: number,
  data: Buffer | Uint8Array,
  message: string,
  attrType?: number,
): BgpProtocolError {
  return new BgpProtocolError(code, subcode, Buffer.from(data), 'session-reset', message, attrType);
}

export function protocolError(
  code: number,
  subcode: number,
  action: ErrorAction,
  message: string,
  data: Buffer | Uint8Array = EMPTY,
  attrType?: number,
): BgpProtocolError {
  return new BgpProtocolError(code, subcode, Buffer.from(data), action, message, attrType);
}

/** Prefix/address text errors are src/net's one PrefixSyntaxError (MGY_PREFIX_SYNTAX). */
export { PrefixSyntaxError } from '../../src/net/index.js';
