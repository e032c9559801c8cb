/**
 * An HTTP server whose port (or unix socket) is a node:net listener, bound at once exactly as the HTTP
 * server's own listen would bind it, while node:http itself — ≈ 2–3 ms of CPU to load and build a
 * server once node:net and the streams are loaded (≈ 7 ms in a bare process), on every agent's
 * start before its first routes — loads at the first connection. Each
 * connection is handed to the HTTP server with `emit('connection')`, the documented way to give it a
 * socket; its connection tracking (request and headers timeouts, idle closing) is started as its own
 * listen would start it. Used by the health and metrics ports (http-endpoint.ts) and the CNI socket.
 */
import type { createServer, Server } from 'node:http';
import { createServer as createListener, type Server as Listener, type Socket } from 'node:net';
import type { Logger } from '../src/log.js';

export type HttpServerFactory = (create: typeof createServer) => Server;

export class LazyHttpServer {
  /** Bind and close this one (listen, address, listening); requests go to `build`'s server. */
  readonly listener: Listener;
  #http: Server | undefined;

  constructor(
    private readonly build: HttpServerFactory,
    private readonly log: Logger,
  ) {
    this.listener = createListener((socket) => this.#accept(socket));
  }

  /** The HTTP server, once a connection made it. */
  get http(): Server | undefined {
    return this.#http;
  }

  /** Closes the listener (`done` once every connection has ended) and the HTTP server's idle connections. */
  close(done: () => void): void {
    this.listener.close(() => done());
    this.#http?.close(); // closes its idle keep-alive connections and stops its timeout checks
  }

  #accept(socket: Socket): void {
    let http = this.#http;
    if (http === undefined) {
      try {
        // getBuiltinModule, not import(): an ES import builds node:http's module facade, which reads
        // every export — its lazy fetch/WebSocket getters load undici (≈ 40–50 ms of CPU).
        const mod = process.getBuiltinModule('node:http') as typeof import('node:http');
        http = this.build(mod.createServer);
      } catch (err) {
        this.log.error({ err }, 'HTTP server could not be built; connection closed');
        socket.destroy();
        return;
      }
      http.emit('listening'); // its connection tracking starts on 'listening'
      this.#http = http;
    }
    http.emit('connection', socket);
  }
}
