/**
 * One Datastore watch on the Kubernetes API: a list+watch loop in the manner of client-go's reflector.
 *
 *   no resourceVersion ("informer" mode)          resourceVersion given ("resume" mode)
 *   LIST → added… → in-sync                       WATCH from it → replayed changes → in-sync
 *        ↓                                                  ↓
 *   WATCH from the last seen version ◀──── stream ends (server timeout, dropped connection): re-WATCH
 *        │  410 Expired: relist, emit the difference  │  410 Expired: 'error' VersionExpiredError, stop
 *        │  5xx / unreachable / 404: back off, retry  │  (same)
 *        │  other 4xx: 'error', stop                   │
 *
 * The stream is read here (over KubeRestClient's KubeConfig-authenticated request) rather than with
 * client-node's `Watch`, which drops the Status body of a refused watch and silently skips unparsable
 * lines. BOOKMARK events only advance the version. In informer mode the loop keeps the objects it has
 * delivered, so a relist after 410 emits exactly what changed across the gap (deleted / added /
 * modified) and consumers converge without a restart.
 *
 * In resume mode the API has no "replay finished" marker. The loop lists once to learn the current
 * version R and the objects changed after the given version, and emits 'in-sync' as soon as it has
 * seen an event or bookmark at or after R, or — once every listed change has arrived — when the stream
 * has been quiet for `settleMs` (only deletions can remain unseen then; the API sends a replay at once).
 */
import type { ClientRequest, IncomingMessage } from 'node:http';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import { MargayError, type ValidationError } from '../errors.js';
import type { KindId, Resource } from '../model/index.js';
import { Backoff, type BackoffOptions } from './kubernetes-backoff.js';
import { type KubeRestClient, kindInfo, queryString, resourcePath, type ApiStatus } from './kubernetes-rest.js';
import {
  DatastoreUnavailableError,
  VersionExpiredError,
  type ListOptions,
  type ListResult,
  type WatchEvent,
  type WatchHandle,
  type WatchOptions,
} from './types.js';

export interface KubeWatchDeps {
  readonly client: KubeRestClient;
  readonly log: Logger;
  readonly backoff: BackoffOptions;
  /** Server-side watch timeout; each stream asks for a random value in [t, 2t). */
  readonly watchTimeoutSeconds: number;
  readonly settleMs: number;
  readonly list: (kind: KindId, opts: ListOptions) => Promise<ListResult>;
  /** Fills in apiVersion/kind and validates an object read from the API. */
  readonly read: (kind: KindId, obj: unknown) => ReadResult;
}

/** An object read from the API: valid, or the object as sent with why it is invalid. */
export type ReadResult =
  | { readonly ok: true; readonly object: Resource }
  | { readonly ok: false; readonly object: Resource; readonly error: ValidationError };

type StreamEnd =
  /** The server ended the stream; `early` if it sent nothing and lasted under a second. */
  | { readonly type: 'ended'; readonly early: boolean }
  | { readonly type: 'expired'; readonly message: string }
  | { readonly type: 'failed'; readonly error: MargayError; readonly fatal: boolean };

interface WireEvent {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  readonly object: Record<string, unknown>;
}

const WIRE_TYPES = new Set(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']);
const keyOf = (o: Resource): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const rvOf = (v: string | undefined): bigint => (v !== undefined && /^\d+$/.test(v) ? BigInt(v) : 0n);

export class KubeWatch implements WatchHandle {
  #stopped = false;
  #request: ClientRequest | undefined;
  #sleep: { timer: NodeJS.Timeout; wake: () => void } | undefined;
  #settle: NodeJS.Timeout | undefined;
  #lastRv = '';
  /** Resume mode: objects last seen invalid (the consumer was told they are gone). */
  readonly #invalid = new Set<string>();
  /** Informer mode: what the consumer has been told exists. */
  #known: Map<string, Resource> | undefined;
  /** Resume mode, until in-sync: the version to reach, and the highest listed change to see first. */
  #pendingSync: { target: bigint; mustSee: bigint } | undefined;
  readonly #backoff: Backoff;
  readonly #log: Logger;

  constructor(
    private readonly deps: KubeWatchDeps,
    private readonly kind: KindId,
    private readonly opts: WatchOptions,
    private readonly onEvent: (ev: WatchEvent) => void,
  ) {
    this.#backoff = new Backoff(deps.backoff);
    this.#log = deps.log.child({ watch: kind, ns: opts.namespace, selector: opts.labelSelector });
  }

  start(): this {
    this.#run().catch((err: unknown) => {
      this.#log.error({ err }, 'watch loop crashed');
      const error =
        err instanceof MargayError ? err : new DatastoreUnavailableError('watch loop crashed', { cause: err });
      this.#fail(error);
    });
    return this;
  }

  stop(): void {
    this.#stopped = true;
    this.#request?.destroy();
    if (this.#settle) clearTimeout(this.#settle);
    if (this.#sleep) {
      clearTimeout(this.#sleep.timer);
      this.#sleep.wake();
    }
  }

  async #run(): Promise<void> {
    if (this.opts.resourceVersion === undefined) {
      this.#known = new Map();
      if (!(await this.#relist())) return;
    } else {
      this.#lastRv = this.opts.resourceVersion;
      if (!(await this.#prepareResume())) return;
    }
    while (!this.#stopped) {
      const end = await this.#streamOnce();
      if (this.#stopped) return;
      if (end.type === 'ended' && !end.early) continue;
      if (end.type === 'ended') {
        // A server or proxy that closes watches at once must not make this a busy loop.
        const delay = this.#backoff.next();
        this.#log.warn({ retryInMs: delay, attempt: this.#backoff.attempt }, 'watch stream ended at once; retrying');
        await this.#pause(delay);
        continue;
      }
      if (end.type === 'expired') {
        if (this.#known === undefined) {
          this.#fail(
            new VersionExpiredError(`${this.kind} watch from resourceVersion ${this.#lastRv}: ${end.message}; relist`),
          );
          return;
        }
        this.#log.info({ resourceVersion: this.#lastRv }, 'watch version expired; relisting');
        if (!(await this.#relist())) return;
        continue;
      }
      if (end.fatal) {
        this.#fail(end.error);
        return;
      }
      const delay = this.#backoff.next();
      this.#log.warn({ err: end.error, retryInMs: delay, attempt: this.#backoff.attempt }, 'watch failed; retrying');
      await this.#pause(delay);
    }
  }

  /** Lists until it succeeds (backing off) or the watch stops; emits the difference. False if stopped. */
  async #relist(): Promise<boolean> {
    const first = this.#lastRv === '';
    for (;;) {
      if (this.#stopped) return false;
      try {
        const listed = await this.deps.list(this.kind, this.#listOpts());
        if (this.#stopped) return false;
        this.#backoff.reset();
        this.#applyList(listed.items);
        this.#lastRv = listed.resourceVersion;
        if (first) this.#emit({ type: 'in-sync', resourceVersion: listed.resourceVersion });
        return true;
      } catch (err) {
        if (!(err instanceof DatastoreUnavailableError)) {
          this.#fail(err instanceof MargayError ? err : new DatastoreUnavailableError('list failed', { cause: err }));
          return false;
        }
        const delay = this.#backoff.next();
        this.#log.warn({ err, retryInMs: delay, attempt: this.#backoff.attempt }, 'list failed; retrying');
        await this.#pause(delay);
      }
    }
  }

  #applyList(items: readonly Resource[]): void {
    const known = this.#known!;
    const seen = new Set<string>();
    const changes: WatchEvent[] = [];
    for (const o of items) {
      const k = keyOf(o);
      seen.add(k);
      const before = known.get(k);
      if (!before) changes.push({ type: 'added', object: o });
      else if (before.metadata.resourceVersion !== o.metadata.resourceVersion)
        changes.push({ type: 'modified', object: o });
      known.set(k, o);
    }
    for (const [k, o] of known) {
      if (seen.has(k)) continue;
      known.delete(k);
      changes.unshift({ type: 'deleted', object: o });
    }
    for (const ev of changes) this.#emit(ev);
  }

  /** Resume mode: learn the version to reach before declaring in-sync. False if stopped. */
  async #prepareResume(): Promise<boolean> {
    const from = rvOf(this.#lastRv);
    for (;;) {
      if (this.#stopped) return false;
      try {
        const listed = await this.deps.list(this.kind, this.#listOpts());
        const target = rvOf(listed.resourceVersion);
        const mustSee = listed.items.reduce((m, o) => {
          const v = rvOf(o.metadata.resourceVersion);
          return v > from && v > m ? v : m;
        }, 0n);
        this.#pendingSync = { target, mustSee };
        if (target <= from) this.#syncReached(from);
        return true;
      } catch (err) {
        if (!(err instanceof DatastoreUnavailableError)) {
          this.#fail(err instanceof MargayError ? err : new DatastoreUnavailableError('list failed', { cause: err }));
          return false;
        }
        const delay = this.#backoff.next();
        this.#log.warn({ err, retryInMs: delay }, 'list failed; retrying');
        await this.#pause(delay);
      }
    }
  }

  #syncReached(seen: bigint): void {
    const p = this.#pendingSync;
    if (!p) return;
    if (this.#settle) clearTimeout(this.#settle);
    this.#settle = undefined;
    if (seen >= p.target) {
      this.#pendingSync = undefined;
      this.#emit({ type: 'in-sync', resourceVersion: String(seen > p.target ? seen : p.target) });
    } else if (seen >= p.mustSee) {
      this.#settle = setTimeout(() => {
        this.#settle = undefined;
        if (!this.#pendingSync) return;
        this.#pendingSync = undefined;
        this.#emit({ type: 'in-sync', resourceVersion: String(p.target) });
      }, this.deps.settleMs);
    }
  }

  #listOpts(): ListOptions {
    return {
      ...(this.opts.namespace !== undefined ? { namespace: this.opts.namespace } : {}),
      ...(this.opts.labelSelector !== undefined ? { labelSelector: this.opts.labelSelector } : {}),
    };
  }

  /** One watch request, read until it ends. */
  async #streamOnce(): Promise<StreamEnd> {
    const t = this.deps.watchTimeoutSeconds;
    const path =
      resourcePath(kindInfo(this.kind), this.opts.namespace) +
      queryString({
        watch: 'true',
        resourceVersion: this.#lastRv,
        allowWatchBookmarks: 'true',
        timeoutSeconds: t + Math.floor(Math.random() * t),
        labelSelector: this.opts.labelSelector,
      });
    const client = this.deps.client;
    let res: IncomingMessage;
    try {
      res = await this.#open(path);
    } catch (err) {
      return { type: 'failed', error: err as MargayError, fatal: false };
    }
    if (res.statusCode !== 200) return this.#refused(res, path);
    if (this.#pendingSync) this.#syncReached(rvOf(this.#lastRv));
    const openedAt = Date.now();
    let received = false;
    return new Promise<StreamEnd>((resolve) => {
      let result: StreamEnd | undefined;
      const lines = createInterface({ input: res, crlfDelay: Infinity });
      lines.on('line', (line) => {
        if (line.trim() === '' || result !== undefined || this.#stopped) return;
        let ev: WireEvent;
        try {
          ev = JSON.parse(line) as WireEvent;
        } catch (err) {
          result = {
            type: 'failed',
            error: new DatastoreUnavailableError(`${client.server} sent a malformed watch event`, { cause: err }),
            fatal: false,
          };
          res.destroy();
          return;
        }
        const end = this.#onWire(ev);
        if (end) {
          result = end;
          res.destroy();
        } else if (!received) {
          received = true;
          this.#backoff.reset(); // the stream works: the next failure starts the back-off afresh
        }
      });
      // readline re-emits the response's errors (a dropped connection: 'aborted'); both are one failure.
      const onError = (err: Error) => {
        if (result === undefined && !this.#stopped)
          result = { type: 'failed', error: client.unreachable('GET', path, err), fatal: false };
      };
      res.on('error', onError);
      lines.on('error', onError);
      res.on('close', () => lines.close());
      lines.on('close', () => resolve(result ?? { type: 'ended', early: !received && Date.now() - openedAt < 1000 }));
    });
  }

  #open(path: string): Promise<IncomingMessage> {
    const client = this.deps.client;
    return client.requestOptions('GET').then(
      (opts) =>
        new Promise<IncomingMessage>((resolve, reject) => {
          const url = new URL(client.server + path);
          const req = client.rawRequest(url, {
            ...opts,
            headers: { ...(opts.headers as Record<string, string>), Accept: 'application/json' },
          });
          this.#request = req;
          // No bytes for far longer than the server's timeout: the connection is dead.
          req.setTimeout((this.deps.watchTimeoutSeconds * 2 + 30) * 1000, () =>
            req.destroy(new Error('watch connection idle')),
          );
          req.on('response', resolve);
          req.on('error', (err) => reject(client.unreachable('GET', path, err)));
          if (this.#stopped) req.destroy();
          req.end();
        }),
    );
  }

  async #refused(res: IncomingMessage, path: string): Promise<StreamEnd> {
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown = text; // a non-JSON refusal (a proxy's page): errorFor quotes its first bytes
    if ((res.headers['content-type'] ?? '').includes('json')) {
      try {
        body = JSON.parse(text);
      } catch (err) {
        const error = new DatastoreUnavailableError(`${this.deps.client.server} refused a watch with malformed JSON`, {
          cause: err,
        });
        return { type: 'failed', error, fatal: false };
      }
    }
    const status = res.statusCode ?? 0;
    if (status === 410) return { type: 'expired', message: (body as ApiStatus).message ?? 'Gone' };
    const error = this.deps.client.errorFor({ status, body }, this.kind, `(watch ${path})`);
    const retryable = status >= 500 || status === 429 || status === 404;
    return { type: 'failed', error, fatal: !retryable };
  }

  /** Handles one event; returns how the stream ends if this event ends it. */
  #onWire(ev: WireEvent): StreamEnd | undefined {
    if (
      typeof ev !== 'object' ||
      ev === null ||
      typeof ev.object !== 'object' ||
      ev.object === null ||
      !WIRE_TYPES.has(ev.type)
    ) {
      const error = new DatastoreUnavailableError(
        `${this.deps.client.server} sent a malformed watch event: ${JSON.stringify(ev).slice(0, 200)}`,
      );
      return { type: 'failed', error, fatal: false };
    }
    if (ev.type === 'ERROR') {
      const st = ev.object as ApiStatus;
      if (st.code === 410) return { type: 'expired', message: st.message ?? 'Expired' };
      return {
        type: 'failed',
        error: this.deps.client.errorFor({ status: st.code ?? 500, body: st }, this.kind, '(watch)'),
        fatal: false,
      };
    }
    const meta = (ev.object.metadata ?? {}) as { resourceVersion?: string };
    if (meta.resourceVersion) this.#lastRv = meta.resourceVersion;
    if (ev.type !== 'BOOKMARK') {
      let r: ReadResult;
      try {
        r = this.deps.read(this.kind, ev.object);
      } catch (err) {
        if (!(err instanceof MargayError)) throw err;
        return { type: 'failed', error: err, fatal: false }; // e.g. an object without metadata.name
      }
      this.#deliver(ev.type, r);
    }
    if (this.#pendingSync) this.#syncReached(rvOf(this.#lastRv));
    return undefined;
  }

  /**
   * Delivers one change. An invalid object counts as absent: reported, and if the consumer had it,
   * delivered as 'deleted'; when it becomes valid again it comes back as 'added'.
   */
  #deliver(type: 'ADDED' | 'MODIFIED' | 'DELETED', r: ReadResult): void {
    const key = keyOf(r.object);
    const had = this.#known ? this.#known.has(key) : !this.#invalid.has(key);
    // What a 'deleted' carries: the object as now sent when valid, else the last valid state the
    // consumer saw, stamped with the version of this change (versions only move forward).
    const known = this.#known?.get(key);
    const rv = r.object.metadata.resourceVersion;
    const last =
      r.ok || !known ? r.object : { ...known, metadata: { ...known.metadata, ...(rv ? { resourceVersion: rv } : {}) } };
    if (type === 'DELETED') {
      this.#known?.delete(key);
      this.#invalid.delete(key);
      if (had) this.#emit({ type: 'deleted', object: last });
      return;
    }
    if (!r.ok) {
      this.#log.warn(
        { err: r.error, name: r.object.metadata.name, ns: r.object.metadata.namespace },
        'invalid object treated as absent',
      );
      this.#known?.delete(key);
      this.#invalid.add(key);
      if (had && type === 'MODIFIED') this.#emit({ type: 'deleted', object: last });
      return;
    }
    this.#invalid.delete(key);
    this.#known?.set(key, r.object);
    this.#emit({ type: type === 'ADDED' || !had ? 'added' : 'modified', object: r.object });
  }

  #emit(ev: WatchEvent): void {
    if (!this.#stopped) this.onEvent(ev);
  }

  #fail(error: MargayError): void {
    this.#emit({ type: 'error', error });
    this.stop();
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.#stopped) return resolve();
      this.#sleep = {
        timer: setTimeout(() => {
          this.#sleep = undefined;
          resolve();
        }, ms),
        wake: resolve,
      };
    });
  }
}
