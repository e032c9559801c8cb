/** agent/bgp: the folder's public surface; other folders import from here. */
export { AdvertisementScope, advertisedPrefixes } from './advertise.js';
export { nodeBgp, withOwnBgp, type NodeBgp, type OwnNodeBgp } from './node-bgp.js';
export type { SecretRef } from './planner.js';
export { BgpHost } from './speaker-host.js';
