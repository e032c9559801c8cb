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
import { z } from 'zod';
import { MargayError } from '../../src/errors.js';
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

const Cidr = z.union([z.cidrv4(), z.cidrv6()], { error: 'must be a CIDR like 10.0.0.0/24' });
const Community = z.string().regex(/^\d{1,5}:\d{1,5}$/, 'must be a community like 65000:100');
const AnnounceBody = z.strictObject({
  prefixes: z.array(Cidr).min(1).max(1_000_000),
  nextHop: z
    .string()
    .refine((v) => isIP(v) !== 0, 'must be an IP address')
    .optional(),
  communities: z.array(Community).optional(),
  largeCommunities: z.array(z.string().regex(/^\d+:\d+:\d+$/)).optional(),
  med: z.number().int().min(0).max(4_294_967_295).optional(),
  localPref: z.number().int().min(0).max(4_294_967_295).optional(),
  origin: z.enum(['igp', 'egp', 'incomplete']).optional(),
});
const WithdrawBody = z.strictObject({ prefixes: z.array(Cidr).min(1).max(1_000_000) });
const RefreshBody = z.strictObject({ peer: z.string().min(1), family: z.enum(['ipv4', 'ipv6']).default('ipv4') });
const RibParams = z.strictObject({
  prefix: Cidr.optional(),
  longer: z.enum(['true', 'false']).optional(),
  peer: z.string().optional(),
  family: z.enum(['ipv4', 'ipv6']).optional(),
  best: z.enum(['true', 'false']).optional(),
  limit: z.coerce.number().int().min(0).max(10_000_000).optional(),
  rejected: z.enum(['true', 'false']).optional(),
});

function bad(error: string): ControlResponse {
  return { status: 400, body: { error, code: 'MGY_BGP_CONTROL_BAD_REQUEST' } };
}

function issuesText(e: z.ZodError): string {
  return e.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
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
        const p = RibParams.safeParse(Object.fromEntries(u.searchParams));
        if (!p.success) return bad(issuesText(p.error));
        const q: RibQuery = {
          ...(p.data.prefix !== undefined && { prefix: p.data.prefix }),
          ...(p.data.longer !== undefined && { longer: p.data.longer === 'true' }),
          ...(p.data.peer !== undefined && { peer: p.data.peer }),
          ...(p.data.family !== undefined && { family: p.data.family }),
          ...(p.data.best !== undefined && { bestOnly: p.data.best === 'true' }),
          ...(p.data.limit !== undefined && { limit: p.data.limit }),
          ...(p.data.rejected !== undefined && { rejected: p.data.rejected === 'true' }),
        };
        return { status: 200, body: h.rib(q) };
      }
      case 'POST /announce': {
        const j = parseJson(body);
        if (!j.ok) return bad('body is not JSON');
        const p = AnnounceBody.safeParse(j.value);
        if (!p.success) return bad(issuesText(p.error));
        return { status: 200, body: h.announce(p.data) };
      }
      case 'POST /withdraw': {
        const j = parseJson(body);
        if (!j.ok) return bad('body is not JSON');
        const p = WithdrawBody.safeParse(j.value);
        if (!p.success) return bad(issuesText(p.error));
        return { status: 200, body: h.withdraw(p.data.prefixes) };
      }
      case 'POST /refresh': {
        const j = parseJson(body);
        if (!j.ok) return bad('body is not JSON');
        const p = RefreshBody.safeParse(j.value);
        if (!p.success) return bad(issuesText(p.error));
        return { status: 200, body: h.refresh(p.data.peer, p.data.family) };
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
