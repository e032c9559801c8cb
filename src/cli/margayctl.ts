#!/usr/bin/env node
/**
 * margayctl: a table-driven subcommand dispatcher. `margayctl GROUP COMMAND [args]`. Each group lives
 * in its feature folder (bgp/cli, ...) and registers here in GROUPS with its summary and a dynamic
 * import, so a command loads only its own group's code; the dispatcher itself knows nothing about any
 * group. This file is a composition root: the one place that reaches into every feature's CLI.
 */
import { realpathSync, writeSync } from 'node:fs';
import { MargayError } from '../errors.js';
import {
  UsageError,
  type CliIo,
  type Command,
  type CommandGroup,
  type LazyCommand,
  type LazyCommandGroup,
} from './index.js';
import { VERSION_COMMAND } from './version.js';

export const GROUPS: Readonly<Record<string, LazyCommandGroup>> = {
  bgp: {
    summary: 'BGP speaker (margay-bgpd): sessions, routes, announce/withdraw',
    load: async () => (await import('../../bgp/cli/index.js')).BGP_GROUP,
  },
  ipam: {
    summary: 'IP address management: usage, consistency check, release, garbage collection',
    load: async () => (await import('../../ipam/cli.js')).IPAM_GROUP,
  },
  node: {
    summary: "this node's agent (margay-node): BGP session status",
    load: async () => (await import('../../agent/cli/node.js')).NODE_GROUP,
  },
  lab: {
    summary: 'a Margay cluster on this machine in network namespaces (ToR, nodes, pods, outside)',
    load: async () => (await import('../lab/cli.js')).LAB_GROUP,
  },
};

const resources = async (): Promise<typeof import('./resources.js')> => import('./resources.js');

/** Top-level verbs: `margayctl apply -f x.yaml`, `margayctl get ippools`. */
export const VERBS: Readonly<Record<string, LazyCommand>> = {
  apply: {
    summary: 'create or update resources from YAML files (multi-document), a directory, or - for stdin',
    usage: 'margayctl apply -f FILE|DIR|- [-f ...] [--datastore file:<dir>|kubernetes] [--kubeconfig PATH]',
    load: async () => (await resources()).RESOURCE_COMMANDS.apply!,
  },
  get: {
    summary: 'list or show resources (table, -o yaml, -o json)',
    usage: 'margayctl get KIND [NAME] [-n NAMESPACE | -A] [-l SELECTOR] [-o yaml|json] [--datastore ...]',
    load: async () => (await resources()).RESOURCE_COMMANDS.get!,
  },
  delete: {
    summary: 'delete a resource by kind and name, or every resource in YAML files',
    usage: 'margayctl delete KIND NAME [-n NAMESPACE] | -f FILE [--datastore ...]',
    load: async () => (await resources()).RESOURCE_COMMANDS.delete!,
  },
  version: {
    summary: VERSION_COMMAND.summary,
    usage: VERSION_COMMAND.usage,
    load: async () => VERSION_COMMAND,
  },
};

type AnyGroup = CommandGroup | LazyCommandGroup;

async function loadGroup(g: AnyGroup): Promise<CommandGroup> {
  return 'load' in g ? g.load() : g;
}

function help(groups: Readonly<Record<string, AnyGroup>>, group?: CommandGroup & { readonly name: string }): string {
  if (group !== undefined) {
    const g = group;
    const lines = Object.entries(g.commands).map(([n, c]) => `  ${n.padEnd(10)} ${c.summary}\n             ${c.usage}`);
    return `margayctl ${group.name}: ${g.summary}\n\nCommands:\n${lines.join('\n')}`;
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
  groups: Readonly<Record<string, AnyGroup>> = GROUPS,
): Promise<number> {
  const args = argv[0] === '--version' ? ['version', ...argv.slice(1)] : argv;
  const [groupName, cmdName, ...rest] = args;
  if (groupName === undefined || groupName === '--help' || groupName === '-h' || groupName === 'help') {
    io.out(help(groups));
    return groupName === undefined ? 2 : 0;
  }
  if (Object.hasOwn(VERBS, groupName)) {
    const verb = VERBS[groupName]!;
    const rest = args.slice(1);
    // Help from the registration: the command's module (datastore, ...) is not loaded for it.
    if (verb.usage !== undefined && (rest.includes('--help') || rest.includes('-h'))) {
      io.out(`${verb.summary}\nusage: ${verb.usage}`);
      return 0;
    }
    return runCommand(groupName, await verb.load(), rest, io);
  }
  const lazy = Object.hasOwn(groups, groupName) ? groups[groupName] : undefined;
  if (!lazy) {
    io.err(`margayctl: unknown group "${groupName}"\n\n${help(groups)}`);
    return 2;
  }
  const group = { ...(await loadGroup(lazy)), name: groupName };
  if (cmdName === undefined || cmdName === '--help' || cmdName === '-h') {
    io.out(help(groups, group));
    return cmdName === undefined ? 2 : 0;
  }
  const cmd = Object.hasOwn(group.commands, cmdName) ? group.commands[cmdName] : undefined;
  if (!cmd) {
    io.err(`margayctl ${groupName}: unknown command "${cmdName}"\n\n${help(groups, group)}`);
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

/**
 * Writes each line straight to the file descriptor: touching process.stdout loads Node's stream
 * modules (≈ 20 internal modules, a few ms of every command's start-up; docs/startup.md). Falls back
 * to the stream, for this and every later line (order kept), when the descriptor is non-blocking and
 * full (EAGAIN); a reader that went away (EPIPE: `margayctl get ... | head`) ends the output quietly.
 */
export function lineWriter(fd: number, stream: () => NodeJS.WritableStream): (text: string) => void {
  let viaStream = false;
  let closed = false;
  return (text) => {
    if (closed) return;
    const buf = Buffer.from(`${text}\n`);
    if (viaStream) {
      stream().write(buf);
      return;
    }
    let off = 0;
    try {
      while (off < buf.length) off += writeSync(fd, buf, off);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        viaStream = true;
        stream().write(buf.subarray(off));
      } else if (code === 'EPIPE') {
        closed = true;
      } else {
        throw err;
      }
    }
  };
}

function isMain(): boolean {
  const arg = process.argv[1];
  if (arg === undefined) return false;
  try {
    // The native realpath(3): one call each instead of an lstat per path component in JS. The file's
    // path, not its URL: no URL parsing on the way (the bundle passes its __filename).
    return realpathSync.native(arg) === realpathSync.native(import.meta.filename);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** What exitWhenIdle looks at (a parameter for the unit test): `process`. */
export type IdleProcess = Pick<NodeJS.Process, 'exit' | 'getActiveResourcesInfo' | 'listenerCount'>;

/**
 * Ends the process with `code` when a finished command left nothing that could still run: no ref'd
 * handle, request, timer or immediate, no 'beforeExit' listener, and all output written (`flushed`:
 * lineWriter wrote every line with writeSync, no stream may still hold some). Node's own wind-down would
 * then only run the young-generation GC V8 scheduled during the command (`apply` allocates more than
 * the 1 MiB new space) and tear the heap down: ≈ 1 ms (whole process) whose only product is memory given back by a
 * process that is ending (docs/startup.md, tenth pass). Returns whether it exited (false: Node's
 * ordinary exit follows). 'exit' listeners run as always (the launcher writes its code cache there).
 */
export function exitWhenIdle(code: number | undefined, flushed: boolean, proc: IdleProcess = process): boolean {
  if (code === undefined || !flushed || proc.listenerCount('beforeExit') > 0) return false;
  if (proc.getActiveResourcesInfo().length > 0) return false;
  proc.exit(code);
  return true;
}

if (isMain()) {
  let streamed = false;
  const viaStream = (s: () => NodeJS.WritableStream) => () => ((streamed = true), s());
  const io: CliIo = {
    out: lineWriter(
      1,
      viaStream(() => process.stdout),
    ),
    err: lineWriter(
      2,
      viaStream(() => process.stderr),
    ),
  };
  let finished: number | undefined;
  // Armed before the command runs, so that it is due when the event loop first turns after a command
  // of a few ms: timers come first in a turn, before the poll that would run V8's GC task, and after
  // Node has dealt with promises rejected without a handler (it fails the process first, as before).
  // Unref'd until then: a quicker command (help, version) ends as it always did, without waiting. Node
  // makes a 0 ms timer due 1 ms after it was set (in the loop's ms clock): 3 ms of Date.now() leave
  // no case where the loop would wait for it.
  const started = Date.now();
  const idle = setTimeout(() => {
    idle.unref();
    exitWhenIdle(finished, !streamed);
  }, 0).unref();
  runMargayctl(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
      finished = code;
      if (Date.now() - started >= 3) idle.ref();
    },
    (err: unknown) => {
      process.stderr.write(`margayctl: internal error: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
