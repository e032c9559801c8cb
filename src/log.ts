import { writeSync } from 'node:fs';
import { pino, type Logger, type LoggerOptions } from 'pino';
import { formatPrettyLine } from './log-pretty.js';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The one root logger of a process. Only a `main.ts` calls this; everything below receives a child
 * logger through its constructor (`log.child({ component: 'routes' })`), never an imported singleton.
 */
export function createRootLogger(opts: {
  readonly level: LogLevel;
  readonly name: string;
  readonly destination?: number | string;
  readonly redact?: readonly string[];
  /** 'json' (default): one object per line; 'pretty': human-readable lines (see log-pretty.ts). */
  readonly format?: 'json' | 'pretty';
}): Logger {
  const options: LoggerOptions = {
    level: opts.level,
    base: { app: opts.name, pid: process.pid },
    redact: { paths: ['*.password', '*.*.password', 'password', ...(opts.redact ?? [])], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: pino.stdSerializers.err },
  };
  if (opts.format === 'pretty') {
    const fd = typeof opts.destination === 'number' ? opts.destination : 2;
    return pino(options, { write: (line: string) => void writeSync(fd, formatPrettyLine(line)) });
  }
  return pino(options, pino.destination({ dest: opts.destination ?? 2, sync: true }));
}

/** A logger that drops everything, without loading pino (log-silent.ts). */
export { silentLogger } from './log-silent.js';
