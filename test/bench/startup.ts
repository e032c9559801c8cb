/**
 * Start-up benchmark (issue 8 §1): how long `margayctl` commands that never call a daemon take, and how
 * long margay-bgpd takes to answer on its control socket, side by side with a bare `node -e 0`, each
 * through the tsc output (`node dist/<path>.js`) and through the shipped bin (dist/bin launcher: module
 * compile cache + esbuild bundle, scripts/bundle.mjs). Hyperfine-like: warm-up runs, then every case
 * once per round for `--runs` rounds (interleaved, so a load spike hits all cases alike); median and
 * p10–p90 of wall time and — when /usr/bin/time exists — of CPU time (user + sys), which a busy machine
 * disturbs far less than wall time. Ratios are medians over the `node -e 0` median of the same run.
 *
 *   npm run build && node dist/test/bench/startup.js [--runs 30] [--warmup 3] [--only margayctl|bgpd]
 *     [--variant bin|dist]   (default both: the shipped bin, and the tsc output)
 *     [--compare DIR]        (also margayctl of another built checkout, DIR/dist/bin, in the same rounds: A/B)
 *
 * CPU time: bash's `time` keyword (getrusage of the command, printed in ms) when /bin/bash exists, else
 * /usr/bin/time (10 ms steps: too coarse for a 40 ms command).
 *
 * Needs no root and no network: the daemon case uses a temporary control socket and no listener.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const TIME = '/usr/bin/time';
const BASH = '/bin/bash';
/** How CPU time is measured: bash's `time` (ms), /usr/bin/time (10 ms), or not at all. */
const CPU_BY = existsSync(BASH) ? 'bash' : existsSync(TIME) ? 'time' : undefined;
const HAVE_TIME = CPU_BY !== undefined;
/**
 * `bash -c SCRIPT cpuFile argv...`: runs argv with its stderr kept (fd 3), writes "user sys" in seconds
 * with three decimals (getrusage of the children, around the command only) to cpuFile.
 */
const BASH_TIME = 'TIMEFORMAT="%3U %3S"; { time "$@" 2>&3; } 3>&2 2>"$0"';

interface Sample {
  readonly wallMs: number;
  readonly cpuMs: number | undefined;
}
interface Case {
  readonly name: string;
  readonly variant: string;
  run(): Promise<Sample>;
}

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

/** Runs a command to completion; wall time around it, CPU time from /usr/bin/time when there. */
async function timed(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Sample> {
  const cpuFile = join(WORK, `cpu-${process.hrtime.bigint()}`);
  const full =
    CPU_BY === 'bash'
      ? [BASH, '-c', BASH_TIME, cpuFile, ...argv]
      : CPU_BY === 'time'
        ? [TIME, '-q', '-f', '%U %S', '-o', cpuFile, ...argv]
        : [...argv];
  const t0 = performance.now();
  await new Promise<number>((resolve, reject) => {
    const c = spawn(full[0]!, full.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env });
    let err = '';
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('error', reject);
    // 0 ok, 2 usage (help without a command); 1 would mean the command failed: not a start-up figure.
    c.on('close', (n) =>
      n === 0 || n === 2 ? resolve(n) : reject(new Error(`${argv.join(' ')} exited ${n}: ${err}`)),
    );
  });
  const wallMs = performance.now() - t0;
  let cpuMs: number | undefined;
  if (HAVE_TIME) {
    const [u, s] = (await readFile(cpuFile, 'utf8')).trim().split(/\s+/).slice(-2).map(Number);
    cpuMs = ((u ?? 0) + (s ?? 0)) * 1000;
    await rm(cpuFile, { force: true });
  }
  return { wallMs, cpuMs };
}

/** margay-bgpd from spawn until its control socket accepts a connection; then SIGTERM and wait. */
async function daemonToSocket(script: string, n: number, asProgram = false): Promise<Sample> {
  const dir = join(WORK, `bgpd-${n}`);
  const socket = join(dir, 'bgpd.sock');
  const conf = join(WORK, `bgpd-${n}.yaml`);
  await writeFile(
    conf,
    `routerId: 192.0.2.1\nasn: 65001\nlisten: { addresses: [], port: 0 }\nfib: { enabled: false }\ncontrol: { socket: ${socket} }\n`,
  );
  const t0 = performance.now();
  // asProgram: exec the launcher itself (its #! line; how the npm bin runs), not `node launcher`.
  const args = [script, '--config', conf, '--log-level', 'warn'];
  const c = spawn(asProgram ? script : process.execPath, asProgram ? args.slice(1) : args, {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  c.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => c.on('close', (code) => r(code)));
  let up = false;
  while (!up) {
    if (c.exitCode !== null) throw new Error(`margay-bgpd exited ${c.exitCode}: ${err}`);
    if (performance.now() - t0 > 120_000) throw new Error(`margay-bgpd: no control socket within 120 s: ${err}`);
    up = await new Promise<boolean>((resolve) => {
      const s = connect(socket);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (!up) await new Promise((r) => setTimeout(r, 2));
  }
  const wallMs = performance.now() - t0;
  const cpuMs = await procCpuMs(c.pid);
  c.kill('SIGTERM');
  await exited;
  await rm(dir, { recursive: true, force: true });
  return { wallMs, cpuMs };
}

/**
 * CPU time (user + sys) a running process has used so far, from /proc/PID/stat (clock ticks, taken as
 * 100 Hz): the same pid across the daemon's execve re-exec and `env -S`, and the kernel carries the
 * times over an exec, so this is the whole start-up. Undefined where /proc is not there.
 */
async function procCpuMs(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  // Fields after the ")" that closes the command name: state is field 3, utime 14, stime 15.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

let WORK = '';

function cases(
  only: string | undefined,
  datastore: string,
  manifest: string,
  variants: string,
  compare: readonly string[],
): Case[] {
  const node = process.execPath;
  const out: Case[] = [{ name: 'node -e 0', variant: 'node', run: () => timed([node, '-e', '0']) }];
  const ctl: Record<string, string> = {
    'dist (tsc)': join(REPO, 'dist/src/cli/margayctl.js'),
    'bin (bundle + cache)': join(REPO, 'dist/bin/margayctl.js'),
  };
  for (const dir of compare) ctl[`bin (${dir})`] = resolve(dir, 'dist/bin/margayctl.js');
  const bgpd: Record<string, string> = {
    'dist (tsc)': join(REPO, 'dist/bgp/main.js'),
    'bin (bundle + cache)': join(REPO, 'dist/bin/margay-bgpd.js'),
  };
  const commands: readonly (readonly string[])[] = [
    ['--help'],
    ['bgp', '--help'],
    ['get', '--help'],
    ['get', 'ippools', '--datastore', datastore],
    ['get', 'ippools', '-o', 'json', '--datastore', datastore],
    ['apply', '-f', manifest, '--datastore', datastore],
    ['ipam', 'show', '--datastore', datastore],
    ['ipam', 'check', '--datastore', datastore],
    ['version'],
  ];
  for (const variant of Object.keys(ctl)) {
    if (variants !== 'all' && !variant.startsWith(variants)) continue;
    if (only === undefined || only === 'margayctl') {
      for (const c of commands) {
        const shown = c.map((a) => (a === datastore ? 'file:DIR' : a === manifest ? 'pool.yaml' : a)).join(' ');
        out.push({ name: `margayctl ${shown}`, variant, run: () => timed([node, ctl[variant]!, ...c]) });
      }
    }
    if ((only === undefined || only === 'bgpd') && (variant === 'dist (tsc)' || variant === 'bin (bundle + cache)')) {
      out.push({ name: 'margay-bgpd --help', variant, run: () => timed([node, bgpd[variant]!, '--help']) });
      let n = 0;
      out.push({ name: 'margay-bgpd to control socket', variant, run: () => daemonToSocket(bgpd[variant]!, n++) });
      if (variant === 'bin (bundle + cache)') {
        // The launcher's #! line starts Node already tuned: no re-exec (scripts/bundle.mjs, shebang()).
        out.push({
          name: 'margay-bgpd to control socket, run as a program',
          variant,
          run: () => daemonToSocket(bgpd[variant]!, n++, true),
        });
      }
    }
  }
  return out;
}

const quantile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))]!;
};
const fmt = (xs: readonly number[]): string =>
  `${quantile(xs, 0.5).toFixed(0)} (${quantile(xs, 0.1).toFixed(0)}–${quantile(xs, 0.9).toFixed(0)})`;
const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

async function main(): Promise<void> {
  const runs = Number(arg('runs', '30'));
  const warmup = Number(arg('warmup', '3'));
  const onlyArg = arg('only', '');
  WORK = await mkdtemp(join(tmpdir(), 'mgy-startup-'));
  try {
    const datastore = `file:${join(WORK, 'ds')}`;
    const manifest = join(WORK, 'pool.yaml');
    await writeFile(
      manifest,
      'apiVersion: margay.dev/v1\nkind: IPPool\nmetadata: { name: bench }\nspec: { cidr: 10.250.0.0/16 }\n',
    );
    const compare = process.argv.flatMap((a, i) =>
      a === '--compare' && process.argv[i + 1] ? [process.argv[i + 1]!] : [],
    );
    const all = cases(onlyArg === '' ? undefined : onlyArg, datastore, manifest, arg('variant', 'all'), compare);
    const samples = new Map<Case, Sample[]>(all.map((c) => [c, []]));
    console.log(
      `# start-up benchmark: ${runs} rounds (+${warmup} warm-up), Node ${process.version}, CPU time ${CPU_BY === 'bash' ? "from bash's time (ms)" : CPU_BY === 'time' ? 'from /usr/bin/time (10 ms steps)' : 'not measured (no bash, no /usr/bin/time)'}; load average at start ${load()}`,
    );
    for (let r = 0; r < warmup + runs; r++) {
      for (const c of all) {
        const s = await c.run();
        if (r >= warmup) samples.get(c)!.push(s);
      }
    }
    const base = samples.get(all[0]!)!;
    const baseWall = quantile(
      base.map((s) => s.wallMs),
      0.5,
    );
    const baseCpu = HAVE_TIME
      ? quantile(
          base.map((s) => s.cpuMs!),
          0.5,
        )
      : undefined;
    console.log(
      '\n| command | via | wall ms median (p10–p90) | × node -e 0 | CPU ms median (p10–p90) | × node -e 0 |\n| --- | --- | --- | --- | --- | --- |',
    );
    for (const c of all) {
      const xs = samples.get(c)!;
      const wall = xs.map((s) => s.wallMs);
      const cpu = xs.map((s) => s.cpuMs).filter((x): x is number => x !== undefined);
      const cpuCols =
        cpu.length > 0 && baseCpu !== undefined
          ? `${fmt(cpu)} | ${(quantile(cpu, 0.5) / baseCpu).toFixed(2)}`
          : '– | –';
      console.log(
        `| ${c.name} | ${c.variant} | ${fmt(wall)} | ${(quantile(wall, 0.5) / baseWall).toFixed(2)} | ${cpuCols} |`,
      );
    }
    console.log(`\nload average at the end: ${load()}`);
  } finally {
    await rm(WORK, { recursive: true, force: true });
  }
}

await main();
