/**
 * The control API's routing, pure: (method, url, body) → (status, JSON). The HTTP shell in server.ts
 * only moves bytes. Endpoints:
 *   GET  /peers                                   → { peers: PeerStatusView[] }
 *   GET  /rib?prefix=&longer=&peer=&family=&best=&limit=&rejected=  → RibQueryResult
 *   POST /announce  { prefixes, nextHop?, communities?, largeCommunities?, med?, localPref?, origin? }
 *   POST /withdraw  { prefixes }
 *   POST /reload                                  → { reloaded, error? }
 *   POST /refresh   { peer, family? }             → { sent }  (ROUTE-REFRESH to the peer)
 * Errors are { error, code } with 400 (bad request), 404, 405 or 500.
 */
import { isIP } from 'node:net';
import * as v from 'valibot';
import { MargayError } from '../../src/errors.js';
import { formatIssues, isCidr, issueMessage, plainIssues, strictObject } from '../schema.js';
import type { AnnounceRequest, PeerStatusView, RibQuery, RibQueryResult } from '../speaker/index.js';

export interface ControlHandler {
  peers(): readonly PeerStatusView[];
  rib(q: RibQuery): RibQueryResult;
  announce(req: AnnounceRequest): { readonly announced: number };
  withdraw(prefixes: readonly string[]): { readonly withdrawn: number };
  reload(): Promise<{ readonly reloaded: boolean; readonly error?: string }>;
  /** Send ROUTE-REFRESH to an Established peer; false when it is not up or did not negotiate it. */
  refresh(peer: string, family: 'ipv4' | 'ipv6'): { readonly sent: boolean };
}

export interface ControlResponse {
  readonly status: number;
  readonly body: unknown;
}

const CIDR = 'must be a CIDR like 10.0.0.0/24';
const Cidr = v.pipe(v.string(CIDR), v.check(isCidr, CIDR));
const Community = v.pipe(v.string(), v.regex(/^\d{1,5}:\d{1,5}$/, 'must be a community like 65000:100'));
/** Bad prefixes named one by one before the rest are only counted. */
const LISTED_PREFIXES = 10;
/**
 * Up to a million prefixes: checked in one pass that names the first bad ones and counts the rest,
 * so a hostile body of a million bad entries costs one error string, not a million issue objects.
 */
const Prefixes = v.pipe(
  v.array(v.unknown()),
  v.minLength(1),
  v.maxLength(1_000_000),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const input = dataset.value;
    let bad = 0;
    for (let i = 0; i < input.length; i++) {
      const p = input[i];
      if (typeof p === 'string' && isCidr(p)) continue;
      if (++bad <= LISTED_PREFIXES) {
        addIssue({ message: CIDR, path: [{ type: 'array', origin: 'value', input, key: i, value: p }] });
      }
    }
    if (bad > LISTED_PREFIXES) addIssue({ message: `${bad - LISTED_PREFIXES} more are not CIDRs` });
  }),
  v.transform((xs) => xs as string[]), // every item was checked to be a CIDR string above
);
const Family = v.picklist(['ipv4', 'ipv6']);
const Flag = v.optional(v.picklist(['true', 'false']));
const AnnounceBody = strictObject({
  prefixes: Prefixes,
  nextHop: v.optional(
    v.pipe(
      v.string(),
      v.check((s) => isIP(s) !== 0, 'must be an IP address'),
    ),
  ),
  communities: v.optional(v.array(Community)),
  largeCommunities: v.optional(
    v.array(v.pipe(v.string(), v.regex(/^\d+:\d+:\d+$/, 'must be a large community like 65000:1:2'))),
  ),
  med: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(4_294_967_295))),
  localPref: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(4_294_967_295))),
  origin: v.optional(v.picklist(['igp', 'egp', 'incomplete'])),
});
const WithdrawBody = strictObject({ prefixes: Prefixes });
const RefreshBody = strictObject({ peer: v.pipe(v.string(), v.minLength(1)), family: v.optional(Family, 'ipv4') });
const RibParams = strictObject({
  prefix: v.optional(Cidr),
  longer: Flag,
  peer: v.optional(v.string()),
  family: v.optional(Family),
  best: Flag,
  // A query string: the number as Number() reads it (as before: '' is 0, '1e3' is 1000).
  limit: v.optional(
    v.pipe(v.string(), v.transform(Number), v.number(), v.integer(), v.minValue(0), v.maxValue(10_000_000)),
  ),
  rejected: Flag,
});

function bad(error: string): ControlResponse {
  return { status: 400, body: { error, code: 'MGY_BGP_CONTROL_BAD_REQUEST' } };
}

/** Validates a body or query: the value, or a 400 naming each bad field (`prefixes.0: must be a CIDR…`). */
function parseRequest<S extends v.GenericSchema>(
  schema: S,
  input: unknown,
): { ok: true; value: v.InferOutput<S> } | { ok: false; res: ControlResponse } {
  const r = v.safeParse(schema, input, { message: issueMessage });
  return r.success
    ? { ok: true, value: r.output }
    : { ok: false, res: bad(formatIssues(plainIssues(r.issues), 'dots', '(body)')) };
}

function parseJson(body: string): { ok: true; value: unknown } | { ok: false } {
  if (body.trim() === '') return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(body) as unknown };
  } catch {
    // Converted to a typed 400 response by the caller: not swallowed.
    return { ok: false };
  }
}

export async function routeControlRequest(
  h: ControlHandler,
  method: string,
  url: string,
  body: string,
): Promise<ControlResponse> {
  const u = new URL(url, 'http://margay');
  const key = `${method} ${u.pathname}`;
  try {
    switch (key) {
      case 'GET /peers':
        return { status: 200, body: { peers: h.peers() } };
      case 'GET /rib': {
        const p = parseRequest(RibParams, Object.fromEntries(u.searchParams));
        if (!p.ok) return p.res;
        const d = p.value;
        const q: RibQuery = {
          ...(d.prefix !== undefined && { prefix: d.prefix }),
          ...(d.longer !== undefined && { longer: d.longer === 'true' }),
          ...(d.peer !== undefined && { peer: d.peer }),
          ...(d.family !== undefined && { family: d.family }),
          ...(d.best !== undefined && { bestOnly: d.best === 'true' }),
          ...(d.limit !== undefined && { limit: d.limit }),
          ...(d.rejected !== undefined && { rejected: d.rejected === 'true' }),
        };
        return { status: 200, body: h.rib(q) };
      }
      case 'POST /announce': {
        const j = parseJson(body);
        if (!j.ok) return bad('body is not JSON');
        const p = parseRequest(AnnounceBody, j.value);
        if (!p.ok) return p.res;
        return { status: 200, body: h.announce(p.value) };
      }
      case 'POST /withdraw': {
        const j = parseJson(body);
        if (!j.ok) return bad('body is not JSON');
        const p = parseRequest(WithdrawBody, j.value);
        if (!p.ok) return p.res;
        return { status: 200, body: h.withdraw(p.value.prefixes) };
      }
      case 'POST /refresh': {
        const j = parseJson(body);
        if (!j.ok) return bad('body is not JSON');
        const p = parseRequest(RefreshBody, j.value);
        if (!p.ok) return p.res;
        return { status: 200, body: h.refresh(p.value.peer, p.value.family) };
      }
      case 'POST /reload':
        return { status: 200, body: await h.reload() };
      default: {
        const known = ['/peers', '/rib', '/announce', '/withdraw', '/reload', '/refresh'].includes(u.pathname);
        return known
          ? { status: 405, body: { error: `${method} not allowed on ${u.pathname}`, code: 'MGY_BGP_CONTROL_METHOD' } }
          : { status: 404, body: { error: `no such endpoint ${u.pathname}`, code: 'MGY_BGP_CONTROL_NOT_FOUND' } };
      }
    }
  } catch (err) {
    // A handler error is reported to the client with its stable code; the server also logs it.
    if (err instanceof MargayError) return { status: 400, body: { error: err.message, code: err.code } };
    throw err;
  }
}
