/**
 * bgp/: the public surface of the BGP speaker for the agent and other folders (layer 1). The agent
 * embeds BgpSpeaker with peers from BGPPeer/BGPConfiguration and calls `reconfigure` (planned by the
 * pure `planReconfigure`) on every change.
 */
export {
  BgpSpeaker,
  defaultListenerFactory,
  defaultRibFactory,
  defaultSessionFactory,
  defaultSpeakerPorts,
  GLOBAL_KEYS,
  planReconfigure,
  systemInterfaces,
  type AnnounceRequest,
  type BestPathChange,
  type Family,
  type RibRouteView,
  type InterfaceSource,
  type PeerStatusView,
  type ReconfigureAction,
  type ReconfigurePlan,
  type ReconfigureState,
  type ReconfigureSummary,
  type RibQuery,
  type RibQueryResult,
  type RunningPeer,
  type SpeakerConfig,
  type SpeakerDeps,
} from './speaker/index.js';
export { parseBgpdConfig } from './config-file.js';
export {
  BgpdConfig,
  parseOriginate,
  validateBgpdConfig,
  type ListenRangeConfig,
  type OriginatedRouteConfig,
  type PeerConfig,
  type PolicyConfig,
} from './config.js';
export { FibSync, FibSyncLoop, type FibChange } from './fib/index.js';
export {
  ControlClient,
  DEFAULT_CONTROL_SOCKET,
  startControlServer,
  type ControlHandler,
  type ControlServer,
} from './control/index.js';
