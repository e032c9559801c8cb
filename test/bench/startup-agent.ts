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
 *   npm run build && node dist/test/bench/startup-agent.js [--runs 20] [--bundle dist/bundle-main ...]
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '2' },
    bundle: { type: 'string', multiple: true, default: [join(REPO, 'dist/bundle')] },
  },
});

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

function once(args: readonly string[]): Promise<Sample> {
  return new Promise((res, rej) => {
    const c = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
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
  const cases: { name: string; args: string[] }[] = [
    { name: 'node -e (report only)', args: ['--input-type=module', '-e', REPORT] },
    ...values.bundle.map((b) => ({
      name: `margay-node modules (${resolve(b).replace(REPO, '')})`,
      args: ['--input-type=module', '-e', agentScript(resolve(b))],
    })),
  ];
  const samples = cases.map(() => [] as Sample[]);
  console.log(
    `# margay-node module load: ${runs} rounds (+${warmup} warm-up), Node ${process.version}, load ${loadavg()[0]!.toFixed(2)} at start`,
  );
  for (let r = 0; r < warmup + runs; r++)
    for (const [i, c] of cases.entries()) {
      const s = await once(c.args);
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
}

await main();
