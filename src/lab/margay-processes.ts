/**
 * Margay's own daemons as lab processes, started from their built entry points the way an operator
 * runs them: margay-bgpd (`--config FILE`) and margay-node (configured by NODENAME,
 * MARGAY_DATASTORE, IP, ... — ARCHITECTURE.md §3). Each runs inside its namespace with its files in
 * a private work dir and is stopped by its recorded pid (processes.ts).
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { LabProcessError } from './errors.js';
import { describeProcess, logTail, spawnDaemon, stopProcess, type SpawnedProcess } from './processes.js';
import { waitFor } from './wait.js';

/** The repository (or installed package) root: the nearest directory up with margay's package.json. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'margay') return dir;
    const up = dirname(dir);
    if (up === dir)
      throw new LabProcessError('lab', `cannot find margay's package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/**
 * Built entry points, as absolute paths. margay-node and margayctl are what package.json `bin`
 * names (dist/bin: the bundle with Node's compile cache, docs/startup.md) when built, else the tsc
 * output; margay-bgpd and the CNI front end are the tsc output (the rigs that start them rely on it).
 */
export function binPath(bin: 'margay-node' | 'margayctl' | 'margay-bgpd' | 'margay'): string {
  const shipped = { 'margay-node': 'dist/bin/margay-node.js', margayctl: 'dist/bin/margayctl.js' } as Record<
    string,
    string | undefined
  >;
  const rel = {
    'margay-node': 'dist/agent/main.js',
    margayctl: 'dist/src/cli/margayctl.js',
    'margay-bgpd': 'dist/bgp/main.js',
    margay: 'dist/cni/main.js',
  }[bin];
  const bundled = shipped[bin];
  if (bundled !== undefined && existsSync(join(packageRoot(), bundled))) return join(packageRoot(), bundled);
  return join(packageRoot(), rel);
}

export interface MargayDaemon {
  readonly proc: SpawnedProcess;
  readonly workdir: string;
  /** SIGTERM, wait (SIGKILL after `timeoutMs`). Returns the exit code (null after a signal). */
  stop(timeoutMs?: number): Promise<number | null>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
  log(): Promise<string>;
}

function daemon(proc: SpawnedProcess, workdir: string): MargayDaemon {
  return {
    proc,
    workdir,
    async stop(timeoutMs = 10_000) {
      await stopProcess(proc, { signal: 'SIGTERM', timeoutMs });
      return proc.waitExit(); // this process started it: its exit event follows the kernel's at once
    },
    async kill() {
      await stopProcess(proc, { signal: 'SIGKILL' });
      await proc.waitExit();
    },
    log: () => logTail(proc.logFile!, 1 << 20),
  };
}

export interface BgpdOptions {
  readonly ns: string;
  readonly workdir: string;
  /** Config YAML; `control.socket` should be `socket` (passed in). */
  readonly config: (socket: string) => string;
  readonly name?: string;
  /** Script to run with node (default: the built margay-bgpd). */
  readonly entry?: string;
  readonly logLevel?: string;
  readonly cwd?: string;
  readonly startTimeoutMs?: number;
}

export interface BgpdDaemon extends MargayDaemon {
  readonly socket: string;
  readonly configFile: string;
  /** Rewrites the config file and sends SIGHUP. */
  reload(yaml: string): Promise<void>;
}

/** Starts margay-bgpd and waits until its control socket accepts connections. */
export async function startMargayBgpd(o: BgpdOptions): Promise<BgpdDaemon> {
  const name = o.name ?? 'margay-bgpd';
  const file = name.replace(/\s+/g, '-');
  const socket = join(o.workdir, `${file}.sock`);
  const configFile = join(o.workdir, `${file}.yaml`);
  await writeFile(configFile, o.config(socket));
  const argv = [
    process.execPath,
    o.entry ?? binPath('margay-bgpd'),
    '--config',
    configFile,
    '--log-level',
    o.logLevel ?? 'info',
  ];
  const proc = await spawnDaemon({
    name,
    ns: o.ns,
    argv,
    workdir: o.workdir,
    file,
    ...(o.cwd !== undefined ? { cwd: o.cwd } : {}),
  });
  const d = daemon(proc, o.workdir);
  try {
    await waitFor(
      `${name} control socket ${socket}`,
      async () => {
        if (proc.hasExited())
          throw new LabProcessError(
            name,
            `exited with ${await proc.exited} during start`,
            await logTail(proc.logFile!, 4000, proc.logStart),
          );
        return canConnect(socket);
      },
      o.startTimeoutMs ?? 20_000,
      50,
    );
  } catch (err) {
    // Where it is stuck, before the kill: a start that hangs says where it hangs.
    const state = await describeProcess(proc.pid);
    await d.kill();
    const output = (await logTail(proc.logFile!, 4000, proc.logStart)) || '(no output from this process)';
    throw new LabProcessError(
      name,
      `did not start: ${(err as Error).message}${state ? `\n--- what it was doing ---\n${state}` : ''}`,
      output,
      { cause: err },
    );
  }
  return {
    ...d,
    socket,
    configFile,
    async reload(yaml) {
      await writeFile(configFile, yaml);
      process.kill(proc.pid, 'SIGHUP');
    },
  };
}

/** Whether a unix socket accepts a connection now. */
export function canConnect(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(socket);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface NodeAgentOptions {
  readonly ns: string;
  readonly workdir: string;
  readonly nodeName: string;
  /** `file:<dir>` or `kubernetes`. */
  readonly datastore: string;
  /** The node's IPv4 address (`IP`), with optional /len. */
  readonly ip?: string;
  readonly ip6?: string;
  readonly entry?: string;
  readonly logLevel?: string;
  /** Health port inside the node's namespace (default 9099; each node has its own namespace). */
  readonly healthPort?: number;
  /** Extra environment (the agent's other settings, PATH, ...). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export interface NodeAgent extends MargayDaemon {
  readonly nodeName: string;
  readonly ns: string;
  readonly runDir: string;
  readonly healthPort: number;
  /** GET /readiness inside the node's namespace: true on 200. */
  ready(): Promise<boolean>;
}

/** Starts margay-node in the node's namespace (does not wait for readiness: see `ready`). */
export async function startMargayNode(o: NodeAgentOptions): Promise<NodeAgent> {
  const name = `margay-node ${o.nodeName}`;
  const runDir = join(o.workdir, 'run');
  const healthPort = o.healthPort ?? 9099;
  const env: Record<string, string | undefined> = {
    ...(o.env ?? {}),
    NODENAME: o.nodeName,
    MARGAY_DATASTORE: o.datastore,
    MARGAY_RUN_DIR: runDir,
    MARGAY_HEALTH_PORT: String(healthPort),
    MARGAY_LOG_LEVEL: o.logLevel ?? 'info',
    ...(o.ip !== undefined ? { IP: o.ip } : {}),
    ...(o.ip6 !== undefined ? { IP6: o.ip6 } : {}),
  };
  const proc = await spawnDaemon({
    name,
    ns: o.ns,
    ...nodeProgram(o.entry ?? binPath('margay-node'), env),
    workdir: o.workdir,
    file: 'margay-node',
  });
  return {
    ...daemon(proc, o.workdir),
    nodeName: o.nodeName,
    ns: o.ns,
    runDir,
    healthPort,
    ready: () => httpOk(o.ns, healthPort, '/readiness'),
  };
}

/**
 * How to start a Node entry point. A launcher under dist/bin runs as a program, as an operator's
 * supervisor runs the npm bin: its `#!/usr/bin/env -S … node <flags>` line starts Node with the
 * agent's tuned flags and malloc settings, so it does not re-execute itself to get them (a second
 * Node start, agent/main.ts). `env` finds `node` on PATH, so this Node's directory goes first (another
 * Node may be earlier on PATH, e.g. /usr/bin/node). Anything else runs as `process.execPath entry`.
 */
export function nodeProgram(
  entry: string,
  env: Readonly<Record<string, string | undefined>>,
): { argv: string[]; env: Record<string, string | undefined> } {
  if (!isLauncher(entry)) return { argv: [process.execPath, entry], env: { ...env } };
  const dir = dirname(process.execPath);
  const path = env.PATH ?? process.env.PATH ?? '/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  return { argv: [entry], env: { ...env, PATH: path.split(':')[0] === dir ? path : `${dir}:${path}` } };
}

/** A dist/bin launcher that can run as a program: its #! line names env and node, and it is executable. */
function isLauncher(entry: string): boolean {
  if (basename(dirname(entry)) !== 'bin' || basename(dirname(dirname(entry))) !== 'dist') return false;
  try {
    accessSync(entry, constants.X_OK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EACCES' || (err as NodeJS.ErrnoException).code === 'ENOENT')
      return false;
    throw err;
  }
  return readFileSync(entry, 'utf8').startsWith('#!/usr/bin/env ');
}

/** GET http://127.0.0.1:PORT/PATH inside a namespace; true on 200. */
export async function httpOk(ns: string, port: number, path: string): Promise<boolean> {
  const script = `fetch('http://127.0.0.1:${port}${path}').then(r=>process.exit(r.status===200?0:1),()=>process.exit(2))`;
  const r = await execa('ip', ['netns', 'exec', ns, process.execPath, '-e', script], {
    reject: false,
    timeout: 10_000,
  });
  return r.exitCode === 0;
}
