/** The CNI protocol side of Margay, shared by the plugin (cni/main.ts) and the agent (agent/cni/). */
export * from './protocol.js';
export * from './result.js';
export * from './wire.js';
