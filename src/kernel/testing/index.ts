/** Fakes of every kernel adapter, for unit tests of reconcilers and the CNI plugin. */
export * from './failure-injector.js';
export * from './fake-command-runner.js';
export * from './fake-conntrack-ops.js';
export * from './fake-iptables-backend.js';
export * from './fake-ipset-backend.js';
export * from './fake-link-ops.js';
export * from './fake-neighbor-ops.js';
export * from './fake-netns-ops.js';
export * from './fake-route-table.js';
export * from './fake-sysctl-ops.js';
export * from './fake-kernel-adapters.js';
export * from './fake-workload-veth-ops.js';
