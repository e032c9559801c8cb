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

export class UsageError extends MargayError {
  readonly code = 'MGY_CLI_USAGE';
}
