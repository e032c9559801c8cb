import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KernelOpError, PrerequisiteError } from '../errors.js';
import type { Logger } from '../log.js';
import {
  ExecaCommandRunner,
  wrapNetns,
  type CommandResult,
  type CommandRunner,
  type RunOptions,
} from './command-runner.js';

/**
 * A CommandRunner whose processes are started by margay-spawn (spawn-helper/margay-spawn.c), a small
 * long-lived co-process, instead of by Node. A process start from Node forks the whole Node process
 * (≈100 MB RSS) synchronously on the main thread: in a burst of pods those forks were the agent's
 * main cost (docs/cni.md). Here a command is a frame written to the helper's stdin; the helper
 * posix_spawn()s it from its own small address space and answers with exit status, stdout and stderr.
 *
 * Behaviour matches ExecaCommandRunner (same results and errors for the same command), plus:
 * - the helper kills a command (its whole process group) at the timeout and answers "timed out";
 *   output above `maxOutputBytes` per stream kills the command and fails it clearly;
 * - the helper dying fails every command in flight with a KernelOpError that says so (a command may or
 *   may not have run: it is not repeated) and the next command starts a new helper;
 * - a helper that does not answer within timeout + `backstopMs` is killed (never a hang);
 * - the helper dies with this process (PR_SET_PDEATHSIG) and takes the commands in flight with it —
 *   strictly with the thread that started it: a runner used from a worker thread loses its helper when
 *   that thread ends (the next command starts a new one);
 * - at most `maxInFlight` commands are in the helper at once; the rest wait here in order;
 * - while nothing is in flight neither the helper nor its pipes keep the event loop alive.
 */
export interface SpawnRunnerOptions {
  readonly timeoutMs?: number;
  readonly maxOutputBytes?: number;
  readonly maxInFlight?: number;
  /** Extra time the helper gets past a command's timeout before it is declared hung and killed. */
  readonly backstopMs?: number;
  /** Called with the pid of each helper started (tests count restarts). */
  readonly onHelperStart?: (pid: number | undefined) => void;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_OUTPUT = 64 * 1024 * 1024;
const ST_EXIT = 0;
const ST_SIGNAL = 1;
const ST_SPAWN = 2;
const ST_TIMEOUT = 3;
const ST_TOO_BIG = 4;
const ENOENT = 2;

/** The helper binary: MARGAY_SPAWN_HELPER, else dist/kernel/margay-spawn (built by `npm run build:cni`). */
export function spawnHelperPath(): string | undefined {
  const env = process.env.MARGAY_SPAWN_HELPER;
  if (env === 'off') return undefined;
  if (env !== undefined && env !== '') return env;
  // dist/src/kernel/x.js and dist/bundle/*/x.js are three levels below the repo; src/kernel/x.ts two.
  for (const rel of ['../../../dist/kernel/margay-spawn', '../../dist/kernel/margay-spawn']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  return undefined;
}

/**
 * The agent's runner: over margay-spawn when the helper is built (or MARGAY_SPAWN_HELPER names it),
 * else ExecaCommandRunner with a warning. MARGAY_SPAWN_HELPER=off forces execa.
 */
export function createCommandRunner(log: Logger, opts: SpawnRunnerOptions = {}): CommandRunner {
  const helper = spawnHelperPath();
  if (helper !== undefined) return new SpawnHelperRunner(helper, log, opts);
  if (process.env.MARGAY_SPAWN_HELPER !== 'off')
    log.warn('dist/kernel/margay-spawn not built (npm run build:cni): commands are started by forking Node');
  return new ExecaCommandRunner(log, opts.timeoutMs);
}

interface Job {
  readonly id: number;
  readonly argv: readonly string[];
  readonly frame: Buffer;
  readonly allowFailure: boolean;
  readonly resolve: (r: CommandResult) => void;
  readonly reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
}

interface Helper {
  readonly child: ChildProcess;
  readonly inflight: Map<number, Job>;
  chunks: Buffer[];
  buffered: number;
  stderrTail: string;
  dead: boolean;
}

export class SpawnHelperRunner implements CommandRunner {
  #helper: Helper | undefined;
  readonly #waiting: Job[] = [];
  #nextId = 1;
  #closed = false;
  /** Helpers started so far. */
  starts = 0;
  readonly #timeoutMs: number;
  readonly #maxOutput: number;
  readonly #maxInFlight: number;
  readonly #backstopMs: number;

  constructor(
    readonly helperPath: string,
    private readonly log: Logger,
    private readonly opts: SpawnRunnerOptions = {},
  ) {
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#maxOutput = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
    this.#maxInFlight = Math.min(opts.maxInFlight ?? 128, 256);
    this.#backstopMs = opts.backstopMs ?? 5_000;
  }

  /** The running helper's pid (tests). */
  get helperPid(): number | undefined {
    return this.#helper?.child.pid;
  }

  run(argv: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    const full = wrapNetns(argv, opts.netns);
    if (full.length === 0) return Promise.reject(new KernelOpError(full, null, 'empty argv'));
    if (this.#closed) return Promise.reject(new KernelOpError(full, null, 'command runner is closed'));
    if (full.some((a) => a.includes('\0')))
      return Promise.reject(new KernelOpError(full, null, 'an argument holds a NUL character'));
    if (this.log.isLevelEnabled('debug')) this.log.debug({ argv: full, stdinBytes: opts.stdin?.length ?? 0 }, 'run');
    return new Promise<CommandResult>((resolve, reject) => {
      const id = this.#nextId;
      this.#nextId = (this.#nextId % 0xffff_fff0) + 1;
      const job: Job = {
        id,
        argv: full,
        frame: encodeRequest(id, this.#timeoutMs, full, opts.stdin ?? ''),
        allowFailure: opts.allowFailure === true,
        resolve,
        reject,
      };
      this.#waiting.push(job);
      this.#pump();
    });
  }

  /** Ends the helper (it exits when its stdin closes, after answering what is in flight). */
  close(): void {
    this.#closed = true;
    for (const j of this.#waiting.splice(0)) j.reject(new KernelOpError(j.argv, null, 'command runner closed'));
    this.#helper?.child.stdin?.end();
  }

  #pump(): void {
    while (this.#waiting.length > 0) {
      const h = this.#ensure();
      if (h.inflight.size >= this.#maxInFlight) return;
      const job = this.#waiting.shift()!;
      h.inflight.set(job.id, job);
      job.timer = setTimeout(() => {
        this.#kill(h, `no answer for ${job.argv.join(' ')} within ${this.#timeoutMs + this.#backstopMs} ms`);
      }, this.#timeoutMs + this.#backstopMs);
      this.#ref(h, true);
      h.child.stdin!.write(job.frame);
    }
  }

  #ensure(): Helper {
    if (this.#helper !== undefined && !this.#helper.dead) return this.#helper;
    const child = spawn(this.helperPath, [String(this.#maxOutput)], {
      stdio: ['pipe', 'pipe', 'pipe'],
      // The helper dies with this process (PR_SET_PDEATHSIG) and checks it was not orphaned already.
      env: { ...process.env, LC_ALL: 'C', MARGAY_SPAWN_PARENT: String(process.pid) },
    });
    const h: Helper = { child, inflight: new Map(), chunks: [], buffered: 0, stderrTail: '', dead: false };
    this.#helper = h;
    this.starts++;
    this.opts.onHelperStart?.(child.pid);
    child.stdout!.on('data', (d: Buffer) => this.#onData(h, d));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      h.stderrTail = (h.stderrTail + d).slice(-2000);
    });
    child.stdin!.on('error', (err) => this.#died(h, `its stdin failed: ${err.message}`));
    child.on('error', (err) => this.#died(h, err.message));
    // 'close', not 'exit': answers still in the pipe when the helper exits are read first.
    child.on('close', (code, signal) => this.#died(h, `exited (${signal ?? `code ${code}`})`));
    return h;
  }

  #onData(h: Helper, d: Buffer): void {
    h.chunks.push(d);
    h.buffered += d.length;
    while (h.buffered >= 4 && !h.dead) {
      const head = h.chunks[0]!.length >= 4 ? h.chunks[0]! : Buffer.concat(h.chunks);
      const len = head.readUInt32LE(0);
      if (h.buffered < 4 + len) return;
      const all = h.chunks.length === 1 ? h.chunks[0]! : Buffer.concat(h.chunks);
      const frame = all.subarray(4, 4 + len);
      const rest = all.subarray(4 + len);
      h.chunks = rest.length > 0 ? [rest] : [];
      h.buffered = rest.length;
      this.#answer(h, frame);
    }
  }

  #answer(h: Helper, f: Buffer): void {
    if (f.length < 20) {
      this.#kill(h, `sent a ${f.length}-byte answer`);
      return;
    }
    const id = f.readUInt32LE(0);
    const status = f.readUInt32LE(4);
    const value = f.readInt32LE(8);
    const outLen = f.readUInt32LE(12);
    const errLen = f.readUInt32LE(16);
    if (20 + outLen + errLen !== f.length) {
      this.#kill(h, 'sent an answer whose lengths do not add up');
      return;
    }
    const job = h.inflight.get(id);
    if (job === undefined) {
      this.#kill(h, `answered command ${id}, which is not in flight`);
      return;
    }
    h.inflight.delete(id);
    clearTimeout(job.timer);
    if (h.inflight.size === 0) this.#ref(h, false);
    const stdout = f.toString('utf8', 20, 20 + outLen);
    const stderr = f.toString('utf8', 20 + outLen, 20 + outLen + errLen);
    try {
      job.resolve(this.#result(job, status, value, stdout, stderr));
    } catch (err) {
      job.reject(err as Error);
    }
    this.#pump();
  }

  #result(job: Job, status: number, value: number, stdout: string, stderr: string): CommandResult {
    const argv = job.argv;
    switch (status) {
      case ST_SPAWN:
        if (value === ENOENT)
          throw new PrerequisiteError(
            `${argv[0]} is not installed (needed for: ${argv.join(' ')}); run scripts/install-system-deps.sh`,
          );
        throw new KernelOpError(argv, null, `could not start ${argv[0]}: errno ${value}`);
      case ST_TIMEOUT:
        throw new KernelOpError(argv, null, `timed out after ${this.#timeoutMs} ms`);
      case ST_TOO_BIG:
        throw new KernelOpError(
          argv,
          null,
          `output above ${this.#maxOutput} bytes on one stream: command killed (first bytes of stderr: ${stderr.slice(0, 500)})`,
        );
      case ST_EXIT:
      case ST_SIGNAL: {
        const exitCode = status === ST_EXIT ? value : -1;
        const r: CommandResult = { argv, exitCode, stdout, stderr };
        if (exitCode !== 0 && !job.allowFailure)
          throw new KernelOpError(
            argv,
            status === ST_EXIT ? value : null,
            status === ST_EXIT ? stderr || stdout : `killed by signal ${value}: ${stderr || stdout}`,
          );
        return r;
      }
      default:
        throw new KernelOpError(argv, null, `spawn helper answered with unknown status ${status}`);
    }
  }

  #kill(h: Helper, why: string): void {
    this.log.error({ pid: h.child.pid, why }, 'spawn helper misbehaved; killing it');
    h.child.kill('SIGKILL');
    this.#died(h, `killed: ${why}`);
  }

  /** Fails everything in flight on `h` (a command may or may not have run) and moves on to a new helper. */
  #died(h: Helper, why: string): void {
    if (h.dead) return;
    h.dead = true;
    if (this.#helper === h) this.#helper = undefined;
    const tail = h.stderrTail.trim();
    const inflight = [...h.inflight.values()];
    h.inflight.clear();
    if (inflight.length > 0 || tail !== '')
      this.log.warn({ pid: h.child.pid, why, inflight: inflight.length, stderr: tail }, 'spawn helper died');
    for (const j of inflight) {
      clearTimeout(j.timer);
      j.reject(
        new KernelOpError(
          j.argv,
          null,
          `spawn helper ${why}${tail === '' ? '' : ` (${tail})`} before answering; the command may or may not have run`,
        ),
      );
    }
    this.#ref(h, false);
    if (!this.#closed) this.#pump();
  }

  #ref(h: Helper, on: boolean): void {
    for (const x of [h.child, h.child.stdin, h.child.stdout, h.child.stderr] as unknown as {
      ref?(): void;
      unref?(): void;
    }[]) {
      if (on) x?.ref?.();
      else x?.unref?.();
    }
  }
}

/** len | id | timeout_ms | argc | stdin_len | argv\0… | stdin (u32 little-endian; see margay-spawn.c). */
export function encodeRequest(id: number, timeoutMs: number, argv: readonly string[], stdin: string): Buffer {
  const args = argv.map((a) => Buffer.from(`${a}\0`, 'utf8'));
  const input = Buffer.from(stdin, 'utf8');
  const argBytes = args.reduce((n, b) => n + b.length, 0);
  const head = Buffer.alloc(20);
  head.writeUInt32LE(16 + argBytes + input.length, 0);
  head.writeUInt32LE(id, 4);
  head.writeUInt32LE(Math.max(1, Math.min(timeoutMs, 0xffff_ffff)), 8);
  head.writeUInt32LE(argv.length, 12);
  head.writeUInt32LE(input.length, 16);
  return Buffer.concat([head, ...args, input]);
}
