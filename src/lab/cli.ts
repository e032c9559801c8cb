/**
 * `margayctl lab up | status | down | exec | probe | apply`: a Margay cluster on one machine, in
 * network namespaces (lab-plan.ts draws it). Every command finds its lab by --name (default "lab")
 * in --dir (default $TMPDIR/margay-lab-<name>), where the state file lives.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { UsageError, type CliIo, type Command, type CommandGroup } from '../cli/index.js';
import { RESOURCE_COMMANDS } from '../cli/index.js';
import { PrerequisiteError } from '../errors.js';
import { ExecaCommandRunner } from '../kernel/index.js';
import { createRootLogger, type LogLevel } from '../log.js';
import { LabStateError } from './errors.js';
import { defaultLabDir, labPaths, section, type LabContext } from './lab-context.js';
import { labDown } from './lab-down.js';
import { LAB_MODES, planLab, TOR_KINDS, type LabMode, type LabOptions, type TorKind } from './lab-plan.js';
import { labReport, matrixAsExpected, matrixFor } from './lab-report.js';
import { readState, type LabState } from './lab-state.js';
import { labUp } from './lab-up.js';
import { isRunning } from './processes.js';
import { formatMatrix } from './probe.js';
import { nsName } from './topology-spec.js';

const COMMON = {
  name: { type: 'string', default: 'lab' },
  dir: { type: 'string' },
  'log-level': { type: 'string', default: 'warn' },
} as const;

function context(
  values: { name?: string | undefined; dir?: string | undefined; 'log-level'?: string | undefined },
  io: CliIo,
): LabContext {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new PrerequisiteError('margayctl lab needs root (it creates network namespaces); run it with sudo');
  }
  const name = values.name ?? 'lab';
  if (!/^[a-z][a-z0-9]{0,11}$/.test(name))
    throw new UsageError(`--name ${JSON.stringify(name)} must match [a-z][a-z0-9]{0,11}`);
  const log = createRootLogger({ level: (values['log-level'] ?? 'warn') as LogLevel, name: 'margayctl-lab' });
  return {
    dir: values.dir ?? defaultLabDir(name),
    runner: new ExecaCommandRunner(log),
    log,
    env: process.env,
    out: (t) => io.out(t),
  };
}

function int(v: string | undefined, flag: string, def: number): number {
  if (v === undefined) return def;
  if (!/^\d+$/.test(v)) throw new UsageError(`${flag} must be a whole number, got ${JSON.stringify(v)}`);
  return Number(v);
}

/** The ToR when --tor is auto: BIRD, else FRR, else margay-bgpd. */
export function autoTor(): TorKind {
  const path = (process.env.PATH ?? '/usr/sbin:/usr/bin').split(':');
  if (path.some((d) => existsSync(`${d}/bird`))) return 'bird';
  if (existsSync('/usr/lib/frr/bgpd') && existsSync('/usr/lib/frr/zebra')) return 'frr';
  return 'margay-bgpd';
}

async function needState(ctx: LabContext): Promise<LabState> {
  const s = await readState(ctx.dir);
  if (!s) throw new LabStateError(`no lab in ${ctx.dir} (margayctl lab up first)`);
  return s;
}

const up: Command = {
  summary: 'build the lab (idempotent) and print sessions, routes, pods and the reachability matrix',
  usage:
    'margayctl lab up [--nodes 3] [--pods 2] [--tor auto|bird|frr|margay-bgpd] [--mode mesh|rr|ebgp|host-gw] [--dual-stack] [--name lab] [--dir DIR]',
  async run(args, io) {
    const { values } = parseArgs({
      args,
      options: {
        ...COMMON,
        nodes: { type: 'string' },
        pods: { type: 'string' },
        tor: { type: 'string', default: 'auto' },
        mode: { type: 'string', default: 'mesh' },
        'dual-stack': { type: 'boolean', default: false },
      },
    });
    const tor = values.tor === 'auto' ? autoTor() : values.tor;
    if (!(TOR_KINDS as readonly string[]).includes(tor))
      throw new UsageError(`--tor must be auto or one of ${TOR_KINDS.join(', ')}`);
    if (!(LAB_MODES as readonly string[]).includes(values.mode))
      throw new UsageError(`--mode must be one of ${LAB_MODES.join(', ')}`);
    const options: LabOptions = {
      name: values.name,
      nodes: int(values.nodes, '--nodes', 3),
      podsPerNode: int(values.pods, '--pods', 2),
      tor: tor as TorKind,
      mode: values.mode as LabMode,
      dualStack: values['dual-stack'],
    };
    const r = await labUp(context(values, io), options);
    return r.ok ? 0 : 1;
  },
};

const down: Command = {
  summary: 'remove everything the lab made (also after a crashed up), and nothing else',
  usage: 'margayctl lab down [--name lab] [--dir DIR]',
  async run(args, io) {
    const { values } = parseArgs({ args, options: COMMON });
    await labDown(context(values, io));
    return 0;
  },
};

const status: Command = {
  summary: 'show the lab: processes, sessions, routes, pods, matrix',
  usage: 'margayctl lab status [--name lab] [--dir DIR]',
  async run(args, io) {
    const { values } = parseArgs({ args, options: COMMON });
    const ctx = context(values, io);
    const s = await needState(ctx);
    io.out(`lab ${s.name}: ${s.phase}, prefix ${s.prefix}`);
    for (const p of s.processes)
      io.out(`  ${(await isRunning(p)) ? 'running' : 'DEAD   '} pid ${String(p.pid).padEnd(7)} ${p.name}`);
    const { text, ok } = await labReport(ctx, s, planLab(s.options, s.prefix));
    io.out(section(`lab ${s.name}`));
    io.out(text);
    return ok ? 0 : 1;
  },
};

const probe: Command = {
  summary: 're-run the reachability matrix (TCP and UDP, real sockets)',
  usage: 'margayctl lab probe [--name lab] [--dir DIR]',
  async run(args, io) {
    const { values } = parseArgs({ args, options: COMMON });
    const ctx = context(values, io);
    const s = await needState(ctx);
    const m = await matrixFor(s, planLab(s.options, s.prefix));
    io.out(formatMatrix(m));
    return matrixAsExpected(m) ? 0 : 1;
  },
};

const exec: Command = {
  summary: 'run a command inside a lab namespace (tor, outside, node-N or a pod name)',
  usage: 'margayctl lab exec TARGET [--name lab] [--dir DIR] -- COMMAND [ARGS...]',
  async run(args, io) {
    const dash = args.indexOf('--');
    if (dash < 0 || dash === args.length - 1) throw new UsageError('give the command after --');
    const { values, positionals } = parseArgs({ args: args.slice(0, dash), options: COMMON, allowPositionals: true });
    if (positionals.length !== 1) throw new UsageError('give exactly one TARGET');
    const ctx = context(values, io);
    const s = await needState(ctx);
    const target = positionals[0]!;
    const plan = planLab(s.options, s.prefix);
    const pod = s.pods.find((p) => p.name === target);
    const known = ['tor', 'outside', ...plan.nodes.map((n) => n.name)];
    if (!pod && !known.includes(target))
      throw new UsageError(
        `unknown target ${JSON.stringify(target)}; known: ${[...known, ...s.pods.map((p) => p.name)].join(', ')}`,
      );
    const ns = pod ? pod.netns : nsName(s.prefix, target);
    const r = await execa('ip', ['netns', 'exec', ns, ...args.slice(dash + 1)], { stdio: 'inherit', reject: false });
    return r.exitCode ?? 1;
  },
};

const apply: Command = {
  summary: "apply manifests to the lab's datastore (as kubectl apply), then re-run the matrix",
  usage: 'margayctl lab apply -f FILE|DIR [--name lab] [--dir DIR]',
  async run(args, io) {
    const { values } = parseArgs({
      args,
      options: { ...COMMON, filename: { type: 'string', short: 'f', multiple: true } },
    });
    if (!values.filename?.length) throw new UsageError('give -f FILE');
    const ctx = context(values, io);
    const s = await needState(ctx);
    const code = await RESOURCE_COMMANDS.apply!.run(
      [...values.filename.flatMap((f) => ['-f', f]), '--datastore', `file:${labPaths(ctx.dir).datastore}`],
      io,
    );
    if (code !== 0) return code;
    const m = await matrixFor(s, planLab(s.options, s.prefix));
    io.out(formatMatrix(m));
    return 0;
  },
};

export const LAB_GROUP: CommandGroup = {
  summary: 'a Margay cluster on this machine in network namespaces (ToR, nodes, pods, outside)',
  commands: { up, status, down, exec, probe, apply },
};
