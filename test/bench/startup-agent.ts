/**
 * margay-node's module load (issue 10 cold start: the agent's CPU before its "modules loaded" step),
 * without namespaces or root: a fresh Node imports what the agent's main() imports before it starts
 * the agent (the chunks dist/bundle/entries/margay-node.js loads with import(), in order), with the
 * module compile cache on as the launcher turns it on, and reports its own CPU time (user + sys,
 * µs resolution) and wall time since it started. Side by side with `node -e` reporting the same: the
 * difference is the agent's module load. `--bundle DIR` (repeatable) compares other builds, e.g. a
 * copy of main's dist/bundle (it must sit three levels below a repo, like dist/bundle, for the
 * native addon's path). Interleaved rounds, median and p10–p90.
 *
 * `--launcher` (and always for a CommonJS build, entries/margay-node.cjs): the build's own launcher
 * (`<bundle>/../bin/margay-node.js`, tuned flags on the command line as its `#!` line gives them) starts a
 * real agent, and a preload reports at its "modules loaded" step (the agent's first process.cpuUsage())
 * and ends the process there; each build gets its own code cache folder, filled in the warm-up rounds —
 * for margay-node's CommonJS launcher by calling its started hook at that point, so the cache holds the
 * module load only (a real agent's holds its start-up too: test/bench/agent-cold.ts shows that part).
 *
 *   npm run build && node dist/test/bench/startup-agent.js [--runs 20] [--bundle dist/bundle-main ...] [--launcher]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '2' },
    bundle: { type: 'string', multiple: true, default: [join(REPO, 'dist/bundle')] },
    launcher: { type: 'boolean', default: false },
  },
});
const WORK = mkdtempSync(join(tmpdir(), 'mgy-startup-agent-'));

/**
 * Preloaded into the agent: at its "modules loaded" step (its first process.cpuUsage()) reports CPU and
 * wall time on stdout and ends the process; with MARGAY_BENCH_STARTED set, first calls the CommonJS
 * launcher's started hook (writes its code cache).
 */
const PRELOAD = join(WORK, 'report.mjs');
writeFileSync(
  PRELOAD,
  `import { writeSync } from 'node:fs';
const cpuUsage = process.cpuUsage;
process.cpuUsage = function (...a) {
  const c = cpuUsage.apply(process, a);
  writeSync(1, JSON.stringify({ cpuMs: (c.user + c.system) / 1000, wallMs: performance.now() }));
  if (process.env.MARGAY_BENCH_STARTED !== undefined) globalThis[Symbol.for('margay.started')]?.();
  process.exit(0);
};
`,
);

/** A real agent through the build's launcher, tuned as its #! line starts it; one cache folder per build. */
function launcherCase(bundle: string, i: number): { args: string[]; env: NodeJS.ProcessEnv } {
  return {
    args: ['--max-semi-space-size=2', '--import', PRELOAD, join(bundle, '../bin/margay-node.js')],
    env: {
      ...process.env,
      MARGAY_NODE_TUNED: '1',
      MALLOC_MMAP_THRESHOLD_: '131072',
      NODE_COMPILE_CACHE: join(WORK, `cache-${i}`),
      NODENAME: 'bench',
      MARGAY_DATASTORE: `file:${join(WORK, 'ds')}`,
      MARGAY_RUN_DIR: join(WORK, 'run'),
      MARGAY_HEALTH_PORT: '0',
      MARGAY_METRICS_PORT: '0',
    },
  };
}

const REPORT = `const c = process.cpuUsage(); process.stdout.write(JSON.stringify({ cpuMs: (c.user + c.system) / 1000, wallMs: performance.now() }));`;

/** The agent's imports before "modules loaded", then the report. */
function agentScript(bundle: string): string {
  return `
    const { readFileSync } = await import('node:fs');
    const module = await import('node:module');
    if (process.env.NODE_DISABLE_COMPILE_CACHE === undefined) module.enableCompileCache();
    const bundle = ${JSON.stringify(bundle)};
    const entry = readFileSync(bundle + '/entries/margay-node.js', 'utf8');
    for (const m of entry.matchAll(/import\\("\\.\\.\\/chunks\\/([^"]+)"\\)/g)) await import(bundle + '/chunks/' + m[1]);
    ${REPORT}`;
}

interface Sample {
  readonly cpuMs: number;
  readonly wallMs: number;
}

function once(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Sample> {
  return new Promise((res, rej) => {
    const c = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('error', rej);
    c.on('close', (code) => {
      if (code !== 0) rej(new Error(`${args.join(' ').slice(0, 200)} exited ${code}: ${err}`));
      else res(JSON.parse(out) as Sample);
    });
  });
}

const q = (xs: readonly number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.round(p * (s.length - 1))))]!;
};
const fmt = (xs: readonly number[]): string =>
  `${q(xs, 0.5).toFixed(1)} (${q(xs, 0.1).toFixed(1)}–${q(xs, 0.9).toFixed(1)})`;

async function main(): Promise<void> {
  const runs = Number(values.runs);
  const warmup = Number(values.warmup);
  const cases: { name: string; args: string[]; env?: NodeJS.ProcessEnv }[] = [
    { name: 'node -e (report only)', args: ['--input-type=module', '-e', REPORT] },
    ...values.bundle.map((b, i) =>
      values.launcher || existsSync(join(resolve(b), 'entries/margay-node.cjs'))
        ? {
            name: `margay-node launcher to "modules loaded" (${resolve(b).replace(REPO, '')})`,
            ...launcherCase(resolve(b), i),
          }
        : {
            name: `margay-node modules (${resolve(b).replace(REPO, '')})`,
            args: ['--input-type=module', '-e', agentScript(resolve(b))],
          },
    ),
  ];
  const samples = cases.map(() => [] as Sample[]);
  console.log(
    `# margay-node module load: ${runs} rounds (+${warmup} warm-up), Node ${process.version}, load ${loadavg()[0]!.toFixed(2)} at start`,
  );
  for (let r = 0; r < warmup + runs; r++)
    for (const [i, c] of cases.entries()) {
      const env = c.env && r === 0 ? { ...c.env, MARGAY_BENCH_STARTED: '1' } : c.env;
      const s = await once(c.args, env);
      if (r >= warmup) samples[i]!.push(s);
    }
  const base = q(
    samples[0]!.map((s) => s.cpuMs),
    0.5,
  );
  console.log(
    '\n| case | CPU ms median (p10–p90) | × node | CPU ms over node | wall ms median (p10–p90) |\n| --- | --- | --- | --- | --- |',
  );
  for (const [i, c] of cases.entries()) {
    const cpu = samples[i]!.map((s) => s.cpuMs);
    const med = q(cpu, 0.5);
    console.log(
      `| ${c.name} | ${fmt(cpu)} | ${(med / base).toFixed(2)} | ${(med - base).toFixed(1)} | ${fmt(samples[i]!.map((s) => s.wallMs))} |`,
    );
  }
  console.log(`\nload at the end: ${loadavg()[0]!.toFixed(2)}`);
  rmSync(WORK, { recursive: true, force: true });
}

await main();
