/**
 * The shipped entry points (package.json `bin` → dist/bin launchers → esbuild bundle, scripts/bundle.mjs)
 * work end to end, and the bundle keeps start-up lean: what `margayctl --help` and `margayctl get`
 * load statically holds no zod, valibot, yaml or pino (docs/startup.md). Needs `npm run build` first, like the
 * other integration tests that spawn dist/.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const REPO = HERE.includes('/dist/test/') ? HERE.slice(0, HERE.indexOf('/dist/test/')) : join(HERE, '../..');
const BIN = (name: string): string => join(REPO, 'dist/bin', `${name}.js`);

interface Run {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

function run(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => c.kill('SIGKILL'), 30_000);
    c.on('error', reject);
    c.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

/** Output files (relative to dist/bundle) an entry or chunk loads before running: static imports only. */
function staticClosure(meta: Meta, start: string): Set<string> {
  const key = (f: string): string => f.slice(f.indexOf('dist/bundle/') + 'dist/bundle/'.length);
  const outputs = new Map(Object.entries(meta.outputs).map(([k, v]) => [key(k), v]));
  const seen = new Set<string>();
  const todo = [start];
  while (todo.length > 0) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    for (const i of outputs.get(f)?.imports ?? [])
      if (i.kind === 'import-statement' && !i.external) todo.push(key(i.path));
  }
  return seen;
}

interface Meta {
  readonly outputs: Record<
    string,
    {
      readonly entryPoint?: string;
      readonly inputs: Record<string, unknown>;
      readonly imports: readonly { readonly path: string; readonly kind: string; readonly external?: boolean }[];
    }
  >;
}

let work = '';
beforeAll(async () => {
  if (!existsSync(BIN('margayctl'))) throw new Error(`${BIN('margayctl')} missing: run npm run build first`);
  work = await mkdtemp(join(tmpdir(), 'mgy-bins-'));
});
afterAll(async () => {
  if (work !== '') await rm(work, { recursive: true, force: true });
});

describe('bundle contents (start-up)', () => {
  it('margayctl --help, the get/apply/delete chunk and the bgp and ipam groups load no zod, valibot, yaml or pino before running', async () => {
    const meta = JSON.parse(await readFile(join(REPO, 'dist/bundle/meta.json'), 'utf8')) as Meta;
    const chunkOf = (entry: string): string => {
      const hit = Object.entries(meta.outputs).find(([, v]) => v.entryPoint === entry);
      if (!hit) throw new Error(`no bundle output for ${entry}`);
      return hit[0].slice(hit[0].indexOf('dist/bundle/') + 'dist/bundle/'.length);
    };
    const heavy = /node_modules\/(zod|valibot|yaml|pino)\//;
    for (const start of [
      'entries/margayctl.js',
      chunkOf('src/cli/resources.ts'),
      chunkOf('bgp/cli/index.ts'),
      chunkOf('ipam/cli.ts'),
    ]) {
      const inputs = [...staticClosure(meta, start)].flatMap((f) =>
        Object.keys(meta.outputs[`dist/bundle/${f}`]!.inputs),
      );
      expect(inputs.length, start).toBeGreaterThan(0);
      expect(
        inputs.filter((i) => heavy.test(i)),
        start,
      ).toEqual([]);
    }
    // The apply path does load the validators: the check above would pass vacuously if nothing did.
    const all = Object.values(meta.outputs).flatMap((o) => Object.keys(o.inputs));
    expect(all.some((i) => /node_modules\/valibot\//.test(i))).toBe(true);
  });
});

describe('margay-node module load (issue 10 cold start)', () => {
  // What the agent's main imports before "modules loaded" (the entry's dynamic imports, in order), in a
  // fresh Node: none of Node's modules that only an unused export (prom-client's Pushgateway, pino's
  // transport, sonic-boom's assert) or the execa runner (the agent's runner is margay-spawn) needs.
  it('loads no https, tls, zlib, child_process, tty or assert; prom-client and pino still work', async () => {
    const script = `
      const { readFileSync } = await import('node:fs');
      const bundle = ${JSON.stringify(join(REPO, 'dist/bundle'))};
      const entry = readFileSync(bundle + '/entries/margay-node.js', 'utf8');
      const before = new Set(process.moduleLoadList);
      const mods = {};
      for (const m of entry.matchAll(/import\\("\\.\\.\\/chunks\\/([^"]+)"\\)/g)) Object.assign(mods, await import(bundle + '/chunks/' + m[1]));
      const loaded = process.moduleLoadList.filter((m) => !before.has(m)).map((m) => m.replace(/^NativeModule /, ''));
      // The agent as main() makes it (pino logging to stderr), and its prom-client registry at work.
      const log = mods.createRootLogger({ level: 'info', name: 'margay-node', destination: 2 });
      log.info('logged through the bundle');
      const agent = new mods.NodeAgent({}, log);
      agent.metrics.applyFailures.inc();
      const metrics = await agent.metrics.registry.metrics();
      process.stdout.write(JSON.stringify({ loaded, names: Object.keys(mods).length, metrics }));
    `;
    const r = await run(['--input-type=module', '-e', script]);
    expect(r, r.err).toMatchObject({ code: 0 });
    const { loaded, names, metrics } = JSON.parse(r.out) as { loaded: string[]; names: number; metrics: string };
    expect(names).toBeGreaterThan(3);
    expect(metrics).toMatch(/_total 1\n/);
    expect(r.err).toContain('logged through the bundle');
    expect(loaded.length).toBeGreaterThan(0);
    for (const m of ['https', 'tls', 'zlib', 'child_process', 'tty', 'assert', 'http'])
      expect(loaded, `${m} loaded`).not.toContain(m);
  });
});

describe('dist/bin launchers', () => {
  it('margayctl: help, apply, get (table, json, yaml), delete through the bundle', async () => {
    const ds = `file:${join(work, 'ds')}`;
    const pool = join(work, 'pool.yaml');
    await writeFile(
      pool,
      'apiVersion: margay.dev/v1\nkind: IPPool\nmetadata: { name: p1 }\nspec: { cidr: 10.250.0.0/16 }\n',
    );
    const help = await run([BIN('margayctl'), '--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('Groups:');
    expect((await run([BIN('margayctl'), 'bgp', '--help'])).out).toContain('peers');
    expect((await run([BIN('margayctl'), 'get', '--help'])).out).toContain('usage: margayctl get');
    expect((await run([BIN('margayctl'), 'version'])).out).toMatch(/^margayctl \d+\.\d+\.\d+ \(Node\.js v/);
    const applied = await run([BIN('margayctl'), 'apply', '-f', pool, '--datastore', ds]);
    expect(applied, applied.err).toMatchObject({ code: 0 });
    expect(applied.out).toContain('ippools.margay.dev/p1 created');
    const table = await run([BIN('margayctl'), 'get', 'ippools', '--datastore', ds]);
    expect(table.out).toMatch(/p1\s+10\.250\.0\.0\/16 block \/26/);
    const json = await run([BIN('margayctl'), 'get', 'ippool', 'p1', '-o', 'json', '--datastore', ds]);
    expect(JSON.parse(json.out)).toMatchObject({ kind: 'IPPool', spec: { cidr: '10.250.0.0/16', blockSize: 26 } });
    const yaml = await run([BIN('margayctl'), 'get', 'ippools', '-o', 'yaml', '--datastore', ds]);
    expect(yaml.out).toContain('cidr: 10.250.0.0/16');
    const bad = join(work, 'bad.yaml');
    await writeFile(bad, 'apiVersion: margay.dev/v1\nkind: IPPool\nmetadata: { name: p2 }\nspec: { cidr: nope }\n');
    const rejected = await run([BIN('margayctl'), 'apply', '-f', bad, '--datastore', ds]);
    expect(rejected.code).toBe(1);
    expect(rejected.err).toContain('spec.cidr');
    const show = await run([BIN('margayctl'), 'ipam', 'show', '--datastore', ds]);
    expect(show, show.err).toMatchObject({ code: 0 });
    expect(show.out).toMatch(/IP Pool\s+10\.250\.0\.0\/16\s+65536/);
    const check = await run([BIN('margayctl'), 'ipam', 'check', '--datastore', ds]);
    expect(check.out).toContain('No problems found.');
    const deleted = await run([BIN('margayctl'), 'delete', '-f', pool, '--datastore', ds]);
    expect(deleted.out).toContain('deleted');
    expect((await run([BIN('margayctl'), 'get', 'ippools', '--datastore', ds])).out).toContain('No ippools found.');
  });

  it("resolves the bundle's own chunk imports itself and leaves every other import to Node's resolver", async () => {
    // A hook registered before the launcher's runs after it: it sees only what the launcher passes on.
    const seen = join(work, 'resolved.txt');
    const spy = join(work, 'spy.mjs');
    await writeFile(
      spy,
      [
        "import { appendFileSync } from 'node:fs';",
        "import module from 'node:module';",
        'module.registerHooks({',
        '  resolve(specifier, context, next) {',
        `    appendFileSync(${JSON.stringify(seen)}, \`\${specifier} <- \${context.parentURL ?? ''}\\n\`);`,
        '    return next(specifier, context);',
        '  },',
        '});',
      ].join('\n'),
    );
    const pool = join(work, 'spy-pool.yaml');
    await writeFile(
      pool,
      'apiVersion: margay.dev/v1\nkind: IPPool\nmetadata: { name: spy }\nspec: { cidr: 10.251.0.0/16 }\n',
    );
    const r = await run([
      '--import',
      spy,
      BIN('margayctl'),
      'apply',
      '-f',
      pool,
      '--datastore',
      `file:${join(work, 'ds-spy')}`,
    ]);
    expect(r, r.err).toMatchObject({ code: 0 });
    expect(r.out).toContain('ippools.margay.dev/spy created');
    const lines = (await readFile(seen, 'utf8')).trim().split('\n');
    expect(lines.some((l) => l.includes('dist/bundle/entries/margayctl.js <- '))).toBe(true); // the launcher's own import
    const fromBundle = lines.filter(
      (l) => l.includes('/dist/bundle/') && l.split(' <- ')[1]?.includes('/dist/bundle/'),
    );
    expect(fromBundle.filter((l) => l.startsWith('./') || l.startsWith('../'))).toEqual([]);
  });

  it('margay-bgpd answers on its control socket and margayctl bgp peers reads it; margay-node --help', async () => {
    const socket = join(work, 'bgpd.sock');
    const conf = join(work, 'bgpd.yaml');
    await writeFile(
      conf,
      `routerId: 192.0.2.1\nasn: 65001\nlisten: { addresses: [], port: 0 }\nfib: { enabled: false }\ncontrol: { socket: ${socket} }\n`,
    );
    // Executed as a program, as the npm bin runs: the launcher's #! line (env -S) starts Node with the
    // tuned settings, so the daemon neither re-executes nor warns that they are missing.
    const d = spawn(BIN('margay-bgpd'), ['--config', conf, '--log-level', 'warn'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` },
    });
    let err = '';
    d.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const exited = new Promise<number | null>((r) => d.on('close', (c) => r(c)));
    try {
      const t0 = Date.now();
      for (;;) {
        if (d.exitCode !== null) throw new Error(`margay-bgpd exited ${d.exitCode}: ${err}`);
        if (Date.now() - t0 > 20_000) throw new Error(`no control socket within 20 s: ${err}`);
        const up = await new Promise<boolean>((resolve) => {
          const s = connect(socket);
          s.once('connect', () => (s.destroy(), resolve(true)));
          s.once('error', () => resolve(false));
        });
        if (up) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const peers = await run([BIN('margayctl'), 'bgp', 'peers', '--socket', socket]);
      expect(peers, peers.err).toMatchObject({ code: 0 });
    } finally {
      d.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(err).not.toContain('memory settings not applied');
    const node = await run([BIN('margay-node'), '--help']);
    expect(node.code).toBe(0);
    expect(node.out).toContain('usage: margay-node');
  });
});
