import { chmod, mkdir, readlink, stat, symlink, unlink } from 'node:fs/promises';
import { createConnection } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import {
  CNI_ERROR,
  CniError,
  EXEC_PATH,
  EXIT_HEADER,
  MAX_REQUEST_BYTES,
  answerVersion,
  decodeExecRequest,
  defaultSocketPath,
  parseRequest,
  versionResult,
  WireError,
} from '../../cni/index.js';
import { ConfigError, InvariantError, MargayError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import type { CommandRunner, SysctlOps, WorkloadVethOps } from '../../src/kernel/index.js';
import { createCommandRunner, IpWorkloadVethOps } from '../../src/kernel/index.js';
import { SyncProcSysctl } from './host-sysctl.js';
import { VethCommandRunner } from './veth-runner.js';
import { AttachmentStore, keyOf } from './attachment-store.js';
import { CniHandler, endpointRegistration } from './handler.js';
import type { CniIpam, EndpointRegistry, PodDirectory } from './ports.js';
import { LazyHttpServer } from '../lazy-http.js';

/**
 * margay-node's CNI endpoint: HTTP/1.1 on a unix socket (wire format in cni/wire.ts), served to the
 * `margay` plugin binary. Hostile-input safe: a request larger than MAX_REQUEST_BYTES is refused
 * while it streams, a client has `requestTimeoutMs` to send it, at most `maxConcurrent` commands
 * run at once (the rest queue), and every answer is a CNI result or a CNI error, never a hang.
 */
export interface CniServerOptions {
  readonly nodeName: string;
  readonly ipam: CniIpam;
  readonly endpoints: EndpointRegistry;
  readonly pods: PodDirectory;
  readonly log: Logger;
  /** Default: <runDir>/cni-<inode of this process's netns>.sock (what the plugin looks for). */
  readonly socketPath?: string;
  /** Default /run/margay. */
  readonly runDir?: string;
  /**
   * When the socket is not at the path the plugin derives by itself (a run directory other than
   * /run/margay, as the lab gives each agent), also place a symlink there so a netconf without
   * `agentSocket` still finds this agent. Default true; failure to create it is logged, not fatal.
   */
  readonly discoveryLink?: boolean;
  /** Attachment records; default <runDir>/cni-<netns inode>.d. */
  readonly stateDir?: string;
  /** Pod MTU when the netconf gives none; default 1500. */
  readonly mtu?: () => number;
  /** Wait after ADD for the endpoint to be in the kernel (0: do not); default 0. */
  readonly programmedTimeoutMs?: number;
  readonly maxConcurrent?: number;
  readonly requestTimeoutMs?: number;
  /** Kernel adapters; defaults are the real ones in this process's network namespace. */
  readonly runner?: CommandRunner;
  readonly veths?: WorkloadVethOps;
  readonly sysctl?: SysctlOps;
  /**
   * Persistent `ip -batch` co-processes for the host side of veths (default 4, or
   * MARGAY_CNI_IP_COPROCESSES; 0: one `ip` process per ADD and DEL, as before).
   */
  readonly ipCoprocesses?: number;
  /** Per-step milliseconds of each ADD (benchmarks). */
  readonly onSteps?: (steps: Readonly<Record<string, number>>) => void;
  /**
   * When to start the co-processes ahead of use (default: as the server starts). Each start forks
   * the agent on its main thread (tens of ms): the agent defers them until its first routes are in.
   */
  readonly warmAfter?: Promise<unknown>;
}

export class CniSocketInUseError extends MargayError {
  readonly code = 'MGY_CNI_SOCKET_IN_USE';
}

export class CniServer {
  #server: LazyHttpServer | undefined;
  #handler: CniHandler | undefined;
  #store: AttachmentStore | undefined;
  #socketPath: string | undefined;
  #link: string | undefined;
  #running = 0;
  readonly #queue: (() => void)[] = [];
  readonly #inflight = new Set<Promise<unknown>>();
  #coprocess: VethCommandRunner | undefined;

  constructor(private readonly o: CniServerOptions) {}

  /** Host-side veth work through a persistent `ip` co-process, unless the caller gave its own runner. */
  #vethRunner(runner: CommandRunner, log: Logger): CommandRunner {
    const n = this.o.ipCoprocesses ?? coprocessesFromEnv();
    if (this.o.runner !== undefined || n === 0) return runner;
    this.#coprocess ??= new VethCommandRunner(runner, log.child({ component: 'kernel', adapter: 'veth-batch' }), n);
    return this.#coprocess;
  }

  get socketPath(): string {
    if (this.#socketPath === undefined) throw new InvariantError('CniServer not started');
    return this.#socketPath;
  }

  /** Loads attachment records, re-registers their endpoints, then listens. Idempotent. */
  async start(): Promise<void> {
    if (this.#server !== undefined) return;
    const runDir = this.o.runDir ?? '/run/margay';
    const ino = (await stat('/proc/self/ns/net', { bigint: true })).ino;
    const socketPath = this.o.socketPath ?? defaultSocketPath(ino, runDir);
    const log = this.o.log;
    const runner = this.o.runner ?? createCommandRunner(log.child({ component: 'kernel' }));
    const store = new AttachmentStore(
      this.o.stateDir ?? join(runDir, `cni-${ino}.d`),
      log.child({ component: 'cni-state' }),
    );
    const records = await store.load();
    for (const r of records) this.o.endpoints.register(endpointRegistration(r));
    if (records.length > 0)
      log.info({ attachments: records.length }, 're-registered endpoints of existing attachments');
    this.#store = store;
    this.#handler = new CniHandler({
      nodeName: this.o.nodeName,
      ipam: this.o.ipam,
      endpoints: this.o.endpoints,
      pods: this.o.pods,
      store,
      log,
      veths:
        this.o.veths ??
        new IpWorkloadVethOps(this.#vethRunner(runner, log), log.child({ component: 'kernel', adapter: 'veth' })),
      sysctl: this.o.sysctl ?? new SyncProcSysctl(runner, log.child({ component: 'kernel', adapter: 'sysctl' })),
      mtu: this.o.mtu ?? (() => 1500),
      ...(this.o.programmedTimeoutMs !== undefined ? { programmedTimeoutMs: this.o.programmedTimeoutMs } : {}),
      ...(this.o.onSteps !== undefined ? { onSteps: this.o.onSteps } : {}),
    });
    await mkdir(dirname(socketPath), { recursive: true, mode: 0o755 });
    await removeStaleSocket(socketPath);
    // node:http loads at the first connection (lazy-http.ts): a pod ADD, not the agent's start.
    const server = new LazyHttpServer((create) => {
      const http = create((req, res) => this.#onRequest(req, res));
      http.requestTimeout = this.o.requestTimeoutMs ?? 10_000;
      http.headersTimeout = Math.min(http.requestTimeout, 5_000);
      http.maxHeadersCount = 32;
      return http;
    }, log);
    await new Promise<void>((resolve, reject) => {
      server.listener.once('error', reject);
      server.listener.listen(socketPath, () => {
        server.listener.off('error', reject);
        resolve();
      });
    });
    await chmod(socketPath, 0o600);
    this.#server = server;
    this.#socketPath = socketPath;
    const discoverable = defaultSocketPath(ino);
    if (socketPath !== discoverable && (this.o.discoveryLink ?? true)) await this.#placeLink(discoverable, socketPath);
    // The co-processes are started ahead of use, one per loop turn, not by the first burst of ADDs.
    void (this.o.warmAfter ?? Promise.resolve()).then(() => {
      if (this.#server === undefined || this.#coprocess === undefined) return;
      return this.#coprocess.warm().then(() => log.info('CNI ip co-processes started ahead of use'));
    });
    log.info({ socket: socketPath, attachments: records.length }, 'CNI server listening');
  }

  /** Stops accepting, waits for running commands, removes the socket. Idempotent. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    await new Promise<void>((resolve) => server.close(resolve));
    await Promise.allSettled([...this.#inflight]);
    this.#coprocess?.close();
    this.#coprocess = undefined;
    await unlink(this.socketPath).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    const link = this.#link;
    this.#link = undefined;
    // Only our own link: another agent may have replaced it since.
    if (link !== undefined && (await readlink(link).catch(() => undefined)) === this.socketPath)
      await unlink(link).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
  }

  async #placeLink(link: string, target: string): Promise<void> {
    try {
      await mkdir(dirname(link), { recursive: true, mode: 0o755 });
      await removeStaleSocket(link);
      await symlink(target, link);
      this.#link = link;
    } catch (err) {
      this.o.log.warn(
        { err, link, socket: target },
        'could not place the discovery link: plugins need agentSocket in their netconf',
      );
    }
  }

  /** Attachments this agent holds (for status and tests). */
  attachments(): { key: string; hostIf: string; addresses: readonly string[] }[] {
    return (this.#store?.all() ?? []).map((r) => ({ key: keyOf(r), hostIf: r.hostIf, addresses: r.addresses }));
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'POST' || req.url !== EXEC_PATH) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`only POST ${EXEC_PATH}\n`);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_REQUEST_BYTES && !refused) {
        refused = true;
        answer(
          res,
          1,
          new CniError(
            CNI_ERROR.decodeFailure,
            'failed to decode request',
            `larger than ${MAX_REQUEST_BYTES} bytes`,
          ).toResult('1.1.0'),
          true,
        );
      } else if (!refused) {
        chunks.push(c);
      }
    });
    req.on('end', () => {
      if (refused) return;
      const p = this.#run(Buffer.concat(chunks)).then(({ exit, out }) => answer(res, exit, out, false));
      this.#inflight.add(p);
      void p.finally(() => this.#inflight.delete(p));
    });
    req.on('error', (err) => this.o.log.warn({ err }, 'CNI request stream failed'));
  }

  async #run(body: Buffer): Promise<{ exit: number; out: unknown }> {
    let stdin = '';
    const started = performance.now();
    let log = this.o.log;
    try {
      const wire = decodeExecRequest(body);
      stdin = wire.stdin;
      if (wire.env.CNI_COMMAND === 'VERSION') return { exit: 0, out: versionResult(stdin) };
      const req = parseRequest(wire.env, stdin);
      log = this.o.log.child({ cmd: req.command, containerId: req.containerId, ifName: req.ifName });
      const queued = performance.now();
      await this.#slot();
      const queuedMs = Math.round(performance.now() - queued);
      try {
        const steps: Record<string, number> = {};
        const out = await this.#handler!.handle(req, log, steps);
        const rounded = Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, Math.round(v)]));
        log.info({ ms: Math.round(performance.now() - started), queuedMs, steps: rounded }, 'CNI command done');
        return { exit: 0, out };
      } finally {
        this.#release();
      }
    } catch (err) {
      const e =
        err instanceof CniError
          ? err
          : err instanceof WireError
            ? new CniError(CNI_ERROR.decodeFailure, 'failed to decode request', err.message)
            : new CniError(CNI_ERROR.ioFailure, 'internal error', err instanceof Error ? err.message : String(err));
      if (!(err instanceof CniError || err instanceof WireError)) log.error({ err }, 'CNI command failed unexpectedly');
      else
        log.warn(
          { code: e.cniCode, msg: e.msg, details: e.details, ms: Math.round(performance.now() - started) },
          'CNI command failed',
        );
      return { exit: 1, out: e.toResult(answerVersion(stdin)) };
    }
  }

  async #slot(): Promise<void> {
    if (this.#running < (this.o.maxConcurrent ?? 32)) {
      this.#running++;
      return;
    }
    await new Promise<void>((resolve) => this.#queue.push(resolve));
  }

  #release(): void {
    const next = this.#queue.shift();
    if (next !== undefined) next();
    else this.#running--;
  }
}

function coprocessesFromEnv(): number {
  const v = process.env.MARGAY_CNI_IP_COPROCESSES;
  if (v === undefined || v === '') return 4;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 16)
    throw new ConfigError('MARGAY_CNI_IP_COPROCESSES', `must be an integer in 0..16, got ${JSON.stringify(v)}`);
  return n;
}

function answer(res: ServerResponse, exit: number, out: unknown, close: boolean): void {
  const body = out === null || out === undefined ? '' : `${JSON.stringify(out)}\n`;
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    [EXIT_HEADER]: String(exit),
    ...(close ? { connection: 'close' } : {}),
  });
  res.end(body);
}

/** A socket file nobody answers on is stale (agent crashed): remove it. A live one is an error. */
async function removeStaleSocket(path: string): Promise<void> {
  const alive = await new Promise<boolean>((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (alive)
    throw new CniSocketInUseError(
      `CNI socket ${path} is in use: another margay-node already serves this network namespace`,
    );
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}
