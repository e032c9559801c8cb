import { randomUUID } from 'node:crypto';
import { KINDS, kindFor, type KindId, type KindInfo, type Resource } from '../model/index.js';
import { ConfigError, ValidationError } from '../errors.js';
import { AlreadyExistsError, ConflictError, NotFoundError } from './types.js';

/**
 * The versioned object table shared by the memory and file backends: objects by key, one revision
 * counter, and a bounded journal of changes (the watch history). Synchronous, no I/O; the file
 * backend loads it from `.margay/state.json`, mutates it under the directory lock and saves it.
 *
 * Versions are decimal strings of one store-wide counter: each change takes the next revision and
 * the changed object's metadata.resourceVersion is that revision (for a deletion, the deleted
 * object is reported with the deletion's revision, as Kubernetes does). The journal holds every
 * change with rev > compactedRevision; a watch from an older version gets VersionExpiredError.
 */
export type ChangeType = 'added' | 'modified' | 'deleted';

export interface JournalEntry {
  readonly rev: number;
  readonly type: ChangeType;
  readonly kind: KindId;
  readonly object: Resource;
  /** Labels before a modification: lets a label-filtered watch turn it into added/deleted. */
  readonly prevLabels?: Readonly<Record<string, string>>;
}

export interface StoredObject {
  readonly kind: KindId;
  readonly object: Resource;
}

/** Plain data (JSON-serialisable): the file backend persists exactly this. */
export interface StoreSnapshot {
  revision: number;
  compactedRevision: number;
  objects: Record<string, StoredObject>;
  journal: JournalEntry[];
}

export interface StoreContext {
  readonly newUid: () => string;
  readonly now: () => Date;
  /** Validates and defaults a resource (model's validateResource); throws ValidationError. */
  readonly validate: (raw: unknown) => Resource;
}

/** A StoreContext with random uids and the wall clock, validating with `validate`. */
export function storeContext(validate: (raw: unknown) => Resource): StoreContext {
  return { newUid: randomUUID, now: () => new Date(), validate };
}

export const DEFAULT_HISTORY_WINDOW = 1000;

export function checkHistoryWindow(n: number | undefined): number {
  const w = n ?? DEFAULT_HISTORY_WINDOW;
  if (!Number.isInteger(w) || w < 1) {
    throw new ConfigError('datastore', `historyWindow must be an integer ≥ 1, got ${w}`);
  }
  return w;
}

/** Store-managed metadata: assigned by the store, never taken from the caller. */
export const MANAGED_META = ['resourceVersion', 'uid', 'creationTimestamp'] as const;

export function emptySnapshot(): StoreSnapshot {
  return { revision: 0, compactedRevision: 0, objects: {}, journal: [] };
}

export function objectKey(kind: KindId, name: string, namespace: string | undefined): string {
  return `${kind}/${namespace ?? ''}/${name}`;
}

/** The namespace an object of `kind` is stored under: "default" if namespaced and none is given. */
export function namespaceFor(kind: KindId, namespace: string | undefined): string | undefined {
  return KINDS[kind].namespaced ? namespace || 'default' : undefined;
}

export function displayName(name: string, namespace: string | undefined): string {
  return namespace ? `${namespace}/${name}` : name;
}

/** The kind of a manifest, or a ValidationError naming the unknown apiVersion/kind. */
export function resolveKind(raw: Resource): KindInfo {
  const info = kindFor(String(raw.apiVersion), String(raw.kind));
  if (!info) {
    throw new ValidationError(String(raw.kind), String(raw.metadata?.name ?? ''), [
      { path: 'kind', message: `unknown apiVersion/kind ${String(raw.apiVersion)}/${String(raw.kind)}` },
    ]);
  }
  return info;
}

/**
 * Validates `raw` and normalises its namespace: a namespaced kind without one gets "default" (as
 * kubectl apply does); a cluster-scoped kind with one is rejected.
 */
export function normalizeResource(raw: unknown, ctx: StoreContext): { info: KindInfo; object: Resource } {
  const object = ctx.validate(withDefaultNamespace(raw));
  const info = resolveKind(object);
  const meta = { ...object.metadata };
  if (!info.namespaced && meta.namespace !== undefined && meta.namespace !== '') {
    throw new ValidationError(info.kind, meta.name, [
      { path: 'metadata.namespace', message: `must not be set: ${info.kind} is cluster-scoped` },
    ]);
  }
  if (!info.namespaced) delete meta.namespace;
  checkAnnotationSize(info.kind, meta.name, meta.annotations);
  return { info, object: { ...object, metadata: meta } };
}

/** Kubernetes' limit on the total size of an object's annotations (keys + values, bytes). */
export const MAX_ANNOTATIONS_BYTES = 256 * 1024;

function checkAnnotationSize(
  kind: string,
  name: string,
  annotations: Readonly<Record<string, string>> | undefined,
): void {
  if (!annotations) return;
  let total = 0;
  for (const [k, v] of Object.entries(annotations)) total += Buffer.byteLength(k) + Buffer.byteLength(String(v));
  if (total > MAX_ANNOTATIONS_BYTES) {
    throw new ValidationError(kind, name, [
      {
        path: 'metadata.annotations',
        message: `total size ${total} bytes exceeds the limit of ${MAX_ANNOTATIONS_BYTES} bytes (256 KiB, as in Kubernetes)`,
      },
    ]);
  }
}

function withDefaultNamespace(raw: unknown): unknown {
  if (!raw || typeof raw !== 'object') return raw;
  const r = raw as { apiVersion?: unknown; kind?: unknown; metadata?: unknown };
  const info = kindFor(String(r.apiVersion), String(r.kind));
  if (!info?.namespaced || !r.metadata || typeof r.metadata !== 'object') return raw;
  const meta = r.metadata as { namespace?: unknown };
  if (meta.namespace !== undefined && meta.namespace !== '') return raw;
  return { ...r, metadata: { ...meta, namespace: 'default' } };
}

/** The object without store-managed metadata: what a manifest file holds. */
export function stripManaged(obj: Resource): Resource {
  const meta: Record<string, unknown> = { ...obj.metadata };
  for (const f of MANAGED_META) delete meta[f];
  return { ...obj, metadata: meta as unknown as Resource['metadata'] };
}

/** Same content, ignoring store-managed metadata. */
export function sameContent(a: Resource, b: Resource): boolean {
  return canonicalJson(stripManaged(a)) === canonicalJson(stripManaged(b));
}

function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(
          Object.entries(val as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)),
        )
      : val,
  );
}

function withMeta(obj: Resource, meta: Partial<Resource['metadata']>): Resource {
  return { ...obj, metadata: { ...obj.metadata, ...meta } };
}

/** Mutating operations on a snapshot. Each returns the journal entry it appended. */
export class StoreState {
  constructor(
    readonly snap: StoreSnapshot,
    private readonly ctx: StoreContext,
    private readonly historyWindow: number,
  ) {}

  get(kind: KindId, name: string, namespace: string | undefined): Resource | undefined {
    return this.snap.objects[objectKey(kind, name, namespaceFor(kind, namespace))]?.object;
  }

  create(raw: unknown): JournalEntry {
    const { info, object } = normalizeResource(raw, this.ctx);
    const { name, namespace } = object.metadata;
    if (this.get(info.id, name, namespace)) throw new AlreadyExistsError(info.id, displayName(name, namespace));
    return this.put(info.id, object, undefined);
  }

  /** All or none: every object is validated and checked absent (and distinct) before any is written. */
  createAll(raws: readonly unknown[]): JournalEntry[] {
    const ns = raws.map((r) => normalizeResource(r, this.ctx));
    const seen = new Set<string>();
    for (const { info, object } of ns) {
      const { name, namespace } = object.metadata;
      const key = objectKey(info.id, name, namespaceFor(info.id, namespace));
      if (seen.has(key) || this.get(info.id, name, namespace))
        throw new AlreadyExistsError(info.id, displayName(name, namespace));
      seen.add(key);
    }
    return ns.map(({ info, object }) => this.put(info.id, object, undefined));
  }

  update(raw: unknown): JournalEntry {
    const { info, object } = normalizeResource(raw, this.ctx);
    const { name, namespace, resourceVersion } = object.metadata;
    if (!resourceVersion) {
      throw new ValidationError(info.kind, displayName(name, namespace), [
        { path: 'metadata.resourceVersion', message: 'required: update is compare-and-swap on it' },
      ]);
    }
    const current = this.get(info.id, name, namespace);
    if (!current) throw new NotFoundError(info.id, displayName(name, namespace));
    if (current.metadata.resourceVersion !== resourceVersion) {
      throw new ConflictError(info.id, displayName(name, namespace), resourceVersion, current.metadata.resourceVersion);
    }
    return this.put(info.id, object, current);
  }

  /** Create or replace without a version check (objects read from hand-written files). */
  upsertUnchecked(info: KindInfo, object: Resource): JournalEntry | undefined {
    const { name, namespace } = object.metadata;
    const current = this.get(info.id, name, namespace);
    if (current && sameContent(current, object)) return undefined;
    return this.put(info.id, object, current);
  }

  delete(kind: KindId, name: string, namespace: string | undefined, expectedVersion?: string): JournalEntry {
    const ns = namespaceFor(kind, namespace);
    const key = objectKey(kind, name, ns);
    const current = this.snap.objects[key]?.object;
    if (!current) throw new NotFoundError(kind, displayName(name, ns));
    if (expectedVersion !== undefined && current.metadata.resourceVersion !== expectedVersion) {
      throw new ConflictError(kind, displayName(name, ns), expectedVersion, current.metadata.resourceVersion);
    }
    delete this.snap.objects[key];
    const rev = this.snap.revision + 1;
    return this.append({ rev, type: 'deleted', kind, object: withMeta(current, { resourceVersion: String(rev) }) });
  }

  private put(kind: KindId, object: Resource, current: Resource | undefined): JournalEntry {
    const rev = this.snap.revision + 1;
    const stored = withMeta(object, {
      resourceVersion: String(rev),
      uid: current?.metadata.uid ?? this.ctx.newUid(),
      creationTimestamp:
        current?.metadata.creationTimestamp ??
        this.ctx
          .now()
          .toISOString()
          .replace(/\.\d+Z$/, 'Z'),
    });
    this.snap.objects[objectKey(kind, stored.metadata.name, stored.metadata.namespace)] = { kind, object: stored };
    const entry: JournalEntry = current
      ? { rev, type: 'modified', kind, object: stored, prevLabels: current.metadata.labels ?? {} }
      : { rev, type: 'added', kind, object: stored };
    return this.append(entry);
  }

  private append(entry: JournalEntry): JournalEntry {
    this.snap.revision = entry.rev;
    this.snap.journal.push(entry);
    const excess = this.snap.journal.length - this.historyWindow;
    if (excess > 0) {
      const dropped = this.snap.journal.splice(0, excess);
      this.snap.compactedRevision = dropped[dropped.length - 1]!.rev;
    }
    return entry;
  }
}

/** Journal entries after `rev`, or 'expired' when the journal no longer reaches back that far. */
export function changesSince(snap: StoreSnapshot, rev: number): JournalEntry[] | 'expired' {
  if (rev < snap.compactedRevision) return 'expired';
  return snap.journal.filter((e) => e.rev > rev);
}

/** Parses a resourceVersion this store issued; undefined if it is not one. */
export function parseRevision(v: string): number | undefined {
  return /^(0|[1-9]\d{0,15})$/.test(v) ? Number(v) : undefined;
}
