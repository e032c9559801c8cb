import type { KindId, Resource } from '../model/index.js';
import { MargayError } from '../errors.js';

/**
 * The one datastore interface. Three backends implement it (memory, file:<dir>, kubernetes) and pass
 * one shared contract suite (src/datastore/contract.ts).
 *
 * Versions: every stored object carries metadata.resourceVersion, an opaque string. A list returns the
 * collection's version; a watch started from that version sees every change after it, in order. A
 * version too old to resume from gives a VersionExpiredError (Kubernetes' 410 Gone): relist.
 * update() is compare-and-swap: it succeeds only if the object's stored resourceVersion equals the one
 * given, else ConflictError (409).
 */
export interface ListOptions {
  readonly namespace?: string;
  /** Kubernetes label selector syntax: `a=b,c!=d,e in (f,g),!h`. */
  readonly labelSelector?: string;
}

export interface ListResult {
  readonly items: Resource[];
  /** Collection version: pass it to watch() to see every change after this list. */
  readonly resourceVersion: string;
}

export type WatchEvent =
  | { readonly type: 'added' | 'modified' | 'deleted'; readonly object: Resource }
  /** Everything that existed when the watch started has been delivered: the consumer is in sync. */
  | { readonly type: 'in-sync'; readonly resourceVersion: string }
  /** The watch failed for good (e.g. version expired); the consumer must relist. No more events follow. */
  | { readonly type: 'error'; readonly error: MargayError };

export interface WatchOptions extends ListOptions {
  /**
   * Resume after this version: only changes after it are delivered, then 'in-sync' at once.
   * Without it the watch first delivers every existing object as 'added', then 'in-sync', then changes.
   */
  readonly resourceVersion?: string;
}

export interface WatchHandle {
  stop(): void;
}

export interface DeleteOptions {
  /** Delete only if the stored object still has this version (precondition), else ConflictError. */
  readonly resourceVersion?: string;
}

/** Whether a backend can read its storage at all (file backend: the database file is there and readable). */
export interface DatastoreStatus {
  readonly readable: boolean;
  /** Why not, when not readable. */
  readonly reason?: string;
}

export interface Datastore {
  list(kind: KindId, opts?: ListOptions): Promise<ListResult>;
  get(kind: KindId, name: string, namespace?: string): Promise<Resource | undefined>;
  /** Fails with AlreadyExistsError if it exists. Returns the stored object (with its version). */
  create(obj: Resource): Promise<Resource>;
  /**
   * Optional (memory and file backends; the Kubernetes API has no multi-object write): creates every
   * object in one atomic write, all of them or none. If one exists already (or is given twice),
   * AlreadyExistsError naming it; if one is invalid, ValidationError; either way nothing is written.
   * Watchers see one change per object, in the order given, at consecutive versions. Returns the
   * stored objects in that order.
   */
  createAll?(objs: readonly Resource[]): Promise<Resource[]>;
  /**
   * Compare-and-swap on metadata.resourceVersion (required: without it, ValidationError on
   * metadata.resourceVersion). ConflictError (with both versions) / NotFoundError.
   */
  update(obj: Resource): Promise<Resource>;
  /** NotFoundError if absent; ConflictError if a precondition version does not match. */
  delete(kind: KindId, name: string, namespace?: string, opts?: DeleteOptions): Promise<void>;
  watch(kind: KindId, opts: WatchOptions, onEvent: (ev: WatchEvent) => void): WatchHandle;
  close(): Promise<void>;
  /**
   * Optional (file backend): calls `cb` now and whenever the storage becomes unreadable or readable
   * again (e.g. margay-node's /readiness). Returns an unsubscribe function.
   */
  onStatus?(cb: (status: DatastoreStatus) => void): () => void;
}

export class ConflictError extends MargayError {
  readonly code = 'MGY_DATASTORE_CONFLICT';
  constructor(
    readonly kind: KindId,
    readonly objectName: string,
    readonly expectedVersion: string | undefined,
    readonly actualVersion: string | undefined,
    options?: ErrorOptions,
  ) {
    super(
      `conflict updating ${kind} ${objectName}: expected resourceVersion ${expectedVersion ?? '(none)'}, ` +
        `stored ${actualVersion ?? '(none)'}`,
      options,
    );
  }
}

export class NotFoundError extends MargayError {
  readonly code = 'MGY_DATASTORE_NOT_FOUND';
  constructor(
    readonly kind: KindId,
    readonly objectName: string,
    options?: ErrorOptions,
  ) {
    super(`${kind} ${objectName} not found`, options);
  }
}

export class AlreadyExistsError extends MargayError {
  readonly code = 'MGY_DATASTORE_ALREADY_EXISTS';
  constructor(
    readonly kind: KindId,
    readonly objectName: string,
    options?: ErrorOptions,
  ) {
    super(`${kind} ${objectName} already exists`, options);
  }
}

/** The version a watch asked to resume from is too old (Kubernetes 410 Gone): relist. */
export class VersionExpiredError extends MargayError {
  readonly code = 'MGY_DATASTORE_VERSION_EXPIRED';
}

/** The backend cannot be reached or answered with an unexpected error. Retryable. */
export class DatastoreUnavailableError extends MargayError {
  readonly code = 'MGY_DATASTORE_UNAVAILABLE';
}
