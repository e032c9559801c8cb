/** src/config: the folder's public surface; other folders import from here. */
export { loadAgentConfig, type AgentConfig } from './agent.js';
export { familyIs, type DefaultPools, type IpAutodetection, type IpSetting } from './agent.js';
