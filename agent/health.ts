import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';

/**
 * Liveness and readiness over HTTP, like Felix's health port: GET /liveness is 200 while the process
 * runs its event loop; GET /readiness is 200 only when every registered reporter says ready (503 and
 * the names of those that are not, otherwise). Binds to loopback by default (kubelet probes via
 * hostNetwork reach it there).
 */
export class HealthServer {
  readonly #ready = new Map<string, boolean>();
  readonly #checks = new Map<string, () => boolean>();
  #server: Server | undefined;

  constructor(private readonly log: Logger) {}

  setReady(reporter: string, ready: boolean): void {
    if (this.#ready.get(reporter) !== ready) this.log.info({ reporter, ready }, 'readiness changed');
    this.#ready.set(reporter, ready);
  }

  /** A reporter evaluated at each /readiness request (state that is cheap to read live). */
  setCheck(reporter: string, check: () => boolean): void {
    this.#checks.set(reporter, check);
  }

  notReady(): string[] {
    const out = [...this.#ready].filter(([, r]) => !r).map(([n]) => n);
    for (const [n, check] of this.#checks) if (!check()) out.push(n);
    return out;
  }

  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    const server = createServer((req, res) => {
      if (req.method !== 'GET') {
        res.writeHead(405).end();
        return;
      }
      if (req.url === '/liveness') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      } else if (req.url === '/readiness') {
        const waiting = this.notReady();
        res.writeHead(waiting.length ? 503 : 200, { 'content-type': 'text/plain' });
        res.end(waiting.length ? `not ready: ${waiting.join(', ')}\n` : 'ready\n');
      } else {
        res.writeHead(404).end();
      }
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const addr = server.address();
    return typeof addr === 'object' && addr ? addr.port : port;
  }

  async close(): Promise<void> {
    const s = this.#server;
    if (!s) return;
    this.#server = undefined;
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
