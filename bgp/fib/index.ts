/** bgp/fib: the folder's public surface; other folders import from here. */
export { FibSyncLoop } from './fib-loop.js';
export { FibSync, type FibChange } from './fib-sync.js';
