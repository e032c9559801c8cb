/** Kernel adapters: the only layer that touches the kernel. See docs/kernel.md. */
export * from './adapters.js';
export * from './command-runner.js';
export * from './conntrack-ops.js';
export * from './errors.js';
export * from './iptables-backend.js';
export * from './iptables-detect.js';
export * from './iptables-format.js';
export * from './ipset-backend.js';
export * from './ipset-format.js';
export * from './link-ops.js';
export * from './neighbor-ops.js';
export * from './netns-ops.js';
export * from './ownership.js';
export * from './route-format.js';
export * from './route-table.js';
export * from './sysctl-ops.js';
export * from './workload-veth.js';
