import type { KindId, KindInfo, Resource } from '../model/index.js';
import { ValidationError } from '../errors.js';
import { AlreadyExistsError, ConflictError, NotFoundError } from './types.js';
import {
  displayName,
  namespaceFor,
  sameContent,
  type ChangeType,
  type JournalEntry,
  type StoreContext,
} from './store-state.js';
import type { ChangeRow, ObjectRow, SqliteDb } from './sqlite-db.js';

/**
 * The versioned object table of the SQLite store: the same semantics as StoreState (store-state.ts)
 * for the memory backend — one revision counter, compare-and-swap on resourceVersion, a change per
 * write — but every mutation runs inside the caller's write transaction (SqliteDb.writeTx), so the
 * version check and the write it guards are one atomic step across processes. The change log keeps
 * the last `historyWindow` changes; older ones are deleted (compacted) in the same transaction.
 */
export interface Normalized {
  readonly info: KindInfo;
  readonly object: Resource;
}

export interface OwnerInfo {
  /** The manifest file that owns the object (undefined: API-created). */
  readonly source: string | undefined;
  /** The object as the file last applied it (for the three-way merge). */
  readonly applied: Resource | undefined;
}

export class ObjectTable {
  constructor(
    private readonly sql: SqliteDb,
    private readonly ctx: StoreContext,
    private readonly historyWindow: number,
  ) {}

  row(kind: KindId, name: string, namespace: string | undefined): ObjectRow | undefined {
    return this.sql.st.getObject.get(kind, namespaceFor(kind, namespace) ?? '', name) as ObjectRow | undefined;
  }

  get(kind: KindId, name: string, namespace: string | undefined): Resource | undefined {
    const r = this.row(kind, name, namespace);
    return r && (JSON.parse(r.body) as Resource);
  }

  /** Stored bodies (JSON) of one kind, optionally one namespace. */
  bodies(kind: KindId, namespace: string | undefined): string[] {
    const rows = (
      namespace === undefined ? this.sql.st.listKind.all(kind) : this.sql.st.listKindNs.all(kind, namespace)
    ) as {
      body: string;
    }[];
    return rows.map((r) => r.body);
  }

  /** The same, one at a time (a large list never holds every JSON text at once). */
  *iterateBodies(kind: KindId, namespace: string | undefined): Generator<string> {
    const it =
      namespace === undefined ? this.sql.st.listKind.iterate(kind) : this.sql.st.listKindNs.iterate(kind, namespace);
    for (const r of it) yield (r as { body: string }).body;
  }

  // ---- mutations: call inside SqliteDb.writeTx ----

  /** `n` is normalizeResource's result, computed before the transaction (validation holds no lock). */
  create(n: Normalized): JournalEntry {
    const { info, object } = n;
    const { name, namespace } = object.metadata;
    if (this.row(info.id, name, namespace)) throw new AlreadyExistsError(info.id, displayName(name, namespace));
    return this.put(info.id, object, undefined, undefined);
  }

  update(n: Normalized): JournalEntry {
    const { info, object } = n;
    const { name, namespace, resourceVersion } = object.metadata;
    if (!resourceVersion) {
      throw new ValidationError(info.kind, displayName(name, namespace), [
        { path: 'metadata.resourceVersion', message: 'required: update is compare-and-swap on it' },
      ]);
    }
    const current = this.row(info.id, name, namespace);
    if (!current) throw new NotFoundError(info.id, displayName(name, namespace));
    if (String(current.rev) !== resourceVersion) {
      throw new ConflictError(info.id, displayName(name, namespace), resourceVersion, String(current.rev));
    }
    return this.put(info.id, object, current, undefined);
  }

  delete(kind: KindId, name: string, namespace: string | undefined, expectedVersion?: string): JournalEntry {
    const ns = namespaceFor(kind, namespace);
    const current = this.row(kind, name, ns);
    if (!current) throw new NotFoundError(kind, displayName(name, ns));
    if (expectedVersion !== undefined && String(current.rev) !== expectedVersion) {
      throw new ConflictError(kind, displayName(name, ns), expectedVersion, String(current.rev));
    }
    return this.remove(kind, current);
  }

  /** Deletes a row already read in this transaction. */
  remove(kind: KindId, current: ObjectRow): JournalEntry {
    this.sql.st.deleteObject.run(current.kind, current.ns, current.name);
    const rev = this.#nextRevision();
    const prev = JSON.parse(current.body) as Resource;
    const object = { ...prev, metadata: { ...prev.metadata, resourceVersion: String(rev) } };
    return this.#log({ rev, type: 'deleted', kind, object });
  }

  /**
   * Creates or replaces an already validated object (no version check: the caller decided, e.g. a
   * manifest file's three-way merge). Unchanged content only records the owner. Returns the change,
   * or undefined when the content was unchanged.
   */
  putChecked(
    info: KindInfo,
    object: Resource,
    current: ObjectRow | undefined,
    owner: OwnerInfo,
  ): JournalEntry | undefined {
    if (current && sameContent(JSON.parse(current.body) as Resource, object)) {
      this.sql.st.setOwner.run(owner.source ?? null, ownerApplied(owner), current.kind, current.ns, current.name);
      return undefined;
    }
    return this.put(info.id, object, current, owner);
  }

  /**
   * Writes `object` at the next revision, keeping uid and creationTimestamp of `current`. `owner`
   * undefined keeps the current owner (an API write to a file's object stays the file's).
   */
  put(kind: KindId, object: Resource, current: ObjectRow | undefined, owner: OwnerInfo | undefined): JournalEntry {
    const rev = this.#nextRevision();
    const prev = current && (JSON.parse(current.body) as Resource);
    const stored: Resource = {
      ...object,
      metadata: {
        ...object.metadata,
        resourceVersion: String(rev),
        uid: prev?.metadata.uid ?? this.ctx.newUid(),
        creationTimestamp:
          prev?.metadata.creationTimestamp ??
          this.ctx
            .now()
            .toISOString()
            .replace(/\.\d+Z$/, 'Z'),
      },
    };
    const body = JSON.stringify(stored);
    const { name, namespace } = stored.metadata;
    const ns = namespace ?? '';
    if (current) {
      this.sql.st.updateObject.run(rev, body, kind, ns, name);
      if (owner) this.sql.st.setOwner.run(owner.source ?? null, ownerApplied(owner), kind, ns, name);
    } else {
      this.sql.st.insertObject.run(kind, ns, name, rev, body, owner?.source ?? null, ownerApplied(owner));
    }
    const type: ChangeType = prev ? 'modified' : 'added';
    return this.#log(
      { rev, type, kind, object: stored, ...(prev ? { prevLabels: prev.metadata.labels ?? {} } : {}) },
      body,
    );
  }

  /** The counter as read in this transaction (read once per write; #log writes it back). */
  #counter: { revision: number; compacted: number } | undefined;

  #nextRevision(): number {
    this.#counter = this.sql.counter();
    return this.#counter.revision + 1;
  }

  #log(entry: JournalEntry, body = JSON.stringify(entry.object)): JournalEntry {
    const { compacted } = this.#counter ?? this.sql.counter();
    this.#counter = undefined;
    const prevLabels = entry.prevLabels ? JSON.stringify(entry.prevLabels) : null;
    this.sql.st.insertChange.run(entry.rev, entry.type, entry.kind, body, prevLabels);
    const nextCompacted = Math.max(compacted, entry.rev - this.historyWindow);
    if (nextCompacted > compacted) this.sql.st.compact.run(nextCompacted);
    this.sql.st.setCounter.run(entry.rev, nextCompacted);
    return entry;
  }
}

function ownerApplied(owner: OwnerInfo | undefined): string | null {
  return owner?.applied ? JSON.stringify(owner.applied) : null;
}

export function entryOf(row: ChangeRow): JournalEntry {
  const object = JSON.parse(row.body) as Resource;
  return {
    rev: row.rev,
    type: row.type as ChangeType,
    kind: row.kind as KindId,
    object,
    ...(row.prev_labels !== null ? { prevLabels: JSON.parse(row.prev_labels) as Record<string, string> } : {}),
  };
}
