import type { KindId, Resource } from '../model/index.js';
import type { Datastore } from './types.js';
import { ConflictError, AlreadyExistsError } from './types.js';
import { normalizeResource, sameContent, type StoreContext } from './store-state.js';
import { parseManifestText, type ManifestProblem } from './file-manifests.js';
import { defaultStoreContext } from './memory.js';
import { ValidationError } from '../errors.js';
import { poolOverlapProblem } from '../model/index.js';

export type ApplyAction = 'created' | 'configured' | 'unchanged';

export interface ApplyResult {
  readonly kind: KindId;
  readonly name: string;
  readonly namespace?: string;
  readonly action: ApplyAction;
  readonly resourceVersion: string | undefined;
}

const MAX_ATTEMPTS = 10;

/**
 * `margayctl apply -f`: creates each object, or replaces the stored one (keeping its uid and
 * creation time) when it differs. Replace, not kubectl's three-way merge: the manifest is the whole
 * desired object. Each object is validated first (ValidationError names object, field, reason);
 * a conflict with a concurrent writer is retried on the fresh version.
 */
export async function applyManifests(store: Datastore, docs: readonly unknown[]): Promise<ApplyResult[]> {
  const ctx: StoreContext = defaultStoreContext(undefined);
  await refuseOverlappingPools(store, ctx, docs);
  const out: ApplyResult[] = [];
  for (const raw of docs) out.push(await applyOne(store, ctx, raw));
  return out;
}

/** IP pools must not overlap (each other, or stored ones not being replaced): refused before anything is written. */
async function refuseOverlappingPools(store: Datastore, ctx: StoreContext, docs: readonly unknown[]): Promise<void> {
  type PoolLike = Parameters<typeof poolOverlapProblem>[0];
  const pools: PoolLike[] = [];
  for (const raw of docs) {
    const n = normalizedOrUndefined(raw, ctx); // an invalid document is reported by applyOne, in order
    if (n?.info.id === 'IPPool') pools.push(n.object as unknown as PoolLike);
  }
  if (pools.length === 0) return;
  const names = new Set(pools.map((p) => p.metadata.name));
  const stored = (await store.list('IPPool')).items
    .map((o) => o as unknown as PoolLike)
    .filter((o) => !names.has(o.metadata.name));
  for (const [i, p] of pools.entries()) {
    const problem = poolOverlapProblem(p, [...stored, ...pools.slice(0, i)]);
    if (problem) throw new ValidationError('IPPool', p.metadata.name, [{ path: 'spec.cidr', message: problem }]);
  }
}

function normalizedOrUndefined(raw: unknown, ctx: StoreContext): ReturnType<typeof normalizeResource> | undefined {
  try {
    return normalizeResource(raw, ctx);
  } catch (err) {
    if (err instanceof ValidationError) return undefined;
    throw err;
  }
}

async function applyOne(store: Datastore, ctx: StoreContext, raw: unknown): Promise<ApplyResult> {
  const { info, object } = normalizeResource(raw, ctx);
  const { name, namespace } = object.metadata;
  const result = (action: ApplyAction, stored: Resource | undefined): ApplyResult => ({
    kind: info.id,
    name,
    ...(namespace ? { namespace } : {}),
    action,
    resourceVersion: stored?.metadata.resourceVersion,
  });
  for (let attempt = 1; ; attempt++) {
    const existing = await store.get(info.id, name, namespace);
    try {
      if (!existing) return result('created', await store.create(object));
      if (sameContent(existing, object)) return result('unchanged', existing);
      const next = { ...object, metadata: { ...object.metadata, resourceVersion: existing.metadata.resourceVersion } };
      return result('configured', await store.update(next));
    } catch (err) {
      const raced = err instanceof ConflictError || err instanceof AlreadyExistsError;
      if (!raced || attempt >= MAX_ATTEMPTS) throw err;
    }
  }
}

/** Parses manifest text for apply: the valid objects, and problems (file, line, reason) for the rest. */
export function parseManifests(text: string, file: string): { objects: Resource[]; problems: ManifestProblem[] } {
  const ctx = defaultStoreContext(undefined);
  const { docs, problems } = parseManifestText(text, file, (raw) => normalizeResource(raw, ctx));
  return { objects: docs.map((d) => d.object), problems };
}
