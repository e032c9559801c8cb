#!/usr/bin/env node
/**
 * margay-node, the per-node agent: validates its configuration, then runs NodeAgent (node-agent.ts:
 * datastore → cache → calc graph → dataplane, CNI server, embedded BGP speaker, health, metrics)
 * until SIGTERM/SIGINT, which stops the parts in order and leaves the dataplane in place.
 *
 * The only place that reads process.env and creates the root logger.
 */
import { execve, isSockoptAvailable } from '../bgp/native/index.js';
import type { AgentConfig } from '../src/config/index.js';
import { TUNED_ENV, TUNED_MALLOC_ENV, TUNED_V8_FLAGS } from './tuning.js';

/** Re-executes once with the settings of tuning.ts unless the image already has them (see there). */
function reexecTuned(): void {
  if (process.env[TUNED_ENV] !== undefined || !isSockoptAvailable()) return;
  const opts = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`;
  const flags = TUNED_V8_FLAGS.filter((f) => !opts.includes(f.split('=')[0]!));
  const env: Record<string, string> = { ...TUNED_MALLOC_ENV };
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  env[TUNED_ENV] = '1';
  execve(
    process.execPath,
    [process.execPath, ...flags, ...process.execArgv, ...process.argv.slice(1)],
    Object.entries(env).map(([k, v]) => `${k}=${v}`),
  );
}

/**
 * What the CommonJS launcher (scripts/cjs-launcher.mjs, STARTED) installs as `globalThis[Symbol.for('margay.started')]`:
 * called once the agent is up, it writes the V8 code caches of the bundle, which by then hold every
 * function the start-up compiled (docs/startup.md, eighth pass). Absent when run any other way.
 */
type StartedHook = () => void;
const STARTED = Symbol.for('margay.started');
/**
 * After start(): ready (every readiness check passes) and this long after, or UP_LATEST_MS at the latest.
 * Before the deferred start-up work (CNI co-processes, default metrics: 1 s after the first routes,
 * node-agent.ts), whose functions would only make the cache bigger to deserialize on the critical path.
 */
const UP_SETTLE_MS = 300;
const UP_LATEST_MS = 10_000;

/**
 * Calls the launcher's hook once the agent is up: its first routes in and the cold start's CPU rush
 * over. Returns what to call when the agent is told to stop: the hook then runs at once if it has not
 * yet and the agent is ready (an agent stopped right after it became ready).
 */
function signalUp(agent: { health: { notReady(): string[] } }): () => void {
  const hook = (globalThis as { [STARTED]?: StartedHook })[STARTED];
  if (typeof hook !== 'function') return () => undefined;
  const t0 = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let called = false;
  const call = (): void => {
    if (called) return;
    called = true;
    clearTimeout(timer);
    hook();
  };
  const poll = (): void => {
    const ready = agent.health.notReady().length === 0;
    timer = ready || Date.now() - t0 >= UP_LATEST_MS ? setTimeout(call, UP_SETTLE_MS) : setTimeout(poll, 100);
    timer.unref();
  };
  poll();
  return () => {
    if (agent.health.notReady().length === 0) call();
    else clearTimeout(timer);
  };
}

async function main(argv: readonly string[]): Promise<number> {
  const { agentHelp, loadAgentConfig } = await import('../src/config/agent.js');
  const { ConfigError } = await import('../src/errors.js');
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${agentHelp()}\n`);
    return 0;
  }
  let config: AgentConfig;
  try {
    config = loadAgentConfig(argv, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`margay-node: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const { createRootLogger } = await import('../src/log.js');
  const { NodeAgent } = await import('./node-agent.js');
  const log = createRootLogger({ level: config.logLevel, name: 'margay-node', format: config.logFormat });
  if (process.env[TUNED_ENV] !== '1')
    log.warn(
      { reason: isSockoptAvailable() ? `${TUNED_ENV} set` : 'native addon not built' },
      'memory settings not applied',
    );
  const agent = new NodeAgent(config, log);
  // A daemon whose event loop runs empty would otherwise end silently with status 0 (nothing keeps
  // the `stopped` promise alive). That is a bug: say so, and exit non-zero so a supervisor notices.
  let ending = false;
  process.on('beforeExit', () => {
    if (ending) return;
    log.fatal('the event loop ran empty while the agent should be running (a bug); exiting');
    process.exitCode = 70;
  });
  const stopped = new Promise<string>((resolve) => {
    // `on`, not `once`: while a kernel command runs, execa's signal-exit listens too, and when it finds
    // itself the only listener left it re-raises the signal, which killed the agent in the middle of its
    // ordered stop (exit 143, nothing stopped). A repeated signal is ignored: the stop already runs.
    process.on('SIGTERM', () => {
      ending = true;
      resolve('SIGTERM');
    });
    process.on('SIGINT', () => {
      ending = true;
      resolve('SIGINT');
    });
  });
  const started = agent.start().then(
    () => undefined,
    (err: unknown) => err,
  );
  const first = await Promise.race([stopped, started.then((e) => ({ failed: e }))]);
  if (typeof first === 'object' && first.failed !== undefined) {
    ending = true;
    const err = first.failed;
    if (err instanceof ConfigError) {
      process.stderr.write(`margay-node: ${err.message}\n`);
      await agent.stop();
      return 2;
    }
    log.fatal({ err }, 'start failed');
    await agent.stop();
    return 1;
  }
  const stopping = typeof first === 'string' ? () => undefined : signalUp(agent);
  const signal = typeof first === 'string' ? first : await stopped;
  stopping();
  log.info({ signal }, 'stopping');
  await agent.stop();
  return 0;
}

const args = process.argv.slice(2);
if (!args.includes('--help') && !args.includes('-h')) reexecTuned();
main(args).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const code = (err as { code?: unknown }).code;
    const msg =
      typeof code === 'string' && code.startsWith('MGY_')
        ? `${code}: ${(err as Error).message}`
        : String((err as Error)?.stack ?? err);
    process.stderr.write(`margay-node: fatal: ${msg}\n`);
    process.exit(1);
  },
);
