/** bgp/speaker: the folder's public surface; other folders import from here. */
export { type BgpSpeaker } from './speaker.js';
export { type AnnounceRequest, type PeerStatusView, type RibQuery, type RibQueryResult } from './types.js';
