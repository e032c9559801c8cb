import { InvariantError, KernelOpError } from '../../src/errors.js';
import { IpBatchSession, type CommandResult, type CommandRunner, type RunOptions } from '../../src/kernel/index.js';
import type { Logger } from '../../src/log.js';

/**
 * The CNI server's command runner: the host side of a pod's veth (`ip -batch -`) and its removal
 * (`ip link del`) go to one persistent `ip -force -batch -` co-process (src/kernel's IpBatchSession)
 * instead of a new process each; everything else (the pod side's `nsenter … ip -batch`, reads) is
 * run by `base`. A process start from the agent costs a fork of the whole Node process on its main
 * thread — in a burst of ADDs that fork, not the kernel work, was what each ADD waited for
 * (docs/cni.md) — while a batch line through the co-process is a pipe write.
 *
 * The host batch keeps one-shot `ip -batch` semantics, which the handler relies on: its first line
 * (`link add` of the pair) runs alone and the rest only when it succeeded, and failures are numbered
 * as in the whole batch (`-:1` means the pair was not made, e.g. "File exists": the name is held by
 * another container's veth).
 */
/** What the runner needs of an IpBatchSession (unit tests pass a fake). */
export interface BatchSession {
  run(input: string): Promise<CommandResult>;
  /** Starts the co-process if it is not running. */
  start(): void;
  close(): void;
}

export class VethCommandRunner implements CommandRunner {
  readonly #sessions: { readonly s: BatchSession; busy: number }[];
  #closed = false;

  /**
   * `sessions`: how many co-processes (default 4). One `ip` is one thread of user-space work: on a
   * busy machine a single co-process serialises a burst behind its CPU share (measured: docs/cni.md),
   * so batches go to the least busy of a few. The kernel serialises link changes anyway (rtnl).
   */
  constructor(
    private readonly base: CommandRunner,
    private readonly log: Logger,
    sessions: number | readonly BatchSession[] = 4,
  ) {
    const list =
      typeof sessions === 'number'
        ? Array.from({ length: sessions }, () => new IpBatchSession(['ip', '-force', '-batch', '-'], log))
        : sessions;
    if (list.length === 0) throw new InvariantError('VethCommandRunner needs at least one co-process');
    this.#sessions = list.map((s) => ({ s, busy: 0 }));
  }

  /** One batch on the least busy co-process. */
  async #batch(input: string): Promise<CommandResult> {
    const pick = this.#sessions.reduce((a, b) => (b.busy < a.busy ? b : a));
    pick.busy++;
    try {
      return await pick.s.run(input);
    } finally {
      pick.busy--;
    }
  }

  async run(argv: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    if (opts.netns !== undefined) return this.base.run(argv, opts);
    if (argv.length === 3 && argv[0] === 'ip' && argv[1] === '-batch' && argv[2] === '-' && opts.stdin !== undefined)
      return this.#hostBatch(argv, opts);
    if (argv.length === 4 && argv[0] === 'ip' && argv[1] === 'link' && argv[2] === 'del')
      return this.#finish(argv, opts, await this.#batch(`link del ${argv[3]}\n`), 0);
    return this.base.run(argv, opts);
  }

  async #hostBatch(argv: readonly string[], opts: RunOptions): Promise<CommandResult> {
    const lines = opts.stdin!.split('\n').filter((l) => l.trim() !== '');
    if (lines.some((l) => l.includes('\0'))) throw new KernelOpError(argv, null, 'a batch line holds a NUL character');
    const first = await this.#batch(`${lines[0] ?? ''}\n`);
    if (first.exitCode !== 0 || lines.length === 1) return this.#finish(argv, opts, first, 0);
    return this.#finish(argv, opts, await this.#batch(`${lines.slice(1).join('\n')}\n`), 1);
  }

  /** A result as a one-shot run of the whole batch reports it: failed line numbers shifted by `offset`. */
  #finish(argv: readonly string[], opts: RunOptions, r: CommandResult, offset: number): CommandResult {
    const stderr =
      offset === 0 ? r.stderr : r.stderr.replace(/-:(\d+)\b/g, (_m, n: string) => `-:${Number(n) + offset}`);
    const out = { argv, exitCode: r.exitCode, stdout: r.stdout, stderr };
    if (out.exitCode !== 0 && opts.allowFailure !== true) throw new KernelOpError(argv, out.exitCode, stderr);
    return out;
  }

  /**
   * Starts every co-process that is not running, one per event-loop turn. Each start forks the Node
   * process on the main thread; started lazily, the 2nd to 4th came only when a burst of ADDs
   * overlapped, and each fork then froze the agent in the middle of it (0.5–0.9 s at load 30, CPU
   * profile in docs/cni.md). Resolves when all were started (a failed start is retried by the next batch).
   */
  async warm(): Promise<void> {
    for (const x of this.#sessions) {
      await new Promise<void>((r) => setImmediate(r));
      if (this.#closed) return;
      try {
        x.s.start();
      } catch (err) {
        this.log.warn({ err }, 'could not start an ip co-process ahead of use; the next batch starts it');
      }
    }
  }

  /** Ends the co-process. */
  close(): void {
    this.#closed = true;
    for (const x of this.#sessions) x.s.close();
  }
}
