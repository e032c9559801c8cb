/**
 * The BGP speaker as other folders use it (ARCHITECTURE.md §2: other folders are reached through
 * their index.ts): the engine, its default ports, config validation and the public views.
 */
export { BgpSpeaker, type ReconfigureSummary, type SpeakerConfig, type SpeakerDeps } from './speaker/speaker.js';
export { defaultSpeakerPorts } from './speaker/adapters.js';
export type { AnnounceRequest, BestPathChange, Family, PeerStatusView, RibQuery, RibQueryResult, RibRouteView } from './speaker/types.js';
export { validateBgpdConfig, type BgpdConfig, type PeerConfig } from './config.js';
export { startControlServer, type ControlServer } from './control/server.js';
export type { ControlHandler } from './control/routes.js';
export { ControlClient } from './control/client.js';
