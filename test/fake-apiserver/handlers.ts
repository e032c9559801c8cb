/**
 * The fake API server's verbs (get, list, create, update, patch, delete) over one resource, with the
 * real server's rules: server-assigned uid/creationTimestamp/generation/resourceVersion, 409 Conflict
 * on a stale resourceVersion, 409 AlreadyExists, 404 NotFound, 422 Invalid, no-op updates that do
 * not bump the version, custom resources refusing strategic-merge patch and unconditional update.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { FakeStore, StoredObject } from './store.js';
import { CRD_RESOURCE, resourcesFromCrd, BUILTIN_RESOURCES, type ResourceDef } from './resources.js';
import { Statuses, StatusError } from './status.js';
import {
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  SelectorParseError,
  type FieldSelector,
  type LabelSelector,
} from './selectors.js';
import { jsonPatch, mergePatch, PatchError, stripDirectives } from './patch.js';

export interface ResourceRequest {
  readonly def: ResourceDef;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly query: URLSearchParams;
  readonly body: unknown;
  readonly contentType: string;
  readonly accept: string;
}

export interface Reply {
  readonly code: number;
  readonly body: unknown;
}

export interface HandlerOptions {
  /** Namespaced objects may only be created in an existing Namespace (the real rule). */
  readonly requireNamespace: boolean;
}

const NAME_RE = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export function apiVersionOf(def: ResourceDef): string {
  return def.group === '' ? def.version : `${def.group}/${def.version}`;
}

/** Built-in and CRD-defined resources currently served. */
export class ResourceRegistry {
  #crdResources: ResourceDef[] = [];

  all(): ResourceDef[] {
    return [...BUILTIN_RESOURCES, ...this.#crdResources];
  }

  find(group: string, version: string, plural: string): ResourceDef | undefined {
    return this.all().find((d) => d.group === group && d.version === version && d.plural === plural);
  }

  refresh(store: FakeStore): void {
    this.#crdResources = store.list(CRD_RESOURCE).flatMap((crd) => resourcesFromCrd(crd));
  }
}

export function parseSelectors(def: ResourceDef, q: URLSearchParams): { labels: LabelSelector; fields: FieldSelector } {
  try {
    return {
      labels: parseLabelSelector(q.get('labelSelector') ?? undefined),
      fields: parseFieldSelector(q.get('fieldSelector') ?? undefined, def.fields),
    };
  } catch (err) {
    if (err instanceof SelectorParseError) throw new StatusError(Statuses.badRequest(err.message));
    throw err;
  }
}

export function matches(sel: { labels: LabelSelector; fields: FieldSelector }, obj: StoredObject): boolean {
  return (
    matchesLabels(sel.labels, obj.metadata.labels as Record<string, string> | undefined) &&
    matchesFields(sel.fields, obj)
  );
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function withoutMetaAndStatus(o: Record<string, unknown>): string {
  const { metadata: _m, status: _s, ...rest } = o;
  return JSON.stringify(rest);
}

function nowTimestamp(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export class ResourceHandlers {
  constructor(
    private readonly store: FakeStore,
    private readonly registry: ResourceRegistry,
    private readonly opts: HandlerOptions,
  ) {}

  get(r: ResourceRequest): Reply {
    const obj = this.store.get(r.def, r.namespace, r.name!);
    if (!obj) throw new StatusError(Statuses.notFound(r.def, r.name!));
    return { code: 200, body: obj };
  }

  list(r: ResourceRequest): Reply {
    const sel = parseSelectors(r.def, r.query);
    const rv = r.query.get('resourceVersion');
    if (r.query.get('resourceVersionMatch') === 'Exact' && rv && Number(rv) < this.store.compactedRevision) {
      throw new StatusError(Statuses.expired(Number(rv), this.store.compactedRevision));
    }
    const items = this.store.list(r.def, r.namespace).filter((o) => matches(sel, o));
    const resourceVersion = String(this.store.revision);
    if (r.accept.includes('as=Table')) return { code: 200, body: toTable(items, resourceVersion) };
    // Built-in kinds' list items carry no apiVersion/kind in JSON; custom resources' items do.
    const shown = r.def.builtin ? items.map(({ apiVersion: _a, kind: _k, ...rest }) => rest) : items;
    return {
      code: 200,
      body: { apiVersion: apiVersionOf(r.def), kind: `${r.def.kind}List`, metadata: { resourceVersion }, items: shown },
    };
  }

  create(r: ResourceRequest): Reply {
    const obj = this.#checkBody(r);
    const meta = obj.metadata as Record<string, unknown>;
    if (!meta.name && typeof meta.generateName === 'string' && meta.generateName !== '') {
      meta.name = `${meta.generateName}${randomBytes(3).toString('hex').slice(0, 5)}`;
    }
    const name = typeof meta.name === 'string' ? meta.name : '';
    this.#checkName(r.def, name);
    if (meta.resourceVersion !== undefined && meta.resourceVersion !== '') {
      throw new StatusError(Statuses.internal('resourceVersion should not be set on objects to be created'));
    }
    if (r.def.namespaced && this.opts.requireNamespace && !this.store.get(namespaceDef(), undefined, r.namespace!)) {
      throw new StatusError(Statuses.namespaceNotFound(r.namespace!));
    }
    if (this.store.get(r.def, r.namespace, name)) throw new StatusError(Statuses.alreadyExists(r.def, name));
    if (r.def === CRD_RESOURCE) this.#checkCrd(obj, name);
    const { deletionTimestamp: _d, managedFields: _mf, ...keep } = meta;
    const stored = this.store.put(r.def, {
      ...obj,
      metadata: { ...keep, name, uid: randomUUID(), creationTimestamp: nowTimestamp(), generation: 1 },
    } as unknown as StoredObject);
    this.#afterWrite(r.def);
    return { code: 201, body: stored };
  }

  update(r: ResourceRequest): Reply {
    const obj = this.#checkBody(r);
    const existing = this.store.get(r.def, r.namespace, r.name!);
    if (!existing) throw new StatusError(Statuses.notFound(r.def, r.name!));
    const rv = (obj.metadata as Record<string, unknown>).resourceVersion;
    if (rv === undefined || rv === '') {
      if (!r.def.builtin) {
        throw new StatusError(
          Statuses.invalid(r.def, r.name!, [
            {
              field: 'metadata.resourceVersion',
              reason: 'FieldValueInvalid',
              message: 'Invalid value: 0x0: must be specified for an update',
            },
          ]),
        );
      }
    } else if (rv !== existing.metadata.resourceVersion) {
      throw new StatusError(Statuses.conflict(r.def, r.name!));
    }
    return this.#replace(r.def, existing, obj);
  }

  patch(r: ResourceRequest): Reply {
    const existing = this.store.get(r.def, r.namespace, r.name!);
    if (!existing) throw new StatusError(Statuses.notFound(r.def, r.name!));
    const ct = r.contentType.split(';')[0]!.trim();
    let patched: unknown;
    try {
      if (ct === 'application/merge-patch+json') patched = mergePatch(existing, r.body);
      else if (ct === 'application/strategic-merge-patch+json') {
        if (!r.def.builtin) {
          throw new StatusError(
            Statuses.unsupportedMediaType(`${ct}: strategic merge patch is not supported for custom resources`),
          );
        }
        patched = mergePatch(existing, stripDirectives(r.body));
      } else if (ct === 'application/json-patch+json') patched = jsonPatch(existing, r.body);
      else throw new StatusError(Statuses.unsupportedMediaType(ct));
    } catch (err) {
      if (err instanceof PatchError) throw new StatusError(Statuses.badRequest(err.message));
      throw err;
    }
    if (!isObject(patched) || !isObject(patched.metadata)) {
      throw new StatusError(Statuses.badRequest('the patch produced an object without metadata'));
    }
    if (patched.metadata.resourceVersion !== existing.metadata.resourceVersion) {
      throw new StatusError(Statuses.conflict(r.def, r.name!));
    }
    if (patched.metadata.name !== r.name) {
      throw new StatusError(Statuses.badRequest('the patch may not change metadata.name'));
    }
    return this.#replace(r.def, existing, patched);
  }

  delete(r: ResourceRequest): Reply {
    const existing = this.store.get(r.def, r.namespace, r.name!);
    if (!existing) throw new StatusError(Statuses.notFound(r.def, r.name!));
    const pre = isObject(r.body) && isObject(r.body.preconditions) ? r.body.preconditions : {};
    if (typeof pre.resourceVersion === 'string' && pre.resourceVersion !== existing.metadata.resourceVersion) {
      throw new StatusError(
        Statuses.preconditionConflict(r.def, r.name!, pre.resourceVersion, existing.metadata.resourceVersion),
      );
    }
    if (typeof pre.uid === 'string' && pre.uid !== existing.metadata.uid) {
      throw new StatusError(Statuses.conflict(r.def, r.name!));
    }
    if (r.def === CRD_RESOURCE) {
      for (const d of resourcesFromCrd(existing)) this.store.drop(d);
    }
    if (r.def.kind === 'Namespace') {
      for (const d of this.registry.all().filter((x) => x.namespaced)) {
        for (const o of this.store.list(d, r.name)) this.store.remove(d, r.name, o.metadata.name);
      }
    }
    const last = this.store.remove(r.def, r.namespace, r.name!)!;
    this.#afterWrite(r.def);
    return { code: 200, body: last };
  }

  #replace(def: ResourceDef, existing: StoredObject, obj: Record<string, unknown>): Reply {
    const meta = obj.metadata as Record<string, unknown>;
    const merged = {
      ...obj,
      apiVersion: existing.apiVersion,
      kind: existing.kind,
      metadata: {
        ...meta,
        uid: existing.metadata.uid,
        creationTimestamp: existing.metadata.creationTimestamp,
        generation: existing.metadata.generation,
        resourceVersion: existing.metadata.resourceVersion,
      },
    } as unknown as StoredObject;
    if (def.kind === 'Namespace') defaultNamespace(merged);
    if (JSON.stringify(sortKeys(merged)) === JSON.stringify(sortKeys(existing))) return { code: 200, body: existing };
    if (def === CRD_RESOURCE) this.#checkCrd(merged, existing.metadata.name);
    if (withoutMetaAndStatus(merged) !== withoutMetaAndStatus(existing)) {
      merged.metadata.generation = Number(existing.metadata.generation ?? 0) + 1;
    }
    const stored = this.store.put(def, merged);
    this.#afterWrite(def);
    return { code: 200, body: stored };
  }

  #checkBody(r: ResourceRequest): Record<string, unknown> {
    if (!isObject(r.body)) throw new StatusError(Statuses.badRequest('the request body must be a JSON object'));
    const obj = structuredClone(r.body);
    const want = apiVersionOf(r.def);
    if (obj.apiVersion !== undefined && obj.apiVersion !== want) {
      throw new StatusError(
        Statuses.badRequest(
          `the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${want})`,
        ),
      );
    }
    if (obj.kind !== undefined && obj.kind !== r.def.kind) {
      throw new StatusError(
        Statuses.badRequest(
          `the kind in the data (${String(obj.kind)}) does not match the expected kind (${r.def.kind})`,
        ),
      );
    }
    obj.apiVersion = want;
    obj.kind = r.def.kind;
    const meta = isObject(obj.metadata) ? obj.metadata : {};
    obj.metadata = meta;
    if (r.def.namespaced) {
      if (meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== r.namespace) {
        throw new StatusError(
          Statuses.badRequest('the namespace of the provided object does not match the namespace sent on the request'),
        );
      }
      meta.namespace = r.namespace;
    } else delete meta.namespace;
    if (r.name !== undefined && meta.name !== r.name) {
      throw new StatusError(
        Statuses.badRequest(
          `the name of the object (${String(meta.name)}) does not match the name on the URL (${r.name})`,
        ),
      );
    }
    if (r.def.kind === 'Namespace' && typeof meta.name === 'string') defaultNamespace(obj);
    return obj;
  }

  #checkName(def: ResourceDef, name: string): void {
    if (name === '') {
      throw new StatusError(
        Statuses.invalid(def, '', [
          {
            field: 'metadata.name',
            reason: 'FieldValueRequired',
            message: 'Required value: name or generateName is required',
          },
        ]),
      );
    }
    if (name.length > 253 || !NAME_RE.test(name)) {
      throw new StatusError(
        Statuses.invalid(def, name, [
          {
            field: 'metadata.name',
            reason: 'FieldValueInvalid',
            message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
          },
        ]),
      );
    }
  }

  #checkCrd(obj: Record<string, unknown>, name: string): void {
    let defs: ResourceDef[];
    try {
      defs = resourcesFromCrd(obj);
    } catch (err) {
      throw new StatusError(
        Statuses.invalid(CRD_RESOURCE, name, [
          { field: 'spec', reason: 'FieldValueRequired', message: (err as Error).message },
        ]),
      );
    }
    const d = defs[0];
    if (d && name !== `${d.plural}.${d.group}`) {
      throw new StatusError(
        Statuses.invalid(CRD_RESOURCE, name, [
          {
            field: 'metadata.name',
            reason: 'FieldValueInvalid',
            message: `Invalid value: "${name}": must be spec.names.plural+"."+spec.group`,
          },
        ]),
      );
    }
  }

  #afterWrite(def: ResourceDef): void {
    if (def === CRD_RESOURCE) this.registry.refresh(this.store);
  }
}

function namespaceDef(): ResourceDef {
  return BUILTIN_RESOURCES.find((d) => d.kind === 'Namespace')!;
}

/** What the real server adds to every Namespace. */
function defaultNamespace(obj: Record<string, unknown>): void {
  const meta = obj.metadata as Record<string, unknown>;
  meta.labels = { ...(isObject(meta.labels) ? meta.labels : {}), 'kubernetes.io/metadata.name': meta.name as string };
  obj.spec = { finalizers: ['kubernetes'], ...(isObject(obj.spec) ? obj.spec : {}) };
  obj.status = { phase: 'Active', ...(isObject(obj.status) ? obj.status : {}) };
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (!isObject(v)) return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .filter((k) => v[k] !== undefined)
      .map((k) => [k, sortKeys(v[k])]),
  );
}

/** A meta.k8s.io/v1 Table as `kubectl get` asks for: name and age columns, metadata-only row objects. */
function toTable(items: readonly StoredObject[], resourceVersion: string): Record<string, unknown> {
  const now = Date.now();
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: [
      { name: 'Name', type: 'string', format: 'name', description: 'Name', priority: 0 },
      { name: 'Age', type: 'string', format: '', description: 'Age', priority: 0 },
    ],
    rows: items.map((o) => {
      const created = Date.parse(String(o.metadata.creationTimestamp ?? ''));
      const age = Number.isNaN(created) ? '<unknown>' : `${Math.max(0, Math.round((now - created) / 1000))}s`;
      return {
        cells: [o.metadata.name, age],
        object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
      };
    }),
  };
}
