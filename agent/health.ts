import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../src/log.js';
import type { StoppableService } from '../src/runtime/index.js';
import { EndpointSlot } from './http-endpoint.js';

/**
 * Liveness and readiness over HTTP, like Felix's health port: GET /liveness is 200 while the process
 * runs its event loop; GET /readiness is 200 only when every registered reporter says ready (503 and
 * the names of those that are not, otherwise). Binds to loopback by default (kubelet probes via
 * hostNetwork reach it there). The listener is an HttpEndpoint (http-endpoint.ts): the service
 * lifecycle, shared with the metrics server.
 */
export class HealthServer implements StoppableService {
  readonly name = 'health';
  readonly #ready = new Map<string, boolean>();
  readonly #checks = new Map<string, () => boolean>();
  readonly #slot = new EndpointSlot('health server');

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

  /**
   * Serves GET /liveness and /readiness on host:port (port 0: ephemeral); returns the bound port.
   * One-shot, like every service: after stop() make a new HealthServer.
   */
  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    return this.#slot.listen(this.name, port, host, (req, res) => this.#handle(req, res), this.log);
  }

  /** Stops answering: waits for requests in flight (bounded), then closes the port. Idempotent. */
  async stop(): Promise<void> {
    await this.#slot.stop();
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
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
  }
}
