#!/usr/bin/env node
/**
 * margayctl: a table-driven subcommand dispatcher. `margayctl GROUP COMMAND [args]`. Each group lives
 * in its own file and registers here in GROUPS (one line per group); the dispatcher itself knows
 * nothing about any group.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MargayError } from '../errors.js';
import { BGP_GROUP } from './bgp.js';
import { UsageError, type CliIo, type CommandGroup } from './command.js';

export const GROUPS: Readonly<Record<string, CommandGroup>> = {
  bgp: BGP_GROUP,
};

function help(groups: Readonly<Record<string, CommandGroup>>, group?: string): string {
  if (group !== undefined) {
    const g = groups[group]!;
    const lines = Object.entries(g.commands).map(([n, c]) => `  ${n.padEnd(10)} ${c.summary}\n             ${c.usage}`);
    return `margayctl ${group}: ${g.summary}\n\nCommands:\n${lines.join('\n')}`;
  }
  const lines = Object.entries(groups).map(([n, g]) => `  ${n.padEnd(10)} ${g.summary}`);
  return `usage: margayctl GROUP COMMAND [options]\n\nGroups:\n${lines.join('\n')}\n\nmargayctl GROUP --help lists its commands.`;
}

/** Runs margayctl with argv (without node and script). Returns the exit code: 0 ok, 1 failure, 2 usage. */
export async function runMargayctl(
  argv: readonly string[],
  io: CliIo,
  groups: Readonly<Record<string, CommandGroup>> = GROUPS,
): Promise<number> {
  const [groupName, cmdName, ...rest] = argv;
  if (groupName === undefined || groupName === '--help' || groupName === '-h' || groupName === 'help') {
    io.out(help(groups));
    return groupName === undefined ? 2 : 0;
  }
  const group = Object.hasOwn(groups, groupName) ? groups[groupName] : undefined;
  if (!group) {
    io.err(`margayctl: unknown group "${groupName}"\n\n${help(groups)}`);
    return 2;
  }
  if (cmdName === undefined || cmdName === '--help' || cmdName === '-h') {
    io.out(help(groups, groupName));
    return cmdName === undefined ? 2 : 0;
  }
  const cmd = Object.hasOwn(group.commands, cmdName) ? group.commands[cmdName] : undefined;
  if (!cmd) {
    io.err(`margayctl ${groupName}: unknown command "${cmdName}"\n\n${help(groups, groupName)}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(`${cmd.summary}\nusage: ${cmd.usage}`);
    return 0;
  }
  try {
    return await cmd.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`margayctl ${groupName} ${cmdName}: ${err.message}\nusage: ${cmd.usage}`);
      return 2;
    }
    // parseArgs throws TypeErrors with ERR_PARSE_ARGS_* codes for unknown or malformed options.
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      io.err(`margayctl ${groupName} ${cmdName}: ${(err as Error).message}\nusage: ${cmd.usage}`);
      return 2;
    }
    if (err instanceof MargayError) {
      io.err(`margayctl ${groupName} ${cmdName}: ${err.message}`);
      return 1;
    }
    throw err;
  }
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
  const io: CliIo = { out: (t) => process.stdout.write(`${t}\n`), err: (t) => process.stderr.write(`${t}\n`) };
  runMargayctl(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`margayctl: internal error: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
