/**
 * Cold cost of margay-bgpd's config validation (issue 8 §1): CPU of a fresh `node` process to import
 * bgp/config.js (module load + schema construction; yaml and src/errors are loaded before, as the
 * daemon has them anyway), then the first and the second
 * `validateBgpdConfig` of a config shaped like the agent's planned one (4 peers, 2 policies, 4
 * originated blocks, FIB prefixes). The agent calls it when its BGP plan changes (docs/agent.md), the
 * daemon at start and on every reload. One process per sample; with several `--dist` trees (e.g. an
 * older build copied aside) the variants alternate within each round, so load hits them alike.
 *
 *   npm run build && node dist/test/bench/config-validate-cold.js [--runs 20] [--warmup 2]
 *     [--dist /path/to/other/dist ...]   (default: this build's dist)
 *     [--bundle]   (the esbuild chunk the bins load, compile cache on, instead of the tsc output)
 *
 * Prints a markdown table: median and min–max of CPU (user + sys, process.cpuUsage) per phase and of
 * their sum, and the 1-minute load average before and after. A young-generation GC (≈ 4 ms, the
 * freshly loaded modules) lands in whichever phase fills the nursery: compare the sum too.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const OWN_DIST = fileURLToPath(new URL('../..', import.meta.url));

const CONFIG = {
  routerId: '10.0.0.1',
  asn: 64512,
  listen: { addresses: ['0.0.0.0'], port: 179 },
  ebgpRequiresPolicy: true,
  fib: { enabled: true, table: 254, prefixes: [{ prefix: '10.244.0.0/16', le: 32 }] },
  control: { socket: '/run/margay/bgpd.sock' },
  policies: {
    'margay-export': {
      defaultAction: 'reject',
      rules: [
        { match: { prefixes: [{ prefix: '10.244.0.0/16', ge: 16, le: 32 }] }, action: 'accept' },
        { match: { prefixes: [{ prefix: '10.244.1.0/26' }, { prefix: '10.244.1.64/26' }] }, action: 'accept' },
      ],
    },
    'margay-export-external': {
      defaultAction: 'reject',
      rules: [
        {
          match: { prefixes: [{ prefix: '10.244.0.0/16', le: 26 }], communities: ['64512:100'] },
          action: 'accept',
          set: { addCommunities: ['64512:1'], nextHop: 'self' },
        },
      ],
    },
  },
  peers: [
    ...[2, 3, 4].map((i) => ({
      address: `10.0.0.${i}`,
      asn: 'internal',
      holdTime: 90,
      families: ['ipv4'],
      export: 'margay-export',
      description: `mesh node-${i}`,
    })),
    {
      address: '10.0.0.254',
      asn: 65000,
      holdTime: 30,
      keepalive: 10,
      families: ['ipv4', 'ipv6'],
      import: 'margay-export-external',
      export: 'margay-export-external',
      gracefulRestart: { enabled: true, restartTime: 120 },
      description: 'BGPPeer tor',
    },
  ],
  originate: [0, 64, 128, 192].map((o) => ({ prefix: `10.244.1.${o}/26`, communities: ['64512:100'] })),
};

/** Runs in the child: three phases, CPU in ms. */
const CHILD = `
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const [pre, url, json] = process.argv.slice(-3);
const config = JSON.parse(json);
// What config.js shares with the rest of the daemon is loaded first, so "import" is the module
// itself, its validation library and the schemas it builds.
for (const p of JSON.parse(pre)) await import(p);
const t0 = cpu();
const m = await import(url);
const t1 = cpu();
m.validateBgpdConfig(config);
const t2 = cpu();
m.validateBgpdConfig(config);
const t3 = cpu();
process.stdout.write(JSON.stringify({ importMs: t1 - t0, firstMs: t2 - t1, secondMs: t3 - t2 }));
`;

interface Sample {
  readonly importMs: number;
  readonly firstMs: number;
  readonly secondMs: number;
}

interface Target {
  /**
   * Loaded before the measured import: what the daemon and the agent have loaded anyway (node:net —
   * whose first load, ≈ 5–10 ms, the bundle would otherwise charge to the first isIP() call —, yaml,
   * src/errors).
   */
  readonly pre: readonly string[];
  readonly config: string;
}

interface BundleMeta {
  readonly outputs: Record<
    string,
    {
      readonly imports: readonly { readonly path: string; readonly kind: string }[];
      readonly inputs: Record<string, unknown>;
      readonly exports: readonly string[];
    }
  >;
}

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

function argAll(name: string): string[] {
  const out: string[] = [];
  process.argv.forEach((a, i) => {
    if (a === `--${name}` && process.argv[i + 1]) out.push(process.argv[i + 1]!);
  });
  return out;
}

/**
 * tsc output: bgp/config.js, with yaml and src/errors.js before it. Bundle (what the bins run): the
 * esbuild chunk that exports validateBgpdConfig, with the chunks it imports loaded before it except
 * those holding the validation library (found in dist/bundle/meta.json).
 */
async function target(dist: string, bundle: boolean): Promise<Target> {
  if (!bundle) {
    return {
      pre: ['node:net', 'yaml', pathToFileURL(resolve(dist, 'src/errors.js')).href],
      config: pathToFileURL(resolve(dist, 'bgp/config.js')).href,
    };
  }
  const meta = JSON.parse(await readFile(resolve(dist, 'bundle/meta.json'), 'utf8')) as BundleMeta;
  const root = resolve(dist, '..');
  const entry = Object.entries(meta.outputs).find(
    ([f, o]) => f.endsWith('.js') && f.includes('/chunks/') && o.exports.includes('validateBgpdConfig'),
  );
  if (!entry) throw new Error(`${dist}: no bundle chunk exports validateBgpdConfig`);
  const isValidator = (f: string): boolean =>
    Object.keys(meta.outputs[f]?.inputs ?? {}).some((i) => /node_modules\/(zod|valibot)\//.test(i));
  const pre = entry[1].imports
    .filter((i) => i.kind === 'import-statement' && !isValidator(i.path))
    .map((i) => pathToFileURL(resolve(root, i.path)).href);
  return { pre: ['node:net', ...pre], config: pathToFileURL(resolve(root, entry[0])).href };
}

function sample(dist: string, t: Target, bundle: boolean): Promise<Sample> {
  // The bins turn on Node's module compile cache; the bundle case does too (its own directory).
  const env = bundle ? { ...process.env, NODE_COMPILE_CACHE: join(tmpdir(), 'mgy-config-cold-cache') } : process.env;
  const args = ['--input-type=module', '-e', CHILD, '--', JSON.stringify(t.pre), t.config, JSON.stringify(CONFIG)];
  return new Promise((done, fail) => {
    // cwd: so that `import('yaml')` finds that tree's node_modules.
    const c = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env, cwd: resolve(dist, '..') });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('error', fail);
    c.on('close', (code) => {
      if (code !== 0) fail(new Error(`child for ${dist} exited ${code}: ${err}`));
      else done(JSON.parse(out) as Sample);
    });
  });
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (xs: readonly number[]): string =>
  `${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`;

async function main(): Promise<void> {
  const runs = Number(arg('runs', '20'));
  const warmup = Number(arg('warmup', '2'));
  const bundle = process.argv.includes('--bundle');
  const dists = argAll('dist');
  if (dists.length === 0) dists.push(OWN_DIST);
  const targets = new Map<string, Target>();
  for (const d of dists) targets.set(d, await target(d, bundle));
  const loadBefore = loadavg()[0]!;
  for (let i = 0; i < warmup; i++) for (const d of dists) await sample(d, targets.get(d)!, bundle);
  const got = new Map<string, Sample[]>(dists.map((d) => [d, []]));
  for (let i = 0; i < runs; i++) for (const d of dists) got.get(d)!.push(await sample(d, targets.get(d)!, bundle));
  const loadAfter = loadavg()[0]!;
  const what = bundle
    ? 'bundle chunk of bgp/config.ts (as the bins load it, compile cache on)'
    : 'bgp/config.js (tsc output)';
  console.log(`\n${what}, cold: CPU ms (user+sys), median (min–max) of ${runs} processes each\n`);
  console.log('| build | import (validator + schemas) | 1st validateBgpdConfig | 2nd | all three |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const [d, xs] of got) {
    console.log(
      `| ${d} | ${fmt(xs.map((x) => x.importMs))} | ${fmt(xs.map((x) => x.firstMs))} | ` +
        `${fmt(xs.map((x) => x.secondMs))} | ${fmt(xs.map((x) => x.importMs + x.firstMs + x.secondMs))} |`,
    );
  }
  console.log(
    `\nload (1 min): ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after; node ${process.version}`,
  );
}

await main();
