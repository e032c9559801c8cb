import { KernelOpError } from '../errors.js';

/** One line of a batch (`ip -batch`, `iptables-restore`, `ipset restore`) that the kernel refused. */
export interface BatchLineFailure {
  /** 1-based line number in the input that was sent. */
  readonly line: number;
  /** The text of that line (empty when the tool named a line outside the input). */
  readonly text: string;
  readonly reason: string;
}

/**
 * A batch command failed. Keeps the code of KernelOpError (`MGY_KERNEL_OP`) so callers that treat all
 * kernel failures alike keep working, and adds the failing lines so the message names them.
 */
export class KernelBatchError extends KernelOpError {
  constructor(
    argv: readonly string[],
    exitCode: number | null,
    stderr: string,
    readonly failures: readonly BatchLineFailure[],
    options?: ErrorOptions,
  ) {
    super(argv, exitCode, describe(failures, stderr), options);
  }
}

function describe(failures: readonly BatchLineFailure[], stderr: string): string {
  if (failures.length === 0) return stderr;
  return failures.map((f) => `line ${f.line} ${JSON.stringify(f.text)}: ${f.reason}`).join('; ');
}

/** Lines of `input` as the tools number them (1-based, no trailing empty line). */
export function inputLines(input: string): string[] {
  const lines = input.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/**
 * `ip -force -batch -` prints the reason(s) for a failed line, then `Command failed -:N`.
 * Returns one failure per failed line, with the reasons printed before it.
 */
export function parseIpBatchFailures(stderr: string, input: string): BatchLineFailure[] {
  const lines = inputLines(input);
  const failures: BatchLineFailure[] = [];
  let reasons: string[] = [];
  for (const raw of stderr.split('\n')) {
    const l = raw.trim();
    if (l === '') continue;
    const m = /^Command failed (?:-|\S+):(\d+)$/.exec(l);
    if (m) {
      const line = Number(m[1]);
      failures.push({ line, text: lines[line - 1] ?? '', reason: reasons.join(' ') || 'failed' });
      reasons = [];
    } else {
      reasons.push(l);
    }
  }
  return failures;
}
