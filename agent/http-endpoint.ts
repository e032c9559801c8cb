/**
 * One HTTP listener on the service lifecycle (src/runtime Lifecycle), shared by the health server
 * (health.ts) and the metrics server (metrics.ts), which only supply a request handler.
 *
 * - start() listens (port 0: an ephemeral port, see `port`); a failure (EADDRINUSE, ...) rejects.
 * - Each request is tracked work. stop() refuses new requests (503, `connection: close`), waits for
 *   the ones in flight — at most `drainMs`, after which their connections are cut — closes the
 *   listener and idle keep-alive connections. Idempotent; stop() before start() just marks it stopped.
 * - A handler that throws or rejects is answered 500 (or its connection is cut if headers went out),
 *   and logged: one bad request never takes the listener down.
 * - node:http loads at the first connection (lazy-http.ts); the port is bound at start() as before.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvariantError } from '../src/errors.js';
import { LazyHttpServer } from './lazy-http.js';
import { Lifecycle, type Service, type ServiceState } from '../src/runtime/index.js';
import type { Logger } from '../src/log.js';

export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface HttpEndpointOptions {
  readonly port: number;
  readonly host: string;
  /** How long stop() waits for requests in flight before cutting their connections (default 5 s). */
  readonly drainMs?: number;
}

export class HttpEndpoint implements Service {
  readonly #life: Lifecycle;
  readonly #server: LazyHttpServer;
  #port: number | undefined;
  #stopping: Promise<void> | undefined;

  constructor(
    readonly name: string,
    private readonly opts: HttpEndpointOptions,
    handler: HttpHandler,
    private readonly log: Logger,
  ) {
    this.#life = new Lifecycle(name);
    this.#server = new LazyHttpServer((create) => create((req, res) => this.#serve(req, res, handler)), log);
  }

  /** The bound port once started (the actual one when asked for port 0). */
  get port(): number | undefined {
    return this.#port;
  }

  get state(): ServiceState {
    return this.#life.state;
  }

  /** Requests being answered now (stop() waits for them). */
  get inFlight(): number {
    return this.#life.inFlight;
  }

  start(): Promise<void> {
    return this.#life.start(async () => {
      const server = this.#server.listener;
      await new Promise<void>((resolve, reject) => {
        const failed = (err: Error): void => reject(err);
        server.once('error', failed);
        server.listen(this.opts.port, this.opts.host, () => {
          server.off('error', failed);
          resolve();
        });
      });
      server.on('error', (err) => this.log.error({ err }, `${this.name} listener failed`));
      const addr = server.address();
      this.#port = typeof addr === 'object' && addr !== null ? addr.port : this.opts.port;
    });
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const server = this.#server;
    // Requests still running after drainMs get their connections cut, so a stuck client cannot hold
    // SIGTERM up; cutting them ends their responses, which settles the tracked work.
    const cut = setTimeout(() => server.http?.closeAllConnections(), this.opts.drainMs ?? 5000);
    cut.unref();
    try {
      await this.#life.stop(async () => {
        if (!server.listener.listening) return;
        await new Promise<void>((resolve) => server.close(resolve));
      });
    } finally {
      clearTimeout(cut);
    }
  }

  #serve(req: IncomingMessage, res: ServerResponse, handler: HttpHandler): void {
    if (!this.#life.accepting) {
      res.writeHead(503, { connection: 'close', 'content-type': 'text/plain' }).end(`${this.name} stopping\n`);
      return;
    }
    const answered = new Promise<void>((resolve) => res.once('close', resolve));
    void this.#life.track(answered);
    const failed = (err: unknown): void => {
      this.log.warn({ err, url: req.url }, `${this.name} request failed`);
      if (res.headersSent) res.destroy();
      else res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error\n');
    };
    try {
      const r = handler(req, res);
      if (r instanceof Promise) r.catch(failed);
    } catch (err) {
      failed(err);
    }
  }
}

/**
 * The one port of a one-shot service (health, metrics): listen() once — a second call is a bug —, stop()
 * idempotent, and a stop() that came first makes a later listen() close its port at once.
 */
export class EndpointSlot {
  #endpoint: HttpEndpoint | undefined;
  #stopped = false;

  /** `what` names the service in the error a second listen() throws. */
  constructor(private readonly what: string) {}

  /** Binds `name`'s endpoint on host:port (port 0: ephemeral) with `handler`; returns the bound port. */
  async listen(name: string, port: number, host: string, handler: HttpHandler, log: Logger): Promise<number> {
    if (this.#endpoint !== undefined)
      throw new InvariantError(`${this.what} already listening on ${this.#endpoint.port}`);
    const endpoint = new HttpEndpoint(name, { port, host }, handler, log);
    this.#endpoint = endpoint;
    if (this.#stopped) await endpoint.stop();
    await endpoint.start();
    return endpoint.port!;
  }

  /** Stops answering: waits for requests in flight (bounded), then closes the port. Idempotent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#endpoint?.stop();
  }
}
