/** Public surface of the RIB: Adj-RIB-In, Loc-RIB with best path, Adj-RIB-Out and update generation. */
export * from './types.js';
export type { RibApi, OriginateAttrs } from './api.js';
export { Rib, RibStateError } from './rib.js';
export { RibInputError } from './attrs.js';
export { PrefixSyntaxError } from '../attrs/index.js';
export { ribUpdateFromBody, ribUpdateFromMessage } from './update-view.js';
export type { RibSlicedRemoval } from './api.js';
