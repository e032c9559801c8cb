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
import { ConfigError, MargayError } from '../src/errors.js';
import { ExecaCommandRunner } from '../src/kernel/command-runner.js';
import { IpRouteTable } from '../src/kernel/route-table.js';
import { createRootLogger, LOG_LEVELS, type LogLevel, type Logger } from '../src/log.js';
import { parseBgpdConfig, type BgpdConfig } from './config.js';
import { startControlServer, type ControlServer } from './control/server.js';
import type { ControlHandler } from './control/routes.js';
import { defaultSpeakerPorts } from './speaker/adapters.js';
import { BgpSpeaker } from './speaker/speaker.js';

const USAGE = 'usage: margay-bgpd --config FILE [--log-level fatal|error|warn|info|debug|trace]';

async function loadConfig(file: string): Promise<Readonly<BgpdConfig>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, `cannot read: ${(err as Error).message}`, { cause: err });
  }
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
  const routeTable = config.fib.enabled ? new IpRouteTable(new ExecaCommandRunner(log.child({ component: 'kernel' })), log.child({ component: 'fib' })) : undefined;
  const speaker = new BgpSpeaker(config, { log, ...defaultSpeakerPorts(), ...(routeTable && { routeTable }) });
  await speaker.start();
  let reloading: Promise<{ reloaded: boolean; error?: string }> | undefined;
  const reload = async (): Promise<{ reloaded: boolean; error?: string }> => {
    if (reloading) return reloading;
    reloading = (async () => {
      try {
        const next = await loadConfig(configFile);
        if (next.control.socket !== config.control.socket) log.warn({ socket: next.control.socket }, 'control socket change takes effect on restart');
        const summary = await speaker.reconfigure(next);
        config = next;
        log.info(summary, 'configuration reloaded');
        return { reloaded: true };
      } catch (err) {
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

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  let values: { config?: string; 'log-level'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { config: { type: 'string', short: 'c' }, 'log-level': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
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
  const level = values['log-level'] ?? env.MARGAY_LOG_LEVEL ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level) || values.config === undefined) {
    process.stderr.write(`margay-bgpd: ${values.config === undefined ? '--config is required' : `unknown log level "${level}"`}\n${USAGE}\n`);
    return 2;
  }
  const log = createRootLogger({ level: level as LogLevel, name: 'margay-bgpd', redact: ['config.peers[*].password'] });
  let daemon: Daemon;
  try {
    daemon = await startDaemon(values.config, log);
  } catch (err) {
    log.fatal({ err }, 'margay-bgpd failed to start');
    return err instanceof ConfigError ? 2 : 1;
  }
  log.info({ pid: process.pid, config: values.config }, 'margay-bgpd running');
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
  main(process.argv.slice(2), process.env).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`margay-bgpd: internal error: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
