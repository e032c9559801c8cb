/**
 * agent/dataplane: the reconcilers that turn the calc graph's desired state into kernel state, and
 * the apply loop (Dataplane). The agent builds one Dataplane over the node's KernelAdapters, passes
 * it to the CalcGraph as its sink, and calls start(); the CNI server awaits waitForEndpoint(key).
 */
export { Dataplane, type ApplyReport, type DataplaneOptions } from './dataplane.js';
export { ApplyError, EndpointWaitError, type ApplyStats } from './errors.js';
export { DeltaTracker } from './delta-tracker.js';
export type { Reconciler } from './reconciler.js';
export { RouteReconciler, kernelRouteOf } from './route-reconciler.js';
export { IptablesReconciler, KERNEL_JUMPS } from './iptables-reconciler.js';
export { IpsetReconciler } from './ipset-reconciler.js';
export { NeighborReconciler } from './neighbor-reconciler.js';
export { SysctlReconciler } from './sysctl-reconciler.js';
export { LinkReconciler } from './link-reconciler.js';
export { ConntrackFlusher } from './conntrack-flusher.js';
export { DEFAULT_APPLY_BACKOFF } from './backoff-policy.js';
