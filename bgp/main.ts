#!/usr/bin/env node
/**
 * margay-bgpd: the BGP speaker standalone (a ToR in the lab, a route server, a benchmark target).
 *
 *   margay-bgpd --config FILE [--log-level info]
 *
 * The only place that reads argv, the environment (MARGAY_LOG_LEVEL) and signals. SIGHUP (or POST
 * /reload) re-reads and validates the file: on error the running config stays and the error is logged;
 * otherwise the speaker reconfigures without dropping unaffected sessions. SIGTERM/SIGINT stop
 * gracefully (Cease 2, administrative shutdown, with an RFC 9003 message). Exit codes: 0 clean stop,
 * 1 runtime failure, 2 bad usage or configuration.
 */
import { readFile } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
// Only light modules load statically: the tuned re-exec below happens before the daemon's module graph
// (valibot and yaml, pino, execa, the speaker) is loaded, so it costs one bare Node start. The rest is imported
// where it is used.
import { ConfigError, MargayError } from '../src/errors.js';
import type { LogLevel, Logger } from '../src/log.js';
import type { BgpdConfig } from './config.js';
import { execve, isSockoptAvailable, releaseStartupPages, setMallocTrimThreshold } from './native/index.js';
import type { ControlServer } from './control/index.js';
import type { ControlHandler } from './control/index.js';
import type { BgpSpeaker } from './speaker/index.js';

/**
 * Memory settings margay-bgpd runs with (measured with test/bench/bgp-ingest.ts at 1M prefixes: peak RSS
 * 135 → ≈115 MB, no slowdown; docs/bgp.md). V8 sizes its young generation when the heap is created, so
 * `v8.setFlagsFromString` at run time has no effect (measured: new space stays 32 MB), and glibc reads
 * MALLOC_MMAP_THRESHOLD_ and MALLOC_ARENA_MAX at its first malloc. So when started without them (`node
 * dist/bgp/main.js`), the daemon re-executes itself once, same pid, through the native addon's
 * execve(2); the npm bin's `#!` line (scripts/bundle.mjs) starts Node with them already.
 * `MARGAY_BGPD_TUNED` marks the second image; setting it to anything yourself disables the re-exec.
 * - --max-semi-space-size=1 (was 2; V8's default lets it grow to 16 MB): the young generation is 2 MB
 *   instead of 4 (idle [anon] 19.5 → 17.6 MB; 50 peers × 10k peak RSS median 102 → 100 MB, 1M ingest
 *   no slower beside BIRD; docs/bgp.md, 2026-12-07 session 14).
 * - MALLOC_ARENA_MAX=1: one malloc heap for every thread. With one heap per thread, V8's four worker
 *   threads each kept the high-water mark of their compiler zones (≈ 10 MB mapped at the end of a
 *   50 peers × 10k ingest, 97 % of it free); with one, the main thread reuses that memory (peak RSS
 *   −4..7 MB there, and fewer page faults; docs/bgp.md, 2026-12-07 session 14).
 * - M_TRIM_THRESHOLD (TUNED_TRIM_THRESHOLD): setting MALLOC_MMAP_THRESHOLD_ also fixes glibc's trim
 *   threshold at 128 KiB, so the heap top was handed back to the kernel after every burst and faulted
 *   in afresh by the next (a first touch of a page costs 25–170 µs on the benchmark VM): 4 MiB of it
 *   is kept (100k ingest: minor faults 3950 → 3430; 50 peers × 10k: 10.3k → 8.6k, same peak RSS). It
 *   is set at run time (mallopt, applyTrimThreshold) because the `#!` line has no room left for it
 *   (≤ 127 bytes); an operator's MALLOC_TRIM_THRESHOLD_ wins.
 */
export const TUNED_ENV = 'MARGAY_BGPD_TUNED';
export const TUNED_V8_FLAGS = ['--max-semi-space-size=1'] as const;
export const TUNED_MALLOC_ENV = { MALLOC_MMAP_THRESHOLD_: '131072', MALLOC_ARENA_MAX: '1' } as const;
export const TUNED_TRIM_THRESHOLD = 4 * 1024 * 1024;

/** Sets the malloc trim threshold unless the environment chose one; what happened, for the log. */
function applyTrimThreshold(env: NodeJS.ProcessEnv): string {
  if (env.MALLOC_TRIM_THRESHOLD_ !== undefined) return 'MALLOC_TRIM_THRESHOLD_ from the environment';
  if (!isSockoptAvailable()) return 'native addon not built: malloc trim threshold left at its default';
  return setMallocTrimThreshold(TUNED_TRIM_THRESHOLD) ? 'set' : 'no glibc mallopt: trim threshold unchanged';
}

/**
 * Once the daemon is up: the pages of the `node` executable and libraries that only start-up used leave
 * the resident set (bgp/native/startup-pages.ts; 50 peers × 10k: idle RSS 65 → 37 MB, docs/bgp.md).
 */
function releaseStartup(log: Logger): void {
  if (!isSockoptAvailable()) {
    log.info('native addon not built: start-up pages stay resident');
    return;
  }
  try {
    const { mappings, rssKb } = releaseStartupPages();
    log.info({ mappings, releasedMb: Math.round(rssKb / 102.4) / 10 }, 'start-up pages released');
  } catch (err) {
    // An optimisation only (no /proc, madvise refused): the daemon runs as it is.
    log.warn({ err }, 'start-up pages not released');
  }
}

/** The command line and environment of the tuned re-exec, or undefined when none is needed. Pure. */
export function tunedExec(
  execPath: string,
  execArgv: readonly string[],
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): { readonly argv: readonly string[]; readonly env: readonly string[] } | undefined {
  if (env[TUNED_ENV] !== undefined) return undefined;
  const has = (flag: string): boolean => {
    const name = flag.split('=')[0]!;
    const opts = `${execArgv.join(' ')} ${env.NODE_OPTIONS ?? ''}`;
    return opts.includes(name) || opts.includes(name.replaceAll('-', '_').replace(/^__/, '--'));
  };
  const flags = TUNED_V8_FLAGS.filter((f) => !has(f));
  const next: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) next[k] = v;
  for (const [k, v] of Object.entries(TUNED_MALLOC_ENV)) next[k] ??= v;
  next[TUNED_ENV] = '1';
  return {
    argv: [execPath, ...flags, ...execArgv, ...argv.slice(1)],
    env: Object.entries(next).map(([k, v]) => `${k}=${v}`),
  };
}

/** Re-executes with the tuned settings (does not return) or says why it runs as it is. */
function reexecTuned(): string {
  const plan = tunedExec(process.execPath, process.execArgv, process.argv, process.env);
  if (!plan) return process.env[TUNED_ENV] === '1' ? 'tuned' : `${TUNED_ENV} set: running untuned`;
  if (!isSockoptAvailable()) return 'native addon not built: running untuned (npm run build:native)';
  return execve(process.execPath, plan.argv, plan.env);
}

const USAGE = [
  'usage: margay-bgpd --config FILE [--log-level LEVEL]',
  '',
  '  flag          environment        default   meaning',
  '  -c, --config  (none)             (required) YAML configuration (docs/bgp.md)',
  '  --log-level   MARGAY_LOG_LEVEL   info      fatal, error, warn, info, debug, trace',
  '  -h, --help                                 this text',
  '',
  'Signals: SIGHUP reloads the configuration; SIGTERM stops (Cease 2 to every peer).',
].join('\n');

async function loadConfig(file: string): Promise<Readonly<BgpdConfig>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, `cannot read: ${(err as Error).message}`, { cause: err });
  }
  const { parseBgpdConfig } = await import('./config-file.js');
  return parseBgpdConfig(text, file);
}

export interface Daemon {
  readonly speaker: BgpSpeaker;
  readonly control: ControlServer;
  reload(): Promise<{ reloaded: boolean; error?: string }>;
  stop(message?: string): Promise<void>;
}

/** Starts the daemon from a config file: speaker, FIB sync (when enabled), control API. */
export async function startDaemon(configFile: string, log: Logger): Promise<Daemon> {
  let config = await loadConfig(configFile);
  // The kernel modules (execa and its dependencies: ≈ 240 KB of code) load only with the FIB on.
  const [kernel, { startControlServer }, { defaultSpeakerPorts }, { BgpSpeaker }] = await Promise.all([
    config.fib.enabled
      ? Promise.all([import('../src/kernel/command-runner.js'), import('../src/kernel/route-table.js')])
      : undefined,
    import('./control/server.js'),
    import('./speaker/adapters.js'),
    import('./speaker/speaker.js'),
  ]);
  const routeTable = kernel
    ? new kernel[1].IpRouteTable(
        new kernel[0].ExecaCommandRunner(log.child({ component: 'kernel' })),
        log.child({ component: 'fib' }),
      )
    : undefined;
  const speaker = new BgpSpeaker(config, { log, ...defaultSpeakerPorts(), ...(routeTable && { routeTable }) });
  await speaker.start();
  let reloading: Promise<{ reloaded: boolean; error?: string }> | undefined;
  const reload = async (): Promise<{ reloaded: boolean; error?: string }> => {
    if (reloading) return reloading;
    reloading = (async () => {
      try {
        const next = await loadConfig(configFile);
        if (next.control.socket !== config.control.socket)
          log.warn({ socket: next.control.socket }, 'control socket change takes effect on restart');
        const summary = await speaker.reconfigure(next);
        config = next;
        log.info(summary, 'configuration reloaded');
        return { reloaded: true };
      } catch (err) {
        // A reload racing SIGTERM: the speaker refuses it (src/runtime Lifecycle), nothing to apply.
        if (err instanceof MargayError && err.code === 'MGY_SERVICE_STOPPED')
          return { reloaded: false, error: 'shutting down' };
        if (!(err instanceof ConfigError)) throw err;
        log.error({ err }, 'reload rejected: configuration invalid, keeping the running one');
        return { reloaded: false, error: err.message };
      } finally {
        reloading = undefined;
      }
    })();
    return reloading;
  };
  const handler: ControlHandler = {
    peers: () => speaker.peerStatus(),
    rib: (q) => speaker.queryRib(q),
    announce: (req) => ({ announced: speaker.advertise(req) }),
    withdraw: (prefixes) => ({ withdrawn: speaker.withdraw(prefixes) }),
    reload,
    refresh: (peer, family) => ({ sent: speaker.refresh(peer, family) }),
  };
  let control: ControlServer;
  try {
    control = await startControlServer(config.control.socket, handler, log.child({ component: 'control' }));
  } catch (err) {
    await speaker.stop({ message: 'margay-bgpd failed to start its control API' });
    throw err;
  }
  return {
    speaker,
    control,
    reload,
    async stop(message = 'margay-bgpd shutting down') {
      await control.close();
      await speaker.stop({ message });
    },
  };
}

export async function main(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  tuning = 'tuned',
  trimThreshold = 'set',
): Promise<number> {
  let values: { config?: string; 'log-level'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        config: { type: 'string', short: 'c' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`margay-bgpd: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { createRootLogger, LOG_LEVELS } = await import('../src/log.js');
  const level = values['log-level'] ?? env.MARGAY_LOG_LEVEL ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level) || values.config === undefined) {
    process.stderr.write(
      `margay-bgpd: ${values.config === undefined ? '--config is required' : `unknown log level "${level}"`}\n${USAGE}\n`,
    );
    return 2;
  }
  const log = createRootLogger({ level: level as LogLevel, name: 'margay-bgpd', redact: ['config.peers[*].password'] });
  if (tuning !== 'tuned') log.warn({ tuning }, 'memory settings not applied');
  if (trimThreshold !== 'set') log.info({ trimThreshold }, 'malloc trim threshold not set');
  let daemon: Daemon;
  try {
    daemon = await startDaemon(values.config, log);
  } catch (err) {
    if (err instanceof ConfigError) {
      // An operator's mistake, not a crash: one plain line naming the file and the field, no stack.
      process.stderr.write(`margay-bgpd: ${err.message}\n`);
      return 2;
    }
    log.fatal({ err }, 'margay-bgpd failed to start');
    return 1;
  }
  log.info({ config: values.config }, 'margay-bgpd running'); // pid: in every line's base
  releaseStartup(log);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onStop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting now');
        resolve(1);
        return;
      }
      stopping = true;
      log.info({ signal }, 'stopping');
      daemon.stop().then(
        () => resolve(0),
        (err: unknown) => {
          log.error({ err }, 'error while stopping');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onStop);
    process.on('SIGINT', onStop);
    process.on('SIGHUP', () => {
      log.info('SIGHUP: reloading configuration');
      daemon.reload().catch((err: unknown) => {
        log.fatal({ err }, 'reload failed unexpectedly');
        if (err instanceof MargayError) return;
        resolve(1);
      });
    });
  });
}

function isMain(): boolean {
  const arg = process.argv[1];
  if (arg === undefined) return false;
  try {
    return realpathSync(arg) === realpathSync(fileURLToPath(import.meta.url));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

if (isMain()) {
  // Before anything else touches stdio or the heap grows: the re-exec replaces this image. Not for
  // --help or a usage error, which would pay a second Node start for nothing (docs/startup.md).
  const args = process.argv.slice(2);
  const daemon =
    !args.some((a) => a === '--help' || a === '-h') &&
    args.some((a) => a === '--config' || a === '-c' || a.startsWith('--config='));
  const tuning = daemon ? reexecTuned() : 'tuned';
  const trim = daemon ? applyTrimThreshold(process.env) : 'set';
  main(process.argv.slice(2), process.env, tuning, trim).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`margay-bgpd: internal error: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
