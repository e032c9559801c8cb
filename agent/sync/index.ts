/** agent/sync: the typed, in-sync resource cache between the datastore and the calculation graph. */
export {
  objectKey,
  ResourceCache,
  WATCH_BACKOFF,
  type CacheConsumer,
  type RemoveArgs,
  type ResourceCacheOptions,
  type UpsertArgs,
} from './resource-cache.js';
