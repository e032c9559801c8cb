/**
 * Lab processes: every daemon the lab or a test rig starts (margay-node, margay-bgpd, BIRD, FRR,
 * GoBGP) runs inside a namespace of its topology with all its files (config, pid file, log, control
 * socket) in a private work dir, and is stopped by the pid it recorded — never by name.
 *
 * A ProcessRecord is plain data (it goes into a lab's state file), and carries the process's start
 * time from /proc/PID/stat: a stop first checks that PID still is the process that was started, so
 * a recycled pid is never signalled. Processes are started detached (their own session, output to a
 * log file), so they outlive a `margayctl lab up` that started them.
 */
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LabProcessError } from './errors.js';
import { sleep, waitFor } from './wait.js';

export interface ProcessRecord {
  /** What it is, for messages and file names: "bird", "margay-node node-1", ... */
  readonly name: string;
  /** The network namespace it runs in (undefined: the caller's own). */
  readonly ns: string | undefined;
  readonly pid: number;
  /** Field 22 of /proc/PID/stat at start: tells this process apart from a later one with the same pid. */
  readonly startTime: string;
  readonly pidFile: string;
  readonly logFile: string | undefined;
}

export interface SpawnSpec {
  readonly name: string;
  readonly ns: string | undefined;
  readonly argv: readonly string[];
  /** Private work dir: `<file>.pid` and `<file>.log` go here. */
  readonly workdir: string;
  /** Base for the pid and log file names (default: name with spaces as dashes). */
  readonly file?: string;
  /** The whole environment of the process (default: this process's). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
}

export interface SpawnedProcess extends ProcessRecord {
  /** Resolves with the exit code (null after a signal). Does not keep this process alive: see waitExit. */
  readonly exited: Promise<number | null>;
  hasExited(): boolean;
  /** Waits for the exit, keeping this process alive meanwhile (the child is unref'd otherwise). */
  waitExit(): Promise<number | null>;
  /** Size of the log file when this process was started: what it wrote starts here (a restart appends). */
  readonly logStart: number;
}

/** The plain, serialisable record of a process (drops a SpawnedProcess's promise and methods). */
export function toRecord(p: ProcessRecord): ProcessRecord {
  return { name: p.name, ns: p.ns, pid: p.pid, startTime: p.startTime, pidFile: p.pidFile, logFile: p.logFile };
}

/** Starts argv detached inside `ns` (`ip netns exec` runs it in place, so the pid is the process's own). */
export async function spawnDaemon(spec: SpawnSpec): Promise<SpawnedProcess> {
  const base = spec.file ?? spec.name.replace(/\s+/g, '-');
  const logFile = join(spec.workdir, `${base}.log`);
  const pidFile = join(spec.workdir, `${base}.pid`);
  const argv = spec.ns === undefined ? [...spec.argv] : ['ip', 'netns', 'exec', spec.ns, ...spec.argv];
  const fd = openSync(logFile, 'a');
  const logStart = fstatSync(fd).size;
  let exitCode: number | null | undefined;
  let child;
  try {
    child = spawn(argv[0]!, argv.slice(1), {
      detached: true,
      stdio: ['ignore', fd, fd],
      ...(spec.env !== undefined ? { env: spec.env } : {}),
      ...(spec.cwd !== undefined ? { cwd: spec.cwd } : {}),
    });
  } finally {
    closeSync(fd);
  }
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', (err) =>
      reject(new LabProcessError(spec.name, `could not start ${argv[0]}: ${err.message}`, '', { cause: err })),
    );
    child.once('exit', (code) => {
      exitCode = code;
      resolve(code);
    });
  });
  exited.catch(() => undefined); // observed by callers through `exited`; keep an early spawn error from being unhandled
  child.unref();
  const pid = child.pid;
  if (pid === undefined) {
    await exited; // rejects with the spawn error
    throw new LabProcessError(spec.name, `could not start ${argv[0]}`);
  }
  await writeFile(pidFile, `${pid}\n`);
  const startTime = (await procStartTime(pid)) ?? '';
  return {
    name: spec.name,
    ns: spec.ns,
    pid,
    startTime,
    pidFile,
    logFile,
    exited,
    logStart,
    hasExited: () => exitCode !== undefined,
    async waitExit() {
      child.ref();
      try {
        return await exited;
      } finally {
        child.unref();
      }
    },
  };
}

/** Start time (jiffies since boot) of a live, non-zombie process; undefined when it is gone. */
export async function procStartTime(pid: number): Promise<string | undefined> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ESRCH')
      return undefined;
    throw err;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
  return fields[19];
}

/** Reads a pid file a daemon writes itself (BIRD, FRR), waiting for it to appear. */
export async function adoptPidFile(
  name: string,
  pidFile: string,
  ns: string | undefined,
  logFile: string | undefined,
  timeoutMs = 5000,
): Promise<ProcessRecord> {
  const pid = await waitFor(
    `${name} to write its pid file ${pidFile}`,
    async () => {
      try {
        const n = Number((await readFile(pidFile, 'utf8')).trim());
        return Number.isInteger(n) && n > 0 ? n : undefined;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
    },
    timeoutMs,
    20,
  );
  const startTime = await procStartTime(pid);
  if (startTime === undefined)
    throw new LabProcessError(name, `pid ${pid} from ${pidFile} is not running`, logFile ? await logTail(logFile) : '');
  return { name, ns, pid, startTime, pidFile, logFile };
}

/**
 * Starts a daemon that forks and writes its own pid file (BIRD, FRR) and adopts it. `launch` runs the
 * command, which returns once the daemon has forked. Such daemons write the file only after the fork
 * (BIRD: open before, truncate and write after), so in a reused work dir the last run's pid could be
 * read first — found dead ("not running"), or adopted while it names another process. The old file
 * goes before the launch, and adoption waits for the new one.
 */
export async function launchForking(
  name: string,
  pidFile: string,
  ns: string | undefined,
  logFile: string | undefined,
  launch: () => Promise<void>,
): Promise<ProcessRecord> {
  await rm(pidFile, { force: true });
  await launch();
  return adoptPidFile(name, pidFile, ns, logFile);
}

/** Whether the recorded process is still the one running under its pid. */
export async function isRunning(rec: Pick<ProcessRecord, 'pid' | 'startTime'>): Promise<boolean> {
  const t = await procStartTime(rec.pid);
  return t !== undefined && (rec.startTime === '' || t === rec.startTime);
}

export type StopOutcome = 'stopped' | 'killed' | 'gone';

/**
 * Sends `signal` (default SIGTERM) to the recorded pid if it is still that process, waits up to
 * `timeoutMs`, then SIGKILLs. 'gone': it was not running (or the pid now belongs to another process).
 */
export async function stopProcess(
  rec: Pick<ProcessRecord, 'name' | 'pid' | 'startTime'>,
  opts: { readonly signal?: NodeJS.Signals; readonly timeoutMs?: number } = {},
): Promise<StopOutcome> {
  if (!(await isRunning(rec))) return 'gone';
  const leader = await leadsGroup(rec.pid);
  const cleanGroup = (): void => {
    if (leader) killGroupLeft(rec.pid);
  };
  const signal = opts.signal ?? 'SIGTERM';
  if (!signalQuietly(rec.pid, signal)) return 'gone';
  if (await waitGone(rec, signal === 'SIGKILL' ? 5000 : (opts.timeoutMs ?? 5000))) {
    cleanGroup();
    return signal === 'SIGKILL' ? 'killed' : 'stopped';
  }
  if (signal !== 'SIGKILL') {
    signalQuietly(rec.pid, 'SIGKILL');
    if (await waitGone(rec, 5000)) {
      cleanGroup();
      return 'killed';
    }
  }
  throw new LabProcessError(rec.name, `pid ${rec.pid} did not exit after SIGKILL`);
}

/** Whether `pid` leads its own process group (pgrp, field 5 of /proc/PID/stat, is its pid). */
async function leadsGroup(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ESRCH') return ''; // exited meanwhile: nothing to lead
    throw err;
  });
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2] === String(pid);
}

/**
 * A daemon is started detached, so it leads its own process group (pgid = its pid). Once it is
 * gone, what is left of the group are its helpers (margay-node's co-processes: margay-spawn,
 * `ip -batch`, ...) that would exit on their own a moment later, on EOF; they are killed now, so
 * the namespace they run in is empty when the lab removes it. The group id cannot name anyone
 * else: Linux does not hand out a number still in use as a process group id.
 */
function killGroupLeft(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

async function waitGone(rec: Pick<ProcessRecord, 'pid' | 'startTime'>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!(await isRunning(rec))) return true;
    await sleep(15);
  }
  return !(await isRunning(rec));
}

function signalQuietly(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

/**
 * The last `bytes` of a log file ('' when it does not exist), from byte `from` on (a restarted
 * daemon appends to its predecessor's log: `from` keeps the predecessor's lines out).
 */
export async function logTail(file: string, bytes = 4000, from = 0): Promise<string> {
  try {
    const text = (await readFile(file)).subarray(from).toString('utf8');
    return text.slice(-bytes);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

/**
 * What a live process is doing, for a start-up timeout's message: its command line (did it get past
 * `ip netns exec`, did it re-execute itself), and each thread's state and the kernel function it
 * sleeps in (wchan), with the kernel stack where readable (root). '' when it is gone.
 */
export async function describeProcess(pid: number): Promise<string> {
  const read = (path: string): Promise<string> =>
    readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ESRCH' || err.code === 'EACCES' || err.code === 'EPERM') return '';
      throw err;
    });
  const cmdline = (await read(`/proc/${pid}/cmdline`)).split('\0').filter(Boolean).join(' ');
  if (!cmdline) return '';
  const tids = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  const threads = await Promise.all(
    tids.slice(0, 32).map(async (tid) => {
      const stat = await read(`/proc/${pid}/task/${tid}/stat`);
      const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const wchan = await read(`/proc/${pid}/task/${tid}/wchan`);
      const stack = (await read(`/proc/${pid}/task/${tid}/stack`)).trim().split('\n').slice(0, 6).join(' < ');
      return `  thread ${tid} (${comm}) state ${after[0] ?? '?'} wchan ${wchan || '-'}${stack ? ` stack ${stack}` : ''}`;
    }),
  );
  return [`pid ${pid}: ${cmdline}`, ...threads].join('\n');
}
