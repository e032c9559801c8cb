/**
 * Watch streams as kube-apiserver serves them: HTTP 200, chunked, one JSON event per line
 * (`{"type":"ADDED","object":{...}}`).
 *
 * - resourceVersion unset or "0": synthetic ADDED for every current object, then changes.
 * - resourceVersion=X: every change after X from history; X older than the retained history gives one
 *   ERROR event carrying a 410 Expired Status, then the stream ends (as the real server does).
 * - label/field selectors filter; an object that stops matching is sent as DELETED, one that starts
 *   matching as ADDED.
 * - allowWatchBookmarks=true: periodic BOOKMARK events carrying only the current resourceVersion.
 * - timeoutSeconds ends the stream cleanly.
 */
import type { ServerResponse } from 'node:http';
import type { FakeStore, StoreEvent, StoredObject } from './store.js';
import { resourceKey } from './store.js';
import type { ResourceDef } from './resources.js';
import { apiVersionOf, matches, parseSelectors } from './handlers.js';
import { Statuses, StatusError, type Status } from './status.js';

export interface WatchRequest {
  readonly def: ResourceDef;
  readonly namespace: string | undefined;
  readonly query: URLSearchParams;
}

export interface OpenWatch {
  /** Ends the stream cleanly, as a server-side timeout would. */
  close(): void;
  /** Sends an ERROR event with this Status, then ends the stream. */
  fail(status: Status): void;
}

type WireEvent =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK'; object: unknown }
  | { type: 'ERROR'; object: Status };

export function serveWatch(
  store: FakeStore,
  req: WatchRequest,
  res: ServerResponse,
  opts: { readonly bookmarkIntervalMs: number; readonly onBookmark: () => void },
  onClosed: (w: OpenWatch) => void,
): OpenWatch {
  const sel = parseSelectors(req.def, req.query); // throws StatusError before any byte is written
  const rvParam = req.query.get('resourceVersion');
  const from = rvParam === null || rvParam === '' || rvParam === '0' ? undefined : Number(rvParam);
  if (from !== undefined && !Number.isInteger(from)) {
    throw new StatusError(Statuses.badRequest(`invalid resource version: "${rvParam}"`));
  }
  const resource = resourceKey(req.def);
  const inScope = (o: StoredObject) =>
    req.namespace === undefined || o.metadata.namespace === req.namespace ? matches(sel, o) : false;

  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
  res.flushHeaders();
  let closed = false;
  const timers: NodeJS.Timeout[] = [];
  const write = (ev: WireEvent) => {
    if (!closed) res.write(`${JSON.stringify(ev)}\n`);
  };
  const handle: OpenWatch = {
    close: () => finish(),
    fail: (status) => {
      write({ type: 'ERROR', object: status });
      finish();
    },
  };
  let unsubscribe = () => {};
  function finish(): void {
    if (closed) return;
    closed = true;
    unsubscribe();
    for (const t of timers) clearTimeout(t);
    res.end();
    onClosed(handle);
  }
  res.on('close', finish);

  const deliver = (ev: StoreEvent) => {
    if (ev.resource !== resource) return;
    const was = ev.previous !== undefined && inScope(ev.previous);
    const now = ev.type !== 'DELETED' && inScope(ev.object);
    if (ev.type === 'DELETED') {
      if (was) write({ type: 'DELETED', object: ev.object });
    } else if (was && now) write({ type: 'MODIFIED', object: ev.object });
    else if (!was && now) write({ type: 'ADDED', object: ev.object });
    else if (was && !now) write({ type: 'DELETED', object: ev.object });
  };

  if (from === undefined) {
    for (const o of store.list(req.def, req.namespace)) if (inScope(o)) write({ type: 'ADDED', object: o });
  } else {
    const past = store.eventsAfter(resource, from);
    if (past === undefined) {
      handle.fail(Statuses.expired(from, store.compactedRevision));
      return handle;
    }
    for (const ev of past) deliver(ev);
  }
  unsubscribe = store.subscribe(deliver);

  if (req.query.get('allowWatchBookmarks') === 'true') {
    const tick = () => {
      opts.onBookmark();
      write({
        type: 'BOOKMARK',
        object: {
          kind: req.def.kind,
          apiVersion: apiVersionOf(req.def),
          metadata: { resourceVersion: String(store.revision) },
        },
      });
      timers[0] = setTimeout(tick, opts.bookmarkIntervalMs);
    };
    timers[0] = setTimeout(tick, opts.bookmarkIntervalMs);
  }
  const timeout = Number(req.query.get('timeoutSeconds') ?? '');
  if (Number.isFinite(timeout) && timeout > 0) timers[1] = setTimeout(finish, timeout * 1000);
  return handle;
}
