/**
 * A fake Kubernetes API server for tests: HTTP on 127.0.0.1 (random port) speaking the real REST and
 * watch protocol for the kinds Margay uses, so @kubernetes/client-node and kubectl talk to it as to a
 * cluster. Custom resources are served only while their CustomResourceDefinition is stored; the CRDs
 * in deploy/crds/ are loaded at start (as `kubectl apply -f deploy/crds` would).
 *
 * Served: discovery (/version, /api, /api/v1, /apis, /apis/<g>, /apis/<g>/<v>, /openapi/v3), health (/healthz,
 * /readyz, /livez); core v1 pods, namespaces, nodes; networking.k8s.io/v1 networkpolicies;
 * apiextensions.k8s.io/v1 customresourcedefinitions; every CRD-defined resource. Verbs GET (object,
 * namespaced list, all-namespaces list, watch), POST, PUT, PATCH (merge, strategic-as-merge, JSON
 * patch), DELETE (with preconditions). One global revision counter as etcd has; Status objects as the
 * real server writes them.
 *
 * Known deviations from kube-apiserver:
 * - No authentication, authorization, admission, TLS or protobuf; JSON over plain HTTP only.
 * - No schema validation or defaulting beyond metadata (and Namespace's kubernetes.io/metadata.name
 *   label, spec.finalizers and status.phase). CRD openAPIV3Schema is not enforced; unknown fields kept.
 * - Strategic-merge patch is a JSON merge patch (lists replaced whole, directives dropped); server-side
 *   apply (application/apply-patch+yaml) is refused with 415. No managedFields.
 * - Deletion is immediate: no graceful pod termination, no finalizers, Namespace deletion removes its
 *   objects at once instead of going through Terminating. No deletecollection.
 * - `/status` subresource paths act on the whole object. No other subresources (log, exec, scale...).
 * - LIST ignores `limit`/`continue` (always one page) and serves the latest state whatever
 *   `resourceVersion`/`resourceVersionMatch` say (except Exact below the compacted revision → 410).
 *   No `sendInitialEvents`. No legacy `/api/v1/watch/...` paths. Aggregated discovery is not offered
 *   (clients fall back to the legacy documents).
 * - OpenAPI: no /openapi/v2; /openapi/v3 lists paths and operations only (no schemas), declaring
 *   server-side `fieldValidation`, which the fake accepts but does not enforce (unknown fields pass).
 * - Table output (`as=Table`) has only Name and Age columns.
 * - PUT of a missing object is 404 for every kind (the real server creates a few kinds on PUT).
 * - History is bounded by count (`historyLimit`), not by time; bookmarks come every
 *   `bookmarkIntervalMs` (real: about a minute). Watches have no server-side default timeout.
 *
 * Test hooks: compact() (old versions → 410), expireWatches() (410 ERROR to open watches),
 * closeWatches(), failNext()/clearFailures() (500/503, a dropped connection, an empty 200 stream), goDown()/comeUp()
 * (refuse connections on the same port), `requests` (every request seen) and `bookmarksSent`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { FakeStore } from './store.js';
import { ResourceHandlers, ResourceRegistry, type ResourceRequest, type Reply } from './handlers.js';
import { serveWatch, type OpenWatch } from './watch.js';
import { Statuses, StatusError, type Status } from './status.js';
import { openapiGroupVersion, openapiRoot } from './openapi.js';
import { CRD_RESOURCE, apiGroup, apiGroupList, apiResourceList, apiVersions, VERSION_INFO } from './resources.js';

export const DEFAULT_CRD_DIR = new URL('../../deploy/crds/', import.meta.url).pathname;

export interface FakeApiServerOptions {
  /** Directory of CustomResourceDefinition YAML to load at start (default deploy/crds). null: none. */
  readonly crdDir?: string | null;
  /** Namespaces that exist at start (default: default, kube-system, kube-public, kube-node-lease). */
  readonly namespaces?: readonly string[];
  /** Refuse namespaced objects in a missing Namespace, as the real server does (default true). */
  readonly requireNamespace?: boolean;
  /** How many change events are kept for watches to resume from (default 10000). */
  readonly historyLimit?: number;
  readonly bookmarkIntervalMs?: number;
}

/** A 500/503 Status, a connection dropped before any answer, or a watch answered 200 and ended at once. */
export type InjectedFailure = { readonly status: 500 | 503 } | { readonly drop: true } | { readonly emptyStream: true };

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
}

export class FakeApiServer {
  readonly store: FakeStore;
  readonly requests: SeenRequest[] = [];
  /** BOOKMARK events written so far, over all watches. */
  bookmarksSent = 0;
  readonly #registry = new ResourceRegistry();
  readonly #handlers: ResourceHandlers;
  readonly #watches = new Set<OpenWatch>();
  readonly #sockets = new Set<Socket>();
  readonly #failures: { failure: InjectedFailure; match: (r: SeenRequest) => boolean }[] = [];
  #server: Server;
  #port = 0;

  private constructor(private readonly opts: FakeApiServerOptions) {
    this.store = new FakeStore(opts.historyLimit ?? 10_000);
    this.#handlers = new ResourceHandlers(this.store, this.#registry, {
      requireNamespace: opts.requireNamespace ?? true,
    });
    this.#server = this.#makeServer();
  }

  static async start(opts: FakeApiServerOptions = {}): Promise<FakeApiServer> {
    const s = new FakeApiServer(opts);
    s.#seed();
    await s.#listen(0);
    return s;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Writes a kubeconfig pointing at this server and returns its path. */
  writeKubeconfig(path: string): string {
    writeFileSync(
      path,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: fake',
        `  cluster: { server: "${this.url}", insecure-skip-tls-verify: true }`,
        'users:',
        '- name: fake',
        '  user: { token: fake-token }',
        'contexts:',
        '- name: fake',
        '  context: { cluster: fake, user: fake, namespace: default }',
        'current-context: fake',
        '',
      ].join('\n'),
    );
    return path;
  }

  /** Creates an object through the same path as POST (test setup). */
  create(
    obj: Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } },
  ): unknown {
    const def = this.#registry.all().find((d) => {
      const av = d.group === '' ? d.version : `${d.group}/${d.version}`;
      return av === obj.apiVersion && d.kind === obj.kind;
    });
    if (!def) throw new Error(`fake apiserver does not serve ${obj.apiVersion} ${obj.kind}`);
    return this.#handlers.create(
      this.#request(def, def.namespaced ? (obj.metadata.namespace ?? 'default') : undefined, undefined, obj),
    ).body;
  }

  compact(): void {
    this.store.compact();
  }

  expireWatches(): void {
    for (const w of [...this.#watches]) w.fail(Statuses.expired(this.store.compactedRevision, this.store.revision));
  }

  closeWatches(): void {
    for (const w of [...this.#watches]) w.close();
  }

  get openWatches(): number {
    return this.#watches.size;
  }

  /** The next `count` requests matching `match` fail this way. */
  failNext(count: number, failure: InjectedFailure, match: (r: SeenRequest) => boolean = () => true): void {
    for (let i = 0; i < count; i += 1) this.#failures.push({ failure, match });
  }

  clearFailures(): void {
    this.#failures.length = 0;
  }

  /** Stops accepting connections and drops every open one; the port stays reserved for comeUp(). */
  async goDown(): Promise<void> {
    this.closeWatches();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const s of this.#sockets) s.destroy();
    await closed;
  }

  async comeUp(): Promise<void> {
    this.#server = this.#makeServer();
    await this.#listen(this.#port);
  }

  async stop(): Promise<void> {
    await this.goDown();
  }

  #seed(): void {
    const nsDef = this.#registry.all().find((d) => d.kind === 'Namespace')!;
    for (const ns of this.opts.namespaces ?? ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      this.#handlers.create(this.#request(nsDef, undefined, undefined, { metadata: { name: ns } }));
    }
    const dir = this.opts.crdDir === undefined ? DEFAULT_CRD_DIR : this.opts.crdDir;
    if (dir === null) return;
    for (const file of readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort()) {
      for (const doc of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
        if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
        const crd = doc.toJS() as Record<string, unknown> | null;
        if (crd && crd.kind === 'CustomResourceDefinition')
          this.#handlers.create(this.#request(CRD_RESOURCE, undefined, undefined, crd));
      }
    }
  }

  #request(
    def: ResourceRequest['def'],
    namespace: string | undefined,
    name: string | undefined,
    body: unknown,
  ): ResourceRequest {
    return {
      def,
      namespace,
      name,
      query: new URLSearchParams(),
      body,
      contentType: 'application/json',
      accept: 'application/json',
    };
  }

  #makeServer(): Server {
    const server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) send(res, 500, Statuses.internal(String(err)));
        else res.destroy(err instanceof Error ? err : new Error(String(err)));
      });
    });
    server.on('connection', (s) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    return server;
  }

  #listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        const addr = this.#server.address();
        if (addr && typeof addr === 'object') this.#port = addr.port;
        resolve();
      });
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const seen = { method: req.method ?? 'GET', url: req.url ?? '/' };
    this.requests.push(seen);
    const i = this.#failures.findIndex((f) => f.match(seen));
    if (i >= 0) {
      const { failure } = this.#failures.splice(i, 1)[0]!;
      if ('drop' in failure) {
        req.socket.destroy();
        return;
      }
      if ('emptyStream' in failure) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end();
        return;
      }
      send(
        res,
        failure.status,
        failure.status === 503 ? Statuses.unavailable('injected failure') : Statuses.internal('injected failure'),
      );
      return;
    }
    const raw = await readBody(req);
    const url = new URL(seen.url, 'http://fake');
    try {
      const reply = this.#route(seen.method, url, req, raw, res);
      if (reply) send(res, reply.code, reply.body);
    } catch (err) {
      if (err instanceof StatusError) send(res, err.status.code, err.status);
      else throw err;
    }
  }

  /** Returns the reply, or undefined when the response is a watch stream already being written. */
  #route(method: string, url: URL, req: IncomingMessage, raw: string, res: ServerResponse): Reply | undefined {
    const segs = url.pathname.split('/').filter((s) => s !== '');
    const p = url.pathname.replace(/\/+$/, '');
    if (p === '/version') return { code: 200, body: VERSION_INFO };
    if (p === '/healthz' || p === '/readyz' || p === '/livez') return { code: 200, body: 'ok' };
    const all = this.#registry.all();
    if (p === '/openapi/v3') return { code: 200, body: openapiRoot(all) };
    if (p.startsWith('/openapi/v3/')) {
      const doc = openapiGroupVersion(all, p.slice('/openapi/v3/'.length));
      if (!doc) throw new StatusError(Statuses.unknownPath());
      return { code: 200, body: doc };
    }
    if (p === '/api') return { code: 200, body: apiVersions(`127.0.0.1:${this.#port}`) };
    if (p === '/api/v1')
      return {
        code: 200,
        body: apiResourceList(
          'v1',
          all.filter((d) => d.group === ''),
        ),
      };
    if (p === '/apis') return { code: 200, body: apiGroupList(all) };
    let rest: string[];
    let group: string;
    let version: string;
    if (segs[0] === 'api' && segs[1] === 'v1') {
      group = '';
      version = 'v1';
      rest = segs.slice(2);
    } else if (segs[0] === 'apis' && segs.length >= 2) {
      group = segs[1]!;
      const versions = [...new Set(all.filter((d) => d.group === group).map((d) => d.version))];
      if (versions.length === 0) throw new StatusError(Statuses.unknownPath());
      if (segs.length === 2) return { code: 200, body: apiGroup(group, versions) };
      version = segs[2]!;
      if (!versions.includes(version)) throw new StatusError(Statuses.unknownPath());
      if (segs.length === 3) {
        return {
          code: 200,
          body: apiResourceList(
            `${group}/${version}`,
            all.filter((d) => d.group === group && d.version === version),
          ),
        };
      }
      rest = segs.slice(3);
    } else throw new StatusError(Statuses.unknownPath());

    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3 && this.#registry.find(group, version, rest[2]!)?.namespaced) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const def = this.#registry.find(group, version, rest[0] ?? '');
    if (!def || rest.length > 3 || (rest.length === 3 && rest[2] !== 'status'))
      throw new StatusError(Statuses.unknownPath());
    if (def.namespaced && namespace === undefined && rest.length > 1) throw new StatusError(Statuses.unknownPath());
    const name = rest[1];
    let body: unknown;
    if (raw !== '') {
      try {
        body = JSON.parse(raw);
      } catch (err) {
        throw new StatusError(Statuses.badRequest(`invalid JSON body: ${(err as Error).message}`));
      }
    }
    const r: ResourceRequest = {
      def,
      namespace,
      name,
      query: url.searchParams,
      body,
      contentType: req.headers['content-type'] ?? 'application/json',
      accept: req.headers.accept ?? 'application/json',
    };
    const watch = url.searchParams.get('watch');
    switch (method) {
      case 'GET':
        if (name !== undefined) return this.#handlers.get(r);
        if (watch === 'true' || watch === '1') {
          const wopts = {
            bookmarkIntervalMs: this.opts.bookmarkIntervalMs ?? 1000,
            onBookmark: () => (this.bookmarksSent += 1),
          };
          const w = serveWatch(this.store, r, res, wopts, (x) => this.#watches.delete(x));
          this.#watches.add(w);
          return undefined;
        }
        return this.#handlers.list(r);
      case 'POST':
        if (name !== undefined || (def.namespaced && namespace === undefined))
          throw new StatusError(Statuses.methodNotAllowed());
        return this.#handlers.create(r);
      case 'PUT':
        if (name === undefined) throw new StatusError(Statuses.methodNotAllowed());
        return this.#handlers.update(r);
      case 'PATCH':
        if (name === undefined) throw new StatusError(Statuses.methodNotAllowed());
        return this.#handlers.patch(r);
      case 'DELETE':
        if (name === undefined) throw new StatusError(Statuses.methodNotAllowed());
        return this.#handlers.delete(r);
      default:
        throw new StatusError(Statuses.methodNotAllowed());
    }
  }
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(code, {
    'Content-Type': typeof body === 'string' ? 'text/plain' : 'application/json',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export type { Status };
