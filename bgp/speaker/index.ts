/**
 * bgp/speaker: the speaker engine (BgpSpeaker), its ports and real adapters, config translation,
 * the reconfiguration planner and the status views. Other folders import from here.
 */
export { BgpSpeaker, type SpeakerDeps } from './speaker.js';
export {
  GLOBAL_KEYS,
  planReconfigure,
  type ReconfigureAction,
  type ReconfigurePlan,
  type ReconfigureState,
  type ReconfigureSummary,
  type RunningPeer,
} from './reconfigure-plan.js';
export { defaultListenerFactory, defaultRibFactory, defaultSessionFactory, defaultSpeakerPorts } from './adapters.js';
export type { ListenerFactory, ListenerPort, RibFactory, RibPort, SessionFactory, SessionPort } from './ports.js';
export { systemInterfaces, type InterfaceSource, type InterfaceTable, type LinkFacts } from './interfaces.js';
export { fibAccept, matchListenRange, peerChange, type PeerSettings, type SpeakerConfig } from './translate.js';
export type {
  AnnounceRequest,
  BestPathChange,
  Family,
  PeerStatusView,
  RibQuery,
  RibQueryResult,
  RibRouteView,
} from './types.js';
