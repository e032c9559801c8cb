/**
 * The resource model's own cost (docs/startup.md, fifth pass): in a fresh Node per sample, CPU time
 * (user + sys, µs resolution, `process.cpuUsage()`) of importing the model (tsc output, module compile
 * cache on), of the first IPPool validation (its schema built), of the second, of a first
 * GlobalNetworkPolicy, and the steady-state CPU per validation over 2,000 mixed validations (IPPool,
 * GlobalNetworkPolicy, IPAMBlock twice — what the agent's resource cache does). `--repo DIR`
 * (repeatable) compares built checkouts, e.g. a copy of main's `dist/` and `package.json`; rounds are
 * interleaved so a load spike hits every side alike. Median and min–max.
 *
 *   npm run build && node dist/test/bench/startup-model.js [--runs 10] [--repo /tmp/main-copy --repo .]
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    repo: { type: 'string', multiple: true, default: [REPO] },
  },
});

const SCRIPT = `
import module from 'node:module';
module.enableCompileCache?.();
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const t0 = cpu();
const m = await import(process.argv[1] + '/dist/src/model/index.js');
const t1 = cpu();
const pool = (n) => ({ apiVersion: 'margay.dev/v1', kind: 'IPPool', metadata: { name: n }, spec: { cidr: '10.244.0.0/16', natOutgoing: true } });
m.validateResource(pool('a'));
const t2 = cpu();
m.validateResource(pool('b'));
const t3 = cpu();
const gnp = { apiVersion: 'margay.dev/v1', kind: 'GlobalNetworkPolicy', metadata: { name: 'g' }, spec: { selector: 'a == "b"',
  ingress: [{ action: 'Allow', protocol: 'TCP', source: { nets: ['10.0.0.0/8'] }, destination: { ports: [80, '8000:8080'] } }], egress: [{ action: 'Deny' }] } };
m.validateResource(gnp);
const t4 = cpu();
const blk = { apiVersion: 'margay.dev/v1', kind: 'IPAMBlock', metadata: { name: 'b' }, spec: { cidr: '10.0.0.0/26', affinity: 'host:n1' } };
for (let i = 0; i < 500; i++) { m.validateResource(pool('p' + i)); m.validateResource(gnp); m.validateResource(m.validateResource(blk)); }
const t5 = cpu();
process.stdout.write(JSON.stringify({ importMs: t1 - t0, firstIPPoolMs: t2 - t1, secondIPPoolMs: t3 - t2, firstGnpMs: t4 - t3, steadyUs: ((t5 - t4) * 1000) / 2000 }));
`;

type Sample = Record<string, number>;

function sample(repo: string): Promise<Sample> {
  return new Promise((ok, fail) => {
    const c = spawn(process.execPath, ['--input-type=module', '-e', SCRIPT, repo], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('error', fail);
    c.on('close', (code) =>
      code === 0 ? ok(JSON.parse(out) as Sample) : fail(new Error(`${repo}: exit ${code}: ${err}`)),
    );
  });
}

const fmt = (xs: number[]): string => {
  const s = [...xs].sort((a, b) => a - b);
  return `${s[Math.floor(s.length / 2)]!.toFixed(1)} (${s[0]!.toFixed(1)}–${s[s.length - 1]!.toFixed(1)})`;
};

const repos = values.repo.map((r) => resolve(r));
const runs = Number(values.runs);
const samples = new Map<string, Sample[]>(repos.map((r) => [r, []]));
const load0 = loadavg()[0]!.toFixed(2);
for (let i = 0; i < runs; i++) for (const r of repos) samples.get(r)!.push(await sample(r));
console.log(
  `# model cost in-process: ${runs} fresh processes per build, Node ${process.version}, load ${load0} → ${loadavg()[0]!.toFixed(2)}\n`,
);
console.log('| build | import ms | first IPPool ms | second IPPool ms | first GNP ms | steady µs / validation |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const [r, ss] of samples) {
  const col = (k: string): string => fmt(ss.map((s) => s[k]!));
  console.log(
    `| ${r} | ${col('importMs')} | ${col('firstIPPoolMs')} | ${col('secondIPPoolMs')} | ${col('firstGnpMs')} | ${col('steadyUs')} |`,
  );
}
