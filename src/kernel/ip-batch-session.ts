import { spawn, type ChildProcess } from 'node:child_process';
import { KernelOpError, PrerequisiteError } from '../errors.js';
import type { Logger } from '../log.js';
import { wrapNetns, type CommandResult, type CommandRunner, type RunOptions } from './command-runner.js';

/**
 * A persistent `ip -force -batch -` co-process: batches are written to its stdin one after another,
 * so a route, neighbour or link change costs a pipe write instead of a process start (the hot path
 * of a new pod). The answer to a batch is read from stderr, which ip writes unbuffered:
 *
 *   stdin:  <batch line 1> … <batch line k> | mgy-batch-end            (the sentinel: an unknown object)
 *   stderr: <reasons> "Command failed -:N"  … | Object "mgy-batch-end" is unknown … "Command failed -:S"
 *
 * ip numbers lines over the whole session; failures are renumbered to the batch (N − base), so a
 * caller sees exactly what a one-shot `ip -force -batch -` of the same input prints, and
 * parseIpBatchFailures names the refused lines. The sentinel's own failure (line S) ends the batch.
 *
 * - A co-process that dies (or cannot be written to) fails the batch in flight; the session starts
 *   a new one and sends the whole batch again, once. The inputs that go through here are idempotent
 *   when repeated (`route add` answered "File exists" is resolved by the route table, `route del`
 *   "No such process" means done, `neigh replace` and `link set` are idempotent).
 * - A batch not answered within `timeoutMs` kills the co-process and fails with KernelOpError.
 * - Batches are serialised; the child and its pipes are unref'd while idle, so an idle session never
 *   keeps the process alive.
 */
export interface IpBatchSessionOptions {
  readonly timeoutMs?: number;
  /** Called when a co-process is started (tests count restarts). */
  readonly onSpawn?: (pid: number | undefined) => void;
}

const SENTINEL = 'mgy-batch-end';
const FAILED = /^Command failed (?:-|\S+):(\d+)$/;

class CoprocessDied extends Error {}

interface Pending {
  /** The co-process the batch was written to: only its death fails the batch. */
  readonly child: ChildProcess;
  readonly base: number;
  readonly sentinel: number;
  readonly stderr: string[];
  resolve(stderr: string): void;
  reject(err: Error): void;
}

export class IpBatchSession {
  #child: ChildProcess | undefined;
  #sent = 0;
  #partial = '';
  #reasons: string[] = [];
  #pending: Pending | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  /** Co-processes started so far. */
  spawns = 0;

  constructor(
    /** The full argv, e.g. `ip -n NS -force -batch -` or `ip netns exec NS ip -force -batch -`. */
    readonly argv: readonly string[],
    private readonly log: Logger,
    private readonly opts: IpBatchSessionOptions = {},
  ) {}

  /** Runs one batch; resolves like a one-shot run with allowFailure (exit 1 when a line failed). */
  run(input: string): Promise<CommandResult> {
    const text = input === '' || input.endsWith('\n') ? input : `${input}\n`;
    const next = this.#queue.then(() => this.#runWithRetry(text));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Starts the co-process now if none is running (a process start from Node forks the whole Node
   * process on the main thread: better at start-up than in the middle of a burst of batches).
   */
  start(): void {
    if (this.#closed) return;
    this.#idle(this.#ensure(), true);
  }

  /** Ends the co-process (it exits when its stdin closes). */
  close(): void {
    this.#closed = true;
    const c = this.#child;
    this.#child = undefined;
    c?.stdin?.end();
  }

  /** The running co-process's pid (tests). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  async #runWithRetry(input: string): Promise<CommandResult> {
    try {
      return await this.#runOnce(input);
    } catch (err) {
      if (!(err instanceof CoprocessDied)) throw err;
      this.log.warn(
        { argv: this.argv, reason: err.message },
        'ip batch co-process died mid-batch; retrying on a new one',
      );
      try {
        return await this.#runOnce(input);
      } catch (again) {
        if (again instanceof CoprocessDied)
          throw new KernelOpError(this.argv, null, `co-process died twice running the batch: ${again.message}`, {
            cause: again,
          });
        throw again;
      }
    }
  }

  #runOnce(input: string): Promise<CommandResult> {
    if (this.#closed) throw new KernelOpError(this.argv, null, 'ip batch session is closed');
    const child = this.#ensure();
    const lines = countLines(input);
    const base = this.#sent;
    const sentinel = base + lines + 1;
    this.#sent = sentinel;
    return new Promise<CommandResult>((resolve, reject) => {
      const timeoutMs = this.opts.timeoutMs ?? 60_000;
      const timer = setTimeout(() => {
        this.#pending = undefined;
        this.#kill(child);
        reject(new KernelOpError(this.argv, null, `batch of ${lines} lines not answered within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending = {
        child,
        base,
        sentinel,
        stderr: [],
        resolve: (stderr) => {
          clearTimeout(timer);
          this.#idle(child, true);
          resolve({ argv: this.argv, exitCode: stderr === '' ? 0 : 1, stdout: '', stderr });
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      this.#idle(child, false);
      child.stdin!.write(`${input}${SENTINEL}\n`, (err) => {
        if (err != null) this.#died(child, `write failed: ${err.message}`);
      });
    });
  }

  #ensure(): ChildProcess {
    if (this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null)
      return this.#child;
    const [cmd, ...args] = this.argv;
    const child = spawn(cmd!, args, {
      stdio: ['pipe', 'ignore', 'pipe'],
      env: { LC_ALL: 'C', PATH: process.env.PATH },
    });
    this.#child = child;
    this.#sent = 0;
    this.#partial = '';
    this.#reasons = [];
    this.spawns++;
    this.opts.onSpawn?.(child.pid);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      if (this.#child === child) this.#onStderr(d);
    });
    child.stdin!.on('error', (err) => this.#died(child, `stdin: ${err.message}`));
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') {
        const p = this.#pending;
        this.#pending = undefined;
        this.#child = undefined;
        p?.reject(new PrerequisiteError(`${cmd} is not installed (needed for: ${this.argv.join(' ')})`));
        return;
      }
      this.#died(child, err.message);
    });
    child.on('exit', (code, signal) => this.#died(child, `exited (${signal ?? `code ${code}`})`));
    return child;
  }

  #onStderr(d: string): void {
    const text = this.#partial + d;
    const parts = text.split('\n');
    this.#partial = parts.pop()!;
    for (const raw of parts) {
      const l = raw.trim();
      if (l === '') continue;
      const m = FAILED.exec(l);
      if (m === null) {
        this.#reasons.push(l);
        continue;
      }
      const n = Number(m[1]);
      const reasons = this.#reasons;
      this.#reasons = [];
      const p = this.#pending;
      if (p === undefined || n <= p.base) continue; // the tail of a batch that timed out
      if (n === p.sentinel) {
        this.#pending = undefined;
        p.resolve(p.stderr.join(''));
      } else {
        for (const r of reasons) p.stderr.push(`${r}\n`);
        p.stderr.push(`Command failed -:${n - p.base}\n`);
      }
    }
  }

  #died(child: ChildProcess, reason: string): void {
    if (this.#child === child) this.#child = undefined;
    const p = this.#pending;
    // A dead co-process's late events (exit after EPIPE, or the other way round) must not fail the
    // retry already running on its successor.
    if (p === undefined || p.child !== child) return;
    this.#pending = undefined;
    p.reject(new CoprocessDied(reason));
  }

  #kill(child: ChildProcess): void {
    if (this.#child === child) this.#child = undefined;
    child.kill('SIGKILL');
  }

  /** While idle, neither the child nor its pipes keep the event loop alive. */
  #idle(child: ChildProcess, idle: boolean): void {
    for (const h of [child, child.stdin, child.stderr] as unknown as { ref?(): void; unref?(): void }[]) {
      if (idle) h?.unref?.();
      else h?.ref?.();
    }
  }
}

function countLines(input: string): number {
  let n = 0;
  for (let i = input.indexOf('\n'); i >= 0; i = input.indexOf('\n', i + 1)) n++;
  return n;
}

/** `ip … -force -batch -` (any namespace prefix): the commands a session can take. */
export function isIpForceBatch(argv: readonly string[]): boolean {
  const n = argv.length;
  return argv[0] === 'ip' && n >= 4 && argv[n - 1] === '-' && argv[n - 2] === '-batch' && argv[n - 3] === '-force';
}

/**
 * A CommandRunner that sends `ip … -force -batch -` through persistent IpBatchSessions (one per
 * full argv, i.e. per namespace) and everything else to `base`. Exit status and stderr read the
 * same as a one-shot run, so adapters and their error attribution do not change.
 */
export class CoprocessCommandRunner implements CommandRunner {
  readonly #sessions = new Map<string, IpBatchSession>();

  constructor(
    private readonly base: CommandRunner,
    private readonly log: Logger,
    private readonly opts: IpBatchSessionOptions = {},
  ) {}

  async run(argv: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    if (!isIpForceBatch(argv) || opts.stdin === undefined) return this.base.run(argv, opts);
    const full = wrapNetns(argv, opts.netns);
    const key = full.join('\0');
    let s = this.#sessions.get(key);
    if (s === undefined) {
      s = new IpBatchSession(full, this.log, this.opts);
      this.#sessions.set(key, s);
    }
    const r = await s.run(opts.stdin);
    if (r.exitCode !== 0 && !opts.allowFailure) throw new KernelOpError(full, r.exitCode, r.stderr);
    return r;
  }

  get sessions(): readonly IpBatchSession[] {
    return [...this.#sessions.values()];
  }

  close(): void {
    for (const s of this.#sessions.values()) s.close();
    this.#sessions.clear();
  }
}
