/**
 * The Kubernetes backend's REST layer: paths for Margay's kinds, one request function authenticated by
 * @kubernetes/client-node's KubeConfig (tokens, client certificates, exec plugins, proxies), and the
 * mapping of API Status failures onto the datastore's typed errors.
 *
 * Objects travel as plain JSON: the typed client APIs would turn timestamps into Date objects and drop
 * fields they do not know, and the datastore hands out exactly what the server stored.
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { MargayError, ValidationError } from '../errors.js';
import { KINDS, type KindId, type KindInfo } from '../model/index.js';
import {
  AlreadyExistsError,
  ConflictError,
  DatastoreUnavailableError,
  NotFoundError,
  VersionExpiredError,
} from './types.js';

/** The API server answered with a failure Margay does not retry (400, 401, 403, 405, 415, ...). */
export class KubernetesApiError extends MargayError {
  readonly code = 'MGY_KUBERNETES_API';
  constructor(
    readonly server: string,
    readonly httpStatus: number,
    readonly reason: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`kubernetes API ${server} answered ${httpStatus} ${reason}: ${message}`, options);
  }
}

/** The parts of a metav1.Status Margay reads. */
export interface ApiStatus {
  readonly kind?: string;
  readonly code?: number;
  readonly reason?: string;
  readonly message?: string;
  readonly details?: { readonly causes?: readonly { field?: string; message?: string }[] };
}

export interface ApiResponse {
  readonly status: number;
  readonly body: unknown;
}

/** `/api/v1/namespaces/ns/pods`, `/apis/margay.dev/v1/ippools/name`: the path of a collection or object. */
export function resourcePath(info: KindInfo, namespace?: string, name?: string): string {
  const root = info.group === '' ? `/api/${info.version}` : `/apis/${info.group}/${info.version}`;
  const ns = info.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const obj = name !== undefined ? `/${encodeURIComponent(name)}` : '';
  return `${root}${ns}/${info.plural}${obj}`;
}

export function kindInfo(kind: KindId): KindInfo {
  return KINDS[kind] as KindInfo;
}

export function queryString(q: Readonly<Record<string, string | number | boolean | undefined>>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined) p.set(k, String(v));
  const s = p.toString();
  return s === '' ? '' : `?${s}`;
}

export class KubeRestClient {
  readonly server: string;

  constructor(
    private readonly kc: KubeConfig,
    private readonly requestTimeoutMs: number,
  ) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new DatastoreUnavailableError('kubeconfig has no current cluster');
    this.server = cluster.server.replace(/\/+$/, '');
  }

  /** Options (agent, auth headers) for one request, from the kubeconfig's current context. */
  async requestOptions(method: string): Promise<RequestOptions> {
    const opts: RequestOptions & { headers: Record<string, string> } = { method, headers: {} };
    try {
      await this.kc.applyToHTTPSOptions(opts);
    } catch (err) {
      throw new DatastoreUnavailableError(`cannot prepare a request to ${this.server}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return opts;
  }

  /**
   * One request. HTTP failures come back as a response (callers map them with `errorFor`); failure to
   * reach the server at all throws DatastoreUnavailableError naming the server.
   */
  async send(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<ApiResponse> {
    const opts = await this.requestOptions(method);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = {
      ...(opts.headers as Record<string, string>),
      Accept: 'application/json',
      ...(payload !== undefined
        ? { 'Content-Type': contentType, 'Content-Length': String(Buffer.byteLength(payload)) }
        : {}),
    };
    const url = new URL(this.server + path);
    const doRequest = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<ApiResponse>((resolve, reject) => {
      const req = doRequest(url, { ...opts, headers, timeout: this.requestTimeoutMs }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => reject(this.unreachable(method, path, err)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          if ((res.headers['content-type'] ?? '').includes('json') && text !== '') {
            try {
              parsed = JSON.parse(text);
            } catch (err) {
              reject(
                new DatastoreUnavailableError(`${this.server} sent malformed JSON for ${method} ${path}`, {
                  cause: err,
                }),
              );
              return;
            }
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.requestTimeoutMs} ms`)));
      req.on('error', (err) => reject(this.unreachable(method, path, err)));
      req.end(payload);
    });
  }

  /** A raw request on the right transport (http or https) for streaming callers. */
  rawRequest(url: URL, opts: RequestOptions): ClientRequest {
    return url.protocol === 'https:' ? httpsRequest(url, opts) : httpRequest(url, opts);
  }

  unreachable(method: string, path: string, err: Error): DatastoreUnavailableError {
    const code = (err as NodeJS.ErrnoException).code;
    return new DatastoreUnavailableError(
      `kubernetes API server ${this.server} unreachable (${method} ${path}): ${code ? `${code} ` : ''}${err.message}`,
      { cause: err },
    );
  }

  /** The typed error for a failed response. */
  errorFor(res: ApiResponse, kind: KindId, name: string, expectedVersion?: string): MargayError {
    const st: ApiStatus = typeof res.body === 'object' && res.body !== null ? (res.body as ApiStatus) : {};
    const reason = st.reason ?? '';
    const message = st.message ?? (typeof res.body === 'string' ? res.body.slice(0, 200) : '');
    switch (res.status) {
      case 404:
        return new NotFoundError(kind, name);
      case 409:
        if (reason === 'AlreadyExists') return new AlreadyExistsError(kind, name);
        return new ConflictError(kind, name, expectedVersion, undefined, {
          cause: statusCause(res.status, reason, message),
        });
      case 410:
        return new VersionExpiredError(`${kind}: ${message || 'resource version expired'}`);
      case 422:
        return new ValidationError(
          kind,
          name,
          (st.details?.causes ?? [{ field: '', message }]).map((c) => ({
            path: c.field ?? '',
            message: c.message ?? '',
          })),
        );
      default:
        if (res.status >= 500 || res.status === 429) {
          return new DatastoreUnavailableError(
            `kubernetes API server ${this.server} answered ${res.status} ${reason}: ${message}`,
          );
        }
        return new KubernetesApiError(this.server, res.status, reason, message);
    }
  }
}

function statusCause(code: number, reason: string, message: string): Error {
  return new Error(`${code} ${reason}: ${message}`);
}
