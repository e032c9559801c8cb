/** agent/sync: the folder's public surface; other folders import from here. */
export { ResourceCache } from './resource-cache.js';
