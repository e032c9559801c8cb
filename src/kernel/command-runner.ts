import { KernelOpError, PrerequisiteError } from '../errors.js';
import type { Logger } from '../log.js';

/**
 * The one place kernel adapters start processes. Adapters build argument vectors (never a shell
 * string) and parse the output; a CommandRunner carries them out. The real runner uses execa; the
 * FakeCommandRunner in ./testing records argv and stdin and answers from a script, so the parsing and
 * rendering code of every real adapter is unit-tested without root. execa is imported on the first
 * run: the agent's own runner is margay-spawn (spawn-runner.ts), and execa with its dependencies
 * (≈ 240 KiB, Node's child_process, tty and stream modules) cost every agent start ≈ 10 ms of CPU.
 */
export interface RunOptions {
  /** Written to the command's stdin (e.g. `ip -batch -`, `iptables-restore`, `ipset restore`). */
  readonly stdin?: string;
  /** Run inside this named network namespace (`ip netns exec NS argv...`). */
  readonly netns?: string;
  /** Return a non-zero exit as a result instead of throwing KernelOpError. */
  readonly allowFailure?: boolean;
}

export interface CommandResult {
  readonly argv: readonly string[];
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CommandRunner {
  run(argv: readonly string[], opts?: RunOptions): Promise<CommandResult>;
}

/** `argv` as it is actually executed: wrapped in `ip netns exec NS` when a namespace is given. */
export function wrapNetns(argv: readonly string[], netns: string | undefined): readonly string[] {
  return netns === undefined ? argv : ['ip', 'netns', 'exec', netns, ...argv];
}

const DEFAULT_TIMEOUT_MS = 60_000;

export class ExecaCommandRunner implements CommandRunner {
  constructor(
    private readonly log: Logger,
    private readonly timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {}

  async run(argv: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    const full = wrapNetns(argv, opts.netns);
    const [cmd, ...args] = full;
    if (cmd === undefined) throw new KernelOpError(full, null, 'empty argv');
    const debug = this.log.isLevelEnabled('debug');
    if (debug) this.log.debug({ argv: full, stdinBytes: opts.stdin?.length ?? 0 }, 'run');
    const { execa } = await import('execa');
    const r = await execa(cmd, args, {
      input: opts.stdin ?? '',
      reject: false,
      timeout: this.timeoutMs,
      stripFinalNewline: false,
      env: { LC_ALL: 'C' },
    });
    if (r.code === 'ENOENT') {
      throw new PrerequisiteError(
        `${cmd} is not installed (needed for: ${full.join(' ')}); run scripts/install-system-deps.sh`,
      );
    }
    if (r.timedOut) throw new KernelOpError(full, null, `timed out after ${this.timeoutMs} ms`);
    const result: CommandResult = {
      argv: full,
      exitCode: r.exitCode ?? -1,
      stdout: String(r.stdout ?? ''),
      stderr: String(r.stderr ?? ''),
    };
    if (result.exitCode !== 0 && !opts.allowFailure) {
      throw new KernelOpError(full, r.exitCode ?? null, result.stderr || result.stdout);
    }
    return result;
  }
}
