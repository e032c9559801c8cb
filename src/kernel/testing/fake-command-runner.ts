import { KernelOpError } from '../../errors.js';
import { wrapNetns, type CommandResult, type CommandRunner, type RunOptions } from '../command-runner.js';

export interface RecordedCommand {
  readonly argv: readonly string[];
  readonly stdin: string | undefined;
}

type Reply = Partial<Pick<CommandResult, 'exitCode' | 'stdout' | 'stderr'>>;
type Responder = Reply | ((cmd: RecordedCommand) => Reply);

/**
 * A CommandRunner for unit tests of real adapters: records every command (argv as it would be
 * executed, i.e. with `ip netns exec NS` when a namespace was asked for, plus stdin) and answers
 * from rules matched on the joined argv. Unmatched commands succeed with empty output.
 */
export class FakeCommandRunner implements CommandRunner {
  readonly commands: RecordedCommand[] = [];
  readonly #rules: { readonly match: string | RegExp; readonly reply: Responder; once: boolean }[] = [];

  /** Answer commands whose joined argv includes `match` (string) or matches it (RegExp). */
  on(match: string | RegExp, reply: Responder, opts: { once?: boolean } = {}): this {
    this.#rules.push({ match, reply, once: opts.once ?? false });
    return this;
  }

  /** The joined argv of every command run so far. */
  get lines(): string[] {
    return this.commands.map((c) => c.argv.join(' '));
  }

  async run(argv: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    const full = wrapNetns(argv, opts.netns);
    const cmd: RecordedCommand = { argv: full, stdin: opts.stdin };
    this.commands.push(cmd);
    const joined = full.join(' ');
    const i = this.#rules.findIndex((r) =>
      typeof r.match === 'string' ? joined.includes(r.match) : r.match.test(joined),
    );
    const rule = i >= 0 ? this.#rules[i] : undefined;
    if (rule?.once) this.#rules.splice(i, 1);
    const reply = rule === undefined ? {} : typeof rule.reply === 'function' ? rule.reply(cmd) : rule.reply;
    const result: CommandResult = {
      argv: full,
      exitCode: reply.exitCode ?? 0,
      stdout: reply.stdout ?? '',
      stderr: reply.stderr ?? '',
    };
    if (result.exitCode !== 0 && !opts.allowFailure) throw new KernelOpError(full, result.exitCode, result.stderr);
    return result;
  }
}
