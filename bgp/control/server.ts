/**
 * HTTP/JSON over a unix socket (node:http). The socket is created mode 0600 in a directory we create;
 * a stale socket left by a dead daemon is replaced, a live one is refused.
 */
import { chmod, mkdir, stat, unlink } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { MargayError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { routeControlRequest, type ControlHandler } from './routes.js';

export class ControlSocketError extends MargayError {
  readonly code = 'MGY_BGP_CONTROL_SOCKET';
}

const MAX_BODY = 64 * 1024 * 1024;

async function isLiveSocket(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface ControlServer {
  readonly socketPath: string;
  close(): Promise<void>;
}

export async function startControlServer(
  socketPath: string,
  handler: ControlHandler,
  log: Logger,
): Promise<ControlServer> {
  await mkdir(dirname(socketPath), { recursive: true, mode: 0o755 });
  const existing = await stat(socketPath).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (existing) {
    if (!existing.isSocket()) throw new ControlSocketError(`${socketPath} exists and is not a socket`);
    if (await isLiveSocket(socketPath)) throw new ControlSocketError(`${socketPath} is in use by a running process`);
    await unlink(socketPath);
  }
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void serve(req, res);
  });
  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const c of req) {
        size += (c as Buffer).length;
        if (size > MAX_BODY) throw new ControlSocketError('request body too large');
        chunks.push(c as Buffer);
      }
      const r = await routeControlRequest(
        handler,
        req.method ?? 'GET',
        req.url ?? '/',
        Buffer.concat(chunks).toString('utf8'),
      );
      if (r.status >= 400)
        log.warn({ method: req.method, url: req.url, status: r.status, body: r.body }, 'control request failed');
      const out = JSON.stringify(r.body);
      res.writeHead(r.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
      res.end(out);
    } catch (err) {
      log.error({ err, method: req.method, url: req.url }, 'control request error');
      const code = err instanceof MargayError ? err.code : 'MGY_BGP_CONTROL_INTERNAL';
      const out = JSON.stringify({ error: (err as Error).message, code });
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(out);
    }
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(socketPath, 0o600);
  server.on('error', (err) => log.error({ err }, 'control server error'));
  log.info({ socket: socketPath }, 'control API listening');
  return {
    socketPath,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await unlink(socketPath).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    },
  };
}
