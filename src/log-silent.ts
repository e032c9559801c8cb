import type { Logger } from 'pino';

/**
 * A logger that drops everything, without loading pino: for unit tests, library callers that pass
 * none, and short-lived CLI commands (`margayctl get` would otherwise spend start-up time loading pino
 * only to print nothing; docs/startup.md). It has the part of pino's Logger that Margay calls: the
 * level methods, child(), isLevelEnabled(), level, bindings() and flush().
 */
class SilentLogger {
  level = 'silent';
  readonly levelVal = Number.POSITIVE_INFINITY;
  constructor(private readonly bound: Readonly<Record<string, unknown>> = {}) {}
  fatal(): void {}
  error(): void {}
  warn(): void {}
  info(): void {}
  debug(): void {}
  trace(): void {}
  silent(): void {}
  child(bindings: Readonly<Record<string, unknown>> = {}): SilentLogger {
    return new SilentLogger({ ...this.bound, ...bindings });
  }
  isLevelEnabled(): boolean {
    return false;
  }
  bindings(): Record<string, unknown> {
    return { ...this.bound };
  }
  flush(cb?: (err?: Error) => void): void {
    cb?.();
  }
}

/** A logger that drops everything (see SilentLogger). */
export function silentLogger(): Logger {
  return new SilentLogger() as unknown as Logger;
}
