import { mkdtemp, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { LabDaemonError, LabTimeoutError } from './errors.js';

/**
 * The reference BGP daemons (BIRD 2, FRR bgpd (+zebra), GoBGP), started by hand inside a test's own
 * network namespace with every file (config, control socket, pid file, log) in a private work dir,
 * and stopped by the pid they wrote — never by name (../shared/REFERENCE-PEERS.md).
 *
 * Used by the lab and demo (ToR routers) and by tests (interop peers, benchmark targets). Every
 * handle's stop() kills the daemon and removes its work dir; callers use it in `finally`
 * (deleteNetns also kills anything left in the namespace, and scripts/in-sandbox.sh kills the rest).
 */
export type DaemonKind = 'bird' | 'frr' | 'gobgp';

export interface DaemonHandle {
  readonly kind: DaemonKind;
  readonly ns: string;
  readonly workdir: string;
  /** pids of the daemon's processes (bgpd and, when started, zebra). */
  pids(): Promise<number[]>;
  stop(): Promise<void>;
  /** The daemon's log, for failure messages. */
  log(): Promise<string>;
}

async function readPid(file: string, timeoutMs = 5000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const pid = Number((await readFile(file, 'utf8')).trim());
      if (pid > 0) return pid;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (Date.now() > deadline) throw new LabTimeoutError(`daemon did not write its pid file ${file} within ${timeoutMs} ms`);
    await sleep(20);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `fn` until it returns a truthy value; throws with `what` (and the last error) on timeout. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) {
      throw new LabTimeoutError(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastErr });
    }
    await sleep(everyMs);
  }
}

function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

async function isAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function makeWorkdir(kind: DaemonKind): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `mgy-${kind}-`));
  await chmod(dir, 0o777); // FRR drops to its own user for some files even with -S
  return dir;
}

// ---------------------------------------------------------------------------------------------
// BIRD 2
// ---------------------------------------------------------------------------------------------

export interface BirdHandle extends DaemonHandle {
  readonly kind: 'bird';
  /** Runs a birdc command and returns its output (without the "BIRD x.y ready." banner). */
  birdc(...args: string[]): Promise<string>;
  /** Parsed `show protocols`: name → { proto, state, info }. */
  protocols(): Promise<Map<string, { proto: string; state: string; info: string }>>;
  /** Number of routes in the table (`show route count`: walks the table, slow on big tables). */
  routeCount(protocol?: string): Promise<number>;
  /** Routes a BGP protocol has imported (`show protocols all NAME`: O(1), fine to poll). */
  importedCount(protocol: string): Promise<number>;
  /** Re-reads the config file after `writeConfig`. */
  reconfigure(config: string): Promise<void>;
}

export async function startBird(ns: string, config: string): Promise<BirdHandle> {
  const workdir = await makeWorkdir('bird');
  const conf = join(workdir, 'bird.conf');
  const ctl = join(workdir, 'bird.ctl');
  const pidFile = join(workdir, 'bird.pid');
  const logFile = join(workdir, 'bird.log');
  await writeFile(conf, `log "${logFile}" all;\n${config}\n`);
  const r = await execa('ip', ['netns', 'exec', ns, 'bird', '-c', conf, '-s', ctl, '-P', pidFile], { reject: false });
  if (r.exitCode !== 0) throw new LabDaemonError(`bird failed to start (exit ${r.exitCode}): ${r.stderr}`);
  const pid = await readPid(pidFile);
  const birdc = async (...args: string[]): Promise<string> => {
    const out = await execa('birdc', ['-s', ctl, ...args], { reject: false });
    if (out.exitCode !== 0) throw new LabDaemonError(`birdc ${args.join(' ')} failed: ${out.stderr || out.stdout}`);
    return out.stdout.replace(/^BIRD [\d.]+ ready\.\n?/, '');
  };
  return {
    kind: 'bird',
    ns,
    workdir,
    birdc,
    async pids() {
      return [pid];
    },
    async protocols() {
      const out = await birdc('show', 'protocols');
      const m = new Map<string, { proto: string; state: string; info: string }>();
      for (const line of out.split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        if (f.length < 4) continue;
        m.set(f[0]!, { proto: f[1]!, state: f[3]!, info: f.slice(5).join(' ') });
      }
      return m;
    },
    async routeCount(protocol?: string) {
      const out = await birdc('show', 'route', ...(protocol ? ['protocol', protocol] : []), 'count');
      const m = /(\d+) of (\d+) routes/.exec(out);
      if (!m) throw new LabDaemonError(`unexpected birdc route count output: ${out}`);
      return Number(m[1]);
    },
    async importedCount(protocol: string) {
      const out = await birdc('show', 'protocols', 'all', protocol);
      const m = /Routes:\s+(\d+) imported/.exec(out);
      return m ? Number(m[1]) : 0;
    },
    async reconfigure(newConfig: string) {
      await writeFile(conf, `log "${logFile}" all;\n${newConfig}\n`);
      await birdc('configure');
    },
    async log() {
      return readFile(logFile, 'utf8').catch(() => '');
    },
    async stop() {
      killPid(pid);
      await rm(workdir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// FRR bgpd (optionally with zebra)
// ---------------------------------------------------------------------------------------------

export interface FrrHandle extends DaemonHandle {
  readonly kind: 'frr';
  /** Runs one vtysh command against bgpd (about 50 ms per call). */
  vtysh(command: string, daemon?: 'bgpd' | 'zebra'): Promise<string>;
  vtyshJson<T = unknown>(command: string): Promise<T>;
  /** `show bgp <afi> unicast summary json` peers map. */
  peers(afi?: 'ipv4' | 'ipv6'): Promise<Record<string, { state: string; pfxRcd?: number; pfxSnt?: number; remoteAs: number }>>;
}

export interface FrrOptions {
  /** Run zebra too (needed to install routes into the namespace's kernel, and for benchmarks). */
  readonly zebra?: boolean;
  /** Start bgpd with -n: never install into the kernel (benchmarks). */
  readonly noKernel?: boolean;
}

export async function startFrr(ns: string, bgpdConfig: string, opts: FrrOptions = {}): Promise<FrrHandle> {
  const workdir = await makeWorkdir('frr');
  const conf = join(workdir, 'bgpd.conf');
  const logFile = join(workdir, 'bgpd.log');
  const zserv = join(workdir, 'zserv.api');
  await writeFile(conf, `log file ${logFile}\n${bgpdConfig}\n`);
  const pidFiles = [join(workdir, 'bgpd.pid')];
  if (opts.zebra) {
    const zconf = join(workdir, 'zebra.conf');
    await writeFile(zconf, `log file ${join(workdir, 'zebra.log')}\n`);
    const zpid = join(workdir, 'zebra.pid');
    const z = await execa(
      'ip',
      ['netns', 'exec', ns, '/usr/lib/frr/zebra', '-d', '-P', '0', '-f', zconf, '-i', zpid, '--vty_socket', workdir, '-z', zserv],
      { reject: false },
    );
    if (z.exitCode !== 0) throw new LabDaemonError(`zebra failed to start (exit ${z.exitCode}): ${z.stderr}`);
    await readPid(zpid);
    pidFiles.push(zpid);
  }
  const args = ['-d', '-S', '-P', '0', '-f', conf, '-i', pidFiles[0]!, '--vty_socket', workdir, '-z', zserv];
  if (!opts.zebra) args.unshift('-Z');
  if (opts.noKernel) args.unshift('-n');
  const r = await execa('ip', ['netns', 'exec', ns, '/usr/lib/frr/bgpd', ...args], { reject: false });
  if (r.exitCode !== 0) throw new LabDaemonError(`bgpd failed to start (exit ${r.exitCode}): ${r.stderr}`);
  const pids = await Promise.all(pidFiles.map((f) => readPid(f)));
  const vtysh = async (command: string, daemon: 'bgpd' | 'zebra' = 'bgpd'): Promise<string> => {
    const out = await execa('vtysh', ['--vty_socket', workdir, '-d', daemon, '-c', command], { reject: false });
    if (out.exitCode !== 0) throw new LabDaemonError(`vtysh -c '${command}' failed: ${out.stderr || out.stdout}`);
    return out.stdout;
  };
  const vtyshJson = async <T>(command: string): Promise<T> => JSON.parse(await vtysh(command)) as T;
  return {
    kind: 'frr',
    ns,
    workdir,
    vtysh,
    vtyshJson,
    async peers(afi = 'ipv4') {
      const j = await vtyshJson<{ peers?: Record<string, { state: string; pfxRcd?: number; pfxSnt?: number; remoteAs: number }> }>(
        `show bgp ${afi} unicast summary json`,
      );
      return j.peers ?? {};
    },
    async pids() {
      return pids;
    },
    async log() {
      return readFile(logFile, 'utf8').catch(() => '');
    },
    async stop() {
      for (const p of pids) killPid(p);
      await rm(workdir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// GoBGP
// ---------------------------------------------------------------------------------------------

export interface GobgpNeighbor {
  conf: { neighbor_address: string; peer_asn: number; local_asn?: number };
  state: { session_state: number; neighbor_address: string; messages?: unknown };
  afi_safis?: { state?: { family?: unknown; received?: number; accepted?: number; advertised?: number } }[];
}

export interface GobgpHandle extends DaemonHandle {
  readonly kind: 'gobgp';
  /** Runs the gobgp CLI against this daemon. */
  gobgp(...args: string[]): Promise<string>;
  /** `gobgp neighbor -j` (cheap, unlike `gobgp neighbor ADDR`). session_state 6 = Established. */
  neighbors(): Promise<GobgpNeighbor[]>;
}

export const GOBGP_ESTABLISHED = 6;

export async function startGobgp(ns: string, tomlConfig: string): Promise<GobgpHandle> {
  const workdir = await makeWorkdir('gobgp');
  const conf = join(workdir, 'gobgpd.toml');
  const sock = `unix://${join(workdir, 'gobgp.sock')}`;
  const logFile = join(workdir, 'gobgpd.log');
  await writeFile(conf, tomlConfig);
  // gobgpd does not daemonise: start it in its own session; its pid is the child's.
  const child = execa(
    'ip',
    ['netns', 'exec', ns, 'gobgpd', '-f', conf, '-t', 'toml', '--api-hosts', sock, '-l', 'warn', '-p', '--pprof-disable'],
    { detached: true, reject: false, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let logText = '';
  child.stdout?.on('data', (d: Buffer) => (logText += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (logText += d.toString()));
  const pid = child.pid;
  if (pid === undefined) throw new LabDaemonError('gobgpd failed to spawn');
  const gobgp = async (...args: string[]): Promise<string> => {
    const out = await execa('gobgp', ['--target', sock, ...args], { reject: false });
    if (out.exitCode !== 0) throw new LabDaemonError(`gobgp ${args.join(' ')} failed: ${out.stderr || out.stdout}`);
    return out.stdout;
  };
  await waitFor('gobgpd API socket', async () => {
    if (!(await isAlive(pid))) throw new LabDaemonError(`gobgpd exited: ${logText}`);
    return gobgp('global').then(() => true);
  }, 10_000, 50);
  return {
    kind: 'gobgp',
    ns,
    workdir,
    gobgp,
    async neighbors() {
      const out = await gobgp('neighbor', '-j');
      return (JSON.parse(out || '[]') ?? []) as GobgpNeighbor[];
    },
    async pids() {
      return [pid];
    },
    async log() {
      return logText + (await readFile(logFile, 'utf8').catch(() => ''));
    },
    async stop() {
      // `ip netns exec` execs gobgpd, so the child pid is gobgpd itself.
      killPid(pid);
      await child;
      await rm(workdir, { recursive: true, force: true });
    },
  };
}

/** Peak resident set size (VmHWM) of a process in bytes, from /proc. */
export async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /VmHWM:\s+(\d+) kB/.exec(status);
  if (!m) throw new LabDaemonError(`no VmHWM in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}
