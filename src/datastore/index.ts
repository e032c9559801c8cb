/**
 * The datastore API. Importing this module loads every backend's code except kubernetes; a process
 * that only reads (margayctl get) can import `./open-datastore.js` instead, which loads backends on
 * demand and no validators.
 */
export * from './types.js';
export { MemoryDatastore, type MemoryDatastoreOptions } from './memory.js';
export { FileDatastore, type FileDatastoreOptions } from './file.js';
export type { ManifestProblem } from './file-manifests.js';
export { applyManifests, parseManifests, type ApplyAction, type ApplyResult } from './apply.js';

export { openDatastore, type OpenDatastoreDeps } from './open-datastore.js';
