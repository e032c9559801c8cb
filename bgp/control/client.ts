/**
 * Client side of the control API (margayctl bgp, tests). node:http is imported on first use: loading it
 * pulls in much of Node's networking stack, which margayctl commands that never call the daemon must
 * not pay for at start-up (docs/startup.md).
 */
import { MargayError } from '../../src/errors.js';
import type { AnnounceRequest, PeerStatusView, RibQuery, RibQueryResult } from '../speaker/index.js';

export class ControlClientError extends MargayError {
  readonly code = 'MGY_BGP_CONTROL_CLIENT';
  constructor(
    message: string,
    readonly status?: number,
    readonly remoteCode?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export const DEFAULT_CONTROL_SOCKET = '/run/margay/bgpd.sock';

export async function controlRequest<T>(
  socketPath: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<T> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const { request } = await import('node:http');
  return new Promise<T>((resolve, reject) => {
    const req = request(
      {
        socketPath,
        method,
        path,
        headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) =>
          reject(new ControlClientError(`reading response: ${err.message}`, undefined, undefined, { cause: err })),
        );
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch (err) {
            reject(
              new ControlClientError(
                `bad response from ${socketPath}: ${text.slice(0, 200)}`,
                res.statusCode,
                undefined,
                { cause: err },
              ),
            );
            return;
          }
          if ((res.statusCode ?? 500) >= 400) {
            const e = json as { error?: string; code?: string };
            reject(new ControlClientError(e.error ?? `HTTP ${res.statusCode}`, res.statusCode, e.code));
          } else resolve(json as T);
        });
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      const hint =
        err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? ' (is margay-bgpd running? use --socket PATH)' : '';
      reject(
        new ControlClientError(`cannot reach ${socketPath}: ${err.message}${hint}`, undefined, undefined, {
          cause: err,
        }),
      );
    });
    if (payload) req.write(payload);
    req.end();
  });
}

export class ControlClient {
  constructor(readonly socketPath: string = DEFAULT_CONTROL_SOCKET) {}
  async peers(): Promise<readonly PeerStatusView[]> {
    return (await controlRequest<{ peers: PeerStatusView[] }>(this.socketPath, 'GET', '/peers')).peers;
  }
  async rib(q: RibQuery = {}): Promise<RibQueryResult> {
    const p = new URLSearchParams();
    if (q.prefix !== undefined) p.set('prefix', q.prefix);
    if (q.longer !== undefined) p.set('longer', String(q.longer));
    if (q.peer !== undefined) p.set('peer', q.peer);
    if (q.family !== undefined) p.set('family', q.family);
    if (q.bestOnly !== undefined) p.set('best', String(q.bestOnly));
    if (q.limit !== undefined) p.set('limit', String(q.limit));
    if (q.rejected !== undefined) p.set('rejected', String(q.rejected));
    const qs = p.toString();
    return controlRequest<RibQueryResult>(this.socketPath, 'GET', `/rib${qs ? `?${qs}` : ''}`);
  }
  async announce(req: AnnounceRequest): Promise<{ announced: number }> {
    return controlRequest(this.socketPath, 'POST', '/announce', req);
  }
  async withdraw(prefixes: readonly string[]): Promise<{ withdrawn: number }> {
    return controlRequest(this.socketPath, 'POST', '/withdraw', { prefixes });
  }
  async refresh(peer: string, family: 'ipv4' | 'ipv6' = 'ipv4'): Promise<{ sent: boolean }> {
    return controlRequest(this.socketPath, 'POST', '/refresh', { peer, family });
  }
  async reload(): Promise<{ reloaded: boolean; error?: string }> {
    return controlRequest(this.socketPath, 'POST', '/reload');
  }
}
