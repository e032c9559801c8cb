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
import { NODE_GROUP } from './node.js';
import { IPAM_GROUP } from '../../ipam/cli.js';
import { UsageError, type CliIo, type Command, type CommandGroup } from './command.js';
import { RESOURCE_COMMANDS } from './resources.js';
import { LAB_GROUP } from '../lab/cli.js';

export const GROUPS: Readonly<Record<string, CommandGroup>> = {
  bgp: BGP_GROUP,
  node: NODE_GROUP,
  ipam: IPAM_GROUP,
  lab: LAB_GROUP,
};

/** Top-level verbs: `margayctl apply -f x.yaml`, `margayctl get ippools`. */
export const VERBS: Readonly<Record<string, Command>> = {
  ...RESOURCE_COMMANDS,
};

function help(groups: Readonly<Record<string, CommandGroup>>, group?: string): string {
  if (group !== undefined) {
    const g = groups[group]!;
    const lines = Object.entries(g.commands).map(([n, c]) => `  ${n.padEnd(10)} ${c.summary}\n             ${c.usage}`);
    return `margayctl ${group}: ${g.summary}\n\nCommands:\n${lines.join('\n')}`;
  }
  const lines = Object.entries(groups).map(([n, g]) => `  ${n.padEnd(10)} ${g.summary}`);
  const verbs = Object.entries(VERBS).map(([n, c]) => `  ${n.padEnd(10)} ${c.summary}`);
  return (
    `usage: margayctl COMMAND [options] | margayctl GROUP COMMAND [options]\n\nCommands:\n${verbs.join('\n')}\n\n` +
    `Groups:\n${lines.join('\n')}\n\nmargayctl GROUP --help lists its commands.`
  );
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
  if (Object.hasOwn(VERBS, groupName)) {
    return runCommand(groupName, VERBS[groupName]!, argv.slice(1), io);
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
  return runCommand(`${groupName} ${cmdName}`, cmd, rest, io);
}

/** Runs one command with uniform help, usage-error (exit 2) and MargayError (exit 1) handling. */
async function runCommand(label: string, cmd: Command, rest: string[], io: CliIo): Promise<number> {
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(`${cmd.summary}\nusage: ${cmd.usage}`);
    return 0;
  }
  try {
    return await cmd.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`margayctl ${label}: ${err.message}\nusage: ${cmd.usage}`);
      return 2;
    }
    // parseArgs throws TypeErrors with ERR_PARSE_ARGS_* codes for unknown or malformed options.
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      io.err(`margayctl ${label}: ${(err as Error).message}\nusage: ${cmd.usage}`);
      return 2;
    }
    if (err instanceof MargayError) {
      io.err(`margayctl ${label}: ${err.message}`);
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
