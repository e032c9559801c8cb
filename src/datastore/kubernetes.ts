/**
 * The Kubernetes datastore backend (MARGAY_DATASTORE=kubernetes): Margay's kinds as API objects —
 * Pod, Namespace, Node under /api/v1, NetworkPolicy under /apis/networking.k8s.io/v1, and the
 * margay.dev/v1 custom resources of deploy/crds under /apis/margay.dev/v1.
 *
 * - Authentication and transport come from @kubernetes/client-node's KubeConfig (a kubeconfig file, or
 *   the default chain: $KUBECONFIG, ~/.kube/config, in-cluster service account).
 * - update() is a PUT carrying metadata.resourceVersion, so the API server does the compare-and-swap;
 *   409 Conflict → ConflictError (with the stored version), 409 AlreadyExists → AlreadyExistsError,
 *   404 → NotFoundError, 422 → ValidationError, unreachable or 5xx → DatastoreUnavailableError naming
 *   the server URL, any other refusal → KubernetesApiError.
 * - watch() is a list+watch loop (kubernetes-watch.ts) with relist on 410 and capped, jittered
 *   back-off on errors.
 */
import { StoreLife } from './store-life.js';
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { ConfigError, type MargayError, ValidationError } from '../errors.js';
import { validateResource } from '../model/index.js';
import { KINDS, MARGAY_GROUP, kindFor, type KindId, type Resource } from '../model/index.js';
import { DEFAULT_BACKOFF, type BackoffOptions } from './kubernetes-backoff.js';
import {
  KubeRestClient,
  KubernetesApiError,
  kindInfo,
  queryString,
  resourcePath,
  type ApiResponse,
} from './kubernetes-rest.js';
import { KubeWatch, type ReadResult } from './kubernetes-watch.js';
import {
  ConflictError,
  DatastoreUnavailableError,
  type Datastore,
  type DeleteOptions,
  type ListOptions,
  type ListResult,
  type WatchEvent,
  type WatchHandle,
  type WatchOptions,
} from './types.js';

export interface KubernetesDatastoreOptions {
  /** Path of a kubeconfig file; without it the default chain ($KUBECONFIG, ~/.kube/config, in-cluster). */
  readonly kubeconfig?: string;
  readonly log: Logger;
  readonly backoff?: Partial<BackoffOptions>;
  /** Timeout of each non-watch request (default 30 s). */
  readonly requestTimeoutMs?: number;
  /** Watches ask the server to end each stream after [t, 2t) seconds (default 300), then resume. */
  readonly watchTimeoutSeconds?: number;
  /** Resume-mode watches: quiet period after which the replay counts as complete (default 200 ms). */
  readonly settleMs?: number;
  /** Validation of objects written and read (default: the model's validateResource). */
  readonly validate?: (raw: unknown) => Resource;
}

/** Opens the backend and checks that the API server answers; DatastoreUnavailableError if it does not. */
export async function openKubernetesDatastore(opts: KubernetesDatastoreOptions): Promise<Datastore> {
  const kc = new KubeConfig();
  try {
    if (opts.kubeconfig !== undefined) kc.loadFromFile(opts.kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    throw new ConfigError(opts.kubeconfig ?? 'kubeconfig', `cannot load kubeconfig: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const store = new KubernetesDatastore(kc, opts);
  await store.probe();
  return store;
}

function displayName(name: string, namespace: string | undefined): string {
  return namespace ? `${namespace}/${name}` : name;
}

export class KubernetesDatastore implements Datastore {
  readonly #client: KubeRestClient;
  readonly #log: Logger;
  readonly #watches = new Set<KubeWatch>();
  readonly #backoff: BackoffOptions;
  readonly #life: StoreLife;

  constructor(
    kc: KubeConfig,
    private readonly opts: KubernetesDatastoreOptions,
  ) {
    this.#client = new KubeRestClient(kc, opts.requestTimeoutMs ?? 30_000);
    this.#life = new StoreLife(`kubernetes datastore for ${this.#client.server}`);
    this.#log = opts.log.child({ server: this.#client.server });
    this.#backoff = { ...DEFAULT_BACKOFF, ...opts.backoff };
  }

  get server(): string {
    return this.#client.server;
  }

  /** Checks the server answers, and warns about margay.dev kinds whose CRD is not installed. */
  async probe(): Promise<void> {
    const version = await this.#client.send('GET', '/version');
    if (version.status !== 200) throw this.#client.errorFor(version, 'Namespace', '/version');
    const groups = await this.#client.send('GET', '/apis/margay.dev/v1');
    const served = new Set(
      groups.status === 200
        ? ((groups.body as { resources?: { name: string }[] }).resources ?? []).map((r) => r.name)
        : [],
    );
    const missing = Object.values(KINDS).filter((k) => k.group === MARGAY_GROUP && !served.has(k.plural));
    if (missing.length > 0) {
      this.#log.warn(
        { missing: missing.map((k) => k.kind), hint: 'kubectl apply -f deploy/crds/' },
        'margay.dev CustomResourceDefinitions not installed',
      );
    }
  }

  // Every request is tracked work of the store's lifecycle: close() waits for those in flight.
  list(kind: KindId, opts: ListOptions = {}): Promise<ListResult> {
    return this.#life.run(() => this.#list(kind, opts));
  }

  get(kind: KindId, name: string, namespace?: string): Promise<Resource | undefined> {
    return this.#life.run(() => this.#get(kind, name, namespace));
  }

  create(obj: Resource): Promise<Resource> {
    return this.#life.run(() => this.#create(obj));
  }

  update(obj: Resource): Promise<Resource> {
    return this.#life.run(() => this.#update(obj));
  }

  delete(kind: KindId, name: string, namespace?: string, opts: DeleteOptions = {}): Promise<void> {
    return this.#life.run(() => this.#delete(kind, name, namespace, opts));
  }

  async #list(kind: KindId, opts: ListOptions = {}): Promise<ListResult> {
    const info = kindInfo(kind);
    const path = resourcePath(info, opts.namespace) + queryString({ labelSelector: opts.labelSelector });
    const res = await this.#client.send('GET', path);
    if (res.status !== 200) throw this.#collectionError(res, kind, path);
    const body = res.body as { metadata?: { resourceVersion?: string }; items?: unknown[] };
    return {
      items: (body.items ?? []).flatMap((raw) => {
        const r = this.#read(kind, raw);
        if (r.ok) return [r.object];
        this.#log.warn(
          { err: r.error, kind, name: r.object.metadata.name, ns: r.object.metadata.namespace },
          'invalid object skipped',
        );
        return [];
      }),
      resourceVersion: body.metadata?.resourceVersion ?? '',
    };
  }

  async #get(kind: KindId, name: string, namespace?: string): Promise<Resource | undefined> {
    const ns = this.#namespaceFor(kind, namespace);
    const res = await this.#client.send('GET', resourcePath(kindInfo(kind), ns, name));
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw this.#client.errorFor(res, kind, displayName(name, ns));
    return this.#readOrThrow(kind, res.body);
  }

  async #create(obj: Resource): Promise<Resource> {
    const { kind, object } = this.#prepare(obj);
    const { resourceVersion: _rv, ...meta } = object.metadata;
    const res = await this.#client.send('POST', resourcePath(kindInfo(kind), meta.namespace), {
      ...object,
      metadata: meta,
    });
    if (res.status !== 200 && res.status !== 201) {
      throw this.#client.errorFor(res, kind, displayName(meta.name, meta.namespace));
    }
    return this.#readOrThrow(kind, res.body);
  }

  async #update(obj: Resource): Promise<Resource> {
    const { kind, object } = this.#prepare(obj);
    const { name, namespace, resourceVersion } = object.metadata;
    if (resourceVersion === undefined || resourceVersion === '') {
      throw new ValidationError(object.kind, displayName(name, namespace), [
        { path: 'metadata.resourceVersion', message: 'required: update is compare-and-swap on the stored version' },
      ]);
    }
    const res = await this.#client.send('PUT', resourcePath(kindInfo(kind), namespace, name), object);
    if (res.status === 200 || res.status === 201) return this.#readOrThrow(kind, res.body);
    throw await this.#conflictOr(res, kind, name, namespace, resourceVersion);
  }

  async #delete(kind: KindId, name: string, namespace?: string, opts: DeleteOptions = {}): Promise<void> {
    const ns = this.#namespaceFor(kind, namespace);
    const body = {
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      ...(opts.resourceVersion !== undefined ? { preconditions: { resourceVersion: opts.resourceVersion } } : {}),
    };
    const res = await this.#client.send('DELETE', resourcePath(kindInfo(kind), ns, name), body);
    if (res.status === 200 || res.status === 202) return;
    throw await this.#conflictOr(res, kind, name, ns, opts.resourceVersion);
  }

  watch(kind: KindId, opts: WatchOptions, onEvent: (ev: WatchEvent) => void): WatchHandle {
    this.#checkOpen();
    const w = new KubeWatch(
      {
        client: this.#client,
        log: this.#log,
        backoff: this.#backoff,
        watchTimeoutSeconds: this.opts.watchTimeoutSeconds ?? 300,
        settleMs: this.opts.settleMs ?? 200,
        list: (k, o) => this.list(k, o),
        read: (k, o) => this.#read(k, o),
      },
      kind,
      opts,
      onEvent,
    );
    this.#watches.add(w);
    const handle: WatchHandle = {
      stop: () => {
        this.#watches.delete(w);
        w.stop();
      },
    };
    w.start();
    return handle;
  }

  /** Refuses new requests at once, stops the watches, and waits for requests in flight (each has its timeout). */
  close(): Promise<void> {
    for (const w of this.#watches) w.stop();
    this.#watches.clear();
    return this.#life.close(() => undefined);
  }

  #checkOpen(): void {
    this.#life.check();
  }

  #namespaceFor(kind: KindId, namespace: string | undefined): string | undefined {
    return kindInfo(kind).namespaced ? namespace || 'default' : undefined;
  }

  /**
   * Resolves the kind, validates, and normalises the namespace as the other backends do. Margay's own
   * kinds are written as validated (with defaults); built-in kinds are checked but written as given,
   * since the model keeps only the fields Margay uses and a PUT of that would erase the rest.
   */
  #prepare(raw: Resource): { kind: KindId; object: Resource } {
    const validated = this.#validate(raw);
    const info = kindFor(validated.apiVersion, validated.kind);
    const name = String(raw.metadata?.name ?? '');
    if (!info) {
      throw new ValidationError(String(raw.kind), name, [
        { path: 'kind', message: `unknown apiVersion/kind ${String(raw.apiVersion)}/${String(raw.kind)}` },
      ]);
    }
    const object = info.group === MARGAY_GROUP ? validated : structuredClone(raw);
    const meta = { ...object.metadata };
    if (info.namespaced) meta.namespace = meta.namespace || 'default';
    else if (meta.namespace) {
      throw new ValidationError(info.kind, name, [
        { path: 'metadata.namespace', message: `must not be set: ${info.kind} is cluster-scoped` },
      ]);
    } else delete meta.namespace;
    return { kind: info.id, object: { ...object, metadata: meta } };
  }

  /**
   * An object read from the API, checked like one written: Margay's kinds come back validated (with
   * defaults), built-in kinds as the server sent them once they pass. An invalid one is reported to
   * the caller with its ValidationError (lists skip it, watches treat it as absent).
   */
  #read(kind: KindId, raw: unknown): ReadResult {
    const object = this.#normalize(kind, raw);
    try {
      const validated = this.#validate(object);
      return { ok: true, object: kindInfo(kind).group === MARGAY_GROUP ? validated : object };
    } catch (err) {
      if (err instanceof ValidationError) return { ok: false, object, error: err };
      throw err;
    }
  }

  #readOrThrow(kind: KindId, raw: unknown): Resource {
    const r = this.#read(kind, raw);
    if (!r.ok) throw r.error;
    return r.object;
  }

  #validate(raw: Resource): Resource {
    return (this.opts.validate ?? validateResource)(raw);
  }

  /** Objects read from the API: built-in kinds' list items lack apiVersion/kind. */
  #normalize(kind: KindId, raw: unknown): Resource {
    const info = kindInfo(kind);
    const o = raw as Partial<Resource> | null;
    if (!o || typeof o !== 'object' || !o.metadata || typeof o.metadata.name !== 'string') {
      throw new DatastoreUnavailableError(`${this.#client.server} returned a ${info.kind} without metadata.name`);
    }
    return {
      ...o,
      apiVersion: o.apiVersion ?? info.apiVersion,
      kind: o.kind ?? info.kind,
      metadata: o.metadata,
    } as Resource;
  }

  /** A 409 Conflict becomes ConflictError carrying the stored version (read back); anything else maps as usual. */
  async #conflictOr(
    res: ApiResponse,
    kind: KindId,
    name: string,
    namespace: string | undefined,
    expected: string | undefined,
  ): Promise<MargayError> {
    const err = this.#client.errorFor(res, kind, displayName(name, namespace), expected);
    if (!(err instanceof ConflictError)) return err;
    const current = await this.get(kind, name, namespace);
    return new ConflictError(kind, displayName(name, namespace), expected, current?.metadata.resourceVersion, {
      cause: err,
    });
  }

  #collectionError(res: ApiResponse, kind: KindId, path: string): MargayError {
    if (res.status === 404) {
      const info = kindInfo(kind);
      return new KubernetesApiError(
        this.#client.server,
        404,
        'NotFound',
        `${path} is not served` +
          (info.group === MARGAY_GROUP ? ' (is its CRD installed? kubectl apply -f deploy/crds/)' : ''),
      );
    }
    return this.#client.errorFor(res, kind, path);
  }
}
