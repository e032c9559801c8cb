/** The shape of margayctl's command table. Each group (bgp, lab, apply, ...) lives in its own file. */
import { MargayError } from '../errors.js';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

export interface Command {
  readonly summary: string;
  readonly usage: string;
  /** Returns the exit code. Throws UsageError for bad arguments (exit 2), other MargayErrors exit 1. */
  run(args: string[], io: CliIo): Promise<number>;
}

export interface CommandGroup {
  readonly summary: string;
  readonly commands: Readonly<Record<string, Command>>;
}

/**
 * A group registered by name and summary only; its module is imported on first use, so `margayctl`
 * loads just the code of the command it runs (start-up time).
 */
export interface LazyCommandGroup {
  readonly summary: string;
  load(): Promise<CommandGroup>;
}

/**
 * A top-level verb registered lazily, like a group. With `usage` given (the same text as the loaded
 * command's), `VERB --help` is answered without loading the command's module.
 */
export interface LazyCommand {
  readonly summary: string;
  readonly usage?: string;
  load(): Promise<Command>;
}

export class UsageError extends MargayError {
  readonly code = 'MGY_CLI_USAGE';
}
