#!/usr/bin/env node
/**
 * margay-node, the per-node agent: validates its configuration, then runs NodeAgent (node-agent.ts:
 * datastore → cache → calc graph → dataplane, CNI server, embedded BGP speaker, health, metrics)
 * until SIGTERM/SIGINT, which stops the parts in order and leaves the dataplane in place.
 *
 * The only place that reads process.env and creates the root logger.
 */
import { agentHelp, loadAgentConfig, type AgentConfig } from '../src/config/agent.js';
import { ConfigError, MargayError } from '../src/errors.js';
import { createRootLogger } from '../src/log.js';
import { NodeAgent } from './node-agent.js';

export { AGENT_KINDS } from './node-agent.js';

async function main(argv: readonly string[]): Promise<number> {
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
  const log = createRootLogger({ level: config.logLevel, name: 'margay-node', format: config.logFormat });
  const agent = new NodeAgent(config, log);
  const stopped = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const started = agent.start().then(
    () => undefined,
    (err: unknown) => err,
  );
  const first = await Promise.race([stopped, started.then((e) => ({ failed: e }))]);
  if (typeof first === 'object' && first.failed !== undefined) {
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
  const signal = typeof first === 'string' ? first : await stopped;
  log.info({ signal }, 'stopping');
  await agent.stop();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const msg = err instanceof MargayError ? `${err.code}: ${err.message}` : String((err as Error)?.stack ?? err);
    process.stderr.write(`margay-node: fatal: ${msg}\n`);
    process.exit(1);
  },
);
