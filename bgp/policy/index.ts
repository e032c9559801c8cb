/** Public surface of the policy engine: config types and the compiler. */
export * from './types.js';
