/**
 * The shipped entry points (package.json `bin` → dist/bin launchers → esbuild bundle, scripts/bundle.mjs)
 * work end to end, and the bundle keeps start-up lean: what `margayctl --help` and `margayctl get`
 * load statically holds no zod, valibot, yaml or pino (docs/startup.md). Needs `npm run build` first, like the
 * other integration tests that spawn dist/.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fnv1a, WRAPPER } from '../../scripts/cjs-launcher.mjs';

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

interface Meta {
  readonly inputs: Record<string, unknown>;
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

/** The bundle files a margayctl command ran (V8 coverage, file URLs), and the bundled modules it evaluated. */
async function evaluated(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  bin = 'margayctl',
): Promise<Evaluated> {
  const cov = await mkdtemp(join(work, 'cov-'));
  const r = await run([BIN(bin), ...argv], { ...env, NODE_V8_COVERAGE: cov });
  expect(r, r.err).toMatchObject({ code: 0 });
  const meta = JSON.parse(await readFile(join(REPO, 'dist/bundle/meta.json'), 'utf8')) as Meta;
  const files: string[] = [];
  const modules = new Set<string>();
  for (const f of await readdir(cov)) {
    const { result } = JSON.parse(await readFile(join(cov, f), 'utf8')) as Coverage;
    for (const script of result) {
      if (!script.url.startsWith(pathToFileURL(join(REPO, 'dist')).href)) continue;
      files.push(script.url.slice(script.url.indexOf('/dist/') + 1));
      // esbuild wraps a module evaluated on demand in a function named after its source file; the
      // others (what the file's entry imports statically) run when the file does.
      const wrapped = script.functions.filter((fn) => meta.inputs[fn.functionName] !== undefined);
      for (const fn of wrapped) if (fn.ranges[0]!.count > 0) modules.add(fn.functionName);
      const names = new Set(wrapped.map((fn) => fn.functionName));
      for (const input of Object.keys(meta.outputs[files.at(-1)!]?.inputs ?? {}))
        if (!names.has(input)) modules.add(input);
    }
  }
  return { files: files.sort(), modules: [...modules] };
}

interface Evaluated {
  readonly files: readonly string[];
  readonly modules: readonly string[];
}

interface Coverage {
  readonly result: readonly {
    readonly url: string;
    readonly functions: readonly { readonly functionName: string; readonly ranges: readonly { count: number }[] }[];
  }[];
}

describe('bundle contents (start-up)', () => {
  it('margayctl runs its launcher and CommonJS bundle files only: no ES module of dist/bundle; one fused file for apply, get, delete and ipam', async () => {
    const ds = `file:${join(work, 'ds-files')}`;
    const pool = join(work, 'files-pool.yaml');
    await writeFile(
      pool,
      'apiVersion: margay.dev/v1\nkind: IPPool\nmetadata: { name: f1 }\nspec: { cidr: 10.252.0.0/16 }\n',
    );
    const resources = ['dist/bin/margayctl.js', 'dist/bundle/entries/margayctl-src-cli-resources.cjs'];
    expect((await evaluated(['apply', '-f', pool, '--datastore', ds])).files).toEqual(resources);
    expect((await evaluated(['get', 'ippools', '--datastore', ds])).files).toEqual(resources);
    expect((await evaluated(['delete', 'ippool', 'f1', '--datastore', ds])).files).toEqual(resources);
    expect((await evaluated(['ipam', 'show', '--datastore', ds])).files).toEqual([
      'dist/bin/margayctl.js',
      'dist/bundle/entries/margayctl-ipam-cli.cjs',
    ]);
    // Help, and the groups not fused, run the small core (and the group's own file).
    const core = ['dist/bin/margayctl.js', 'dist/bundle/entries/margayctl.cjs'];
    expect((await evaluated(['--help'])).files).toEqual(core);
    expect((await evaluated(['apply', '--help'])).files).toEqual(core);
    expect((await evaluated(['ipam', '--help'])).files).toEqual([...core, 'dist/bundle/margayctl/ipam-cli.cjs']);
    expect((await evaluated(['bgp', '--help'])).files).toEqual([...core, 'dist/bundle/margayctl/bgp-cli-index.cjs']);
    // The fused and group files are written inside the launcher's function wrapper (compiled as read);
    // the core is a plain CommonJS file that also runs on its own.
    for (const f of [
      'entries/margayctl-src-cli-resources.cjs',
      'entries/margayctl-ipam-cli.cjs',
      'margayctl/ipam-cli.cjs',
    ]) {
      const text = await readFile(join(REPO, 'dist/bundle', f), 'utf8');
      expect(text.startsWith(WRAPPER), f).toBe(true);
      expect(text.endsWith('\n})'), f).toBe(true);
    }
    expect((await readFile(join(REPO, 'dist/bundle/entries/margayctl.cjs'), 'utf8')).startsWith(WRAPPER)).toBe(false);
    const direct = await run([join(REPO, 'dist/bundle/entries/margayctl.cjs'), 'version']);
    expect(direct.out).toMatch(/^margayctl \d/);
  });

  it("the dist/bin launchers run as CommonJS main modules (no ES module entry for Node's loader to start)", async () => {
    // An ES module entry leaves process.mainModule undefined; a CommonJS one is the launcher itself.
    const probe = join(work, 'main-probe.cjs');
    await writeFile(
      probe,
      "process.on('exit', () => require('node:fs').writeSync(2, 'MAIN=' + process.mainModule?.filename + '\\n'));\n",
    );
    expect(JSON.parse(await readFile(join(REPO, 'dist/bin/package.json'), 'utf8'))).toEqual({ type: 'commonjs' });
    for (const [bin, argv] of [
      ['margayctl', ['version']],
      ['margay-node', ['--help']],
      ['margay-bgpd', ['--help']],
    ] as const) {
      const r = await run(['-r', probe, BIN(bin), ...argv]);
      expect(r.code, r.err).toBe(0);
      expect(r.err, bin).toContain(`MAIN=${BIN(bin)}\n`);
    }
  });

  it('margay-node runs its launcher and one CommonJS bundle file: no ES module of dist/bundle', async () => {
    expect((await evaluated(['--help'], process.env, 'margay-node')).files).toEqual([
      'dist/bin/margay-node.js',
      'dist/bundle/entries/margay-node.cjs',
    ]);
  });

  it('margayctl --help, get, bgp --help and ipam show evaluate no valibot, yaml or pino; apply does', async () => {
    const ds = `file:${join(work, 'ds-contents')}`;
    const pool = join(work, 'contents-pool.yaml');
    await writeFile(
      pool,
      'apiVersion: margay.dev/v1\nkind: IPPool\nmetadata: { name: c1 }\nspec: { cidr: 10.253.0.0/16 }\n',
    );
    const heavy = /node_modules\/(valibot|yaml|pino)\//;
    const applied = await evaluated(['apply', '-f', pool, '--datastore', ds]);
    // The check below would pass vacuously if no command evaluated them.
    expect(applied.modules.filter((m) => heavy.test(m)).length).toBeGreaterThan(10);
    expect(applied.modules).toContain('src/datastore/file.ts');
    for (const argv of [
      ['--help'],
      ['bgp', '--help'],
      ['get', 'ippools', '--datastore', ds],
      ['ipam', 'show', '--datastore', ds],
    ]) {
      const e = await evaluated(argv);
      expect(e.modules.length, argv.join(' ')).toBeGreaterThan(2);
      expect(
        e.modules.filter((m) => heavy.test(m)),
        argv.join(' '),
      ).toEqual([]);
    }
  });
});

describe('margay-node module load (issue 10 cold start)', () => {
  // What the agent loads before its "modules loaded" step (the first process.cpuUsage() call, recorded
  // by a preload that then ends the process), through its launcher and CommonJS bundle: none of Node's
  // modules that only an unused export (prom-client's Pushgateway, pino's transport, sonic-boom's
  // assert) or the execa runner (the agent's runner is margay-spawn) needs. The step's log line shows
  // pino logging through the bundle (node-cache.int.test.ts reads the agent's prom-client metrics).
  it('loads no https, tls, zlib, child_process, tty or assert; pino still logs', async () => {
    const seen = join(work, 'agent-loaded.json');
    const preload = join(work, 'agent-loaded.mjs');
    await writeFile(
      preload,
      [
        "import { writeFileSync } from 'node:fs';",
        'const before = new Set(process.moduleLoadList);',
        'const cpuUsage = process.cpuUsage;',
        'process.cpuUsage = function (...a) {',
        '  process.cpuUsage = cpuUsage;',
        "  const loaded = process.moduleLoadList.filter((m) => !before.has(m)).map((m) => m.replace(/^NativeModule /, ''));",
        `  writeFileSync(${JSON.stringify(seen)}, JSON.stringify(loaded));`,
        '  queueMicrotask(() => process.exit(0));',
        '  return cpuUsage.apply(process, a);',
        '};',
      ].join('\n'),
    );
    const r = await run(['--import', preload, BIN('margay-node')], {
      ...process.env,
      NODENAME: 'bins',
      MARGAY_DATASTORE: `file:${join(work, 'agent-ds')}`,
      MARGAY_RUN_DIR: join(work, 'agent-run'),
      MARGAY_HEALTH_PORT: '0',
      MARGAY_METRICS_PORT: '0',
      MARGAY_LOG_LEVEL: 'info',
    });
    expect(r, r.err).toMatchObject({ code: 0 });
    expect(r.out + r.err).toContain('"step":"modules loaded"');
    const loaded = JSON.parse(await readFile(seen, 'utf8')) as string[];
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

  it('margayctl ends the process itself once a command is done and nothing is left to run; a stray rejection still fails it', async () => {
    const ds = `file:${join(work, 'ds-exit')}`;
    const pool = join(work, 'exit-pool.yaml');
    await writeFile(
      pool,
      'apiVersion: margay.dev/v1\nkind: IPPool\nmetadata: { name: e1 }\nspec: { cidr: 10.254.0.0/16 }\n',
    );
    // Preloads: one reports a process.exit call (the early end) and every 'exit' event; one rejects a
    // promise without a handler in the middle of the command (while the manifest's JSON is parsed).
    const spy = join(work, 'exit-spy.cjs');
    await writeFile(
      spy,
      [
        "const { writeSync } = require('node:fs');",
        'const exit = process.exit;',
        "process.exit = function (code) { writeSync(2, 'EARLY ' + code + '\\n'); return exit.call(process, code); };",
        "process.on('exit', (code) => writeSync(2, 'EXIT ' + code + '\\n'));",
      ].join('\n'),
    );
    const stray = join(work, 'stray.cjs');
    await writeFile(
      stray,
      [
        'const parse = JSON.parse;',
        'let once = true;',
        'JSON.parse = function (...a) {',
        "  if (once) { once = false; Promise.reject(new Error('stray rejection')); }",
        '  return parse.apply(this, a);',
        '};',
      ].join('\n'),
    );
    const applied = await run(['-r', spy, BIN('margayctl'), 'apply', '-f', pool, '--datastore', ds]);
    expect(applied, applied.err).toMatchObject({ code: 0 });
    expect(applied.out).toBe('ippools.margay.dev/e1 created\n');
    expect(applied.err).toBe('EARLY 0\nEXIT 0\n');
    const listed = await run(['-r', spy, BIN('margayctl'), 'get', 'ippools', 'e1', '--datastore', ds]);
    expect(listed.out).toMatch(/^NAME\s+SUMMARY/);
    // A command done within ≈ 3 ms of its start ends as it always did (its timer would not be due yet).
    expect(listed.err).toMatch(/^(EARLY 0\n)?EXIT 0\n$/);
    // A usage error ends early too, with its code; an unhandled rejection fails the process as Node
    // does without the early end (exit 1, the error on stderr), before the command's code is used.
    const usage = await run(['-r', spy, BIN('margayctl'), 'get', 'nokind', '--datastore', ds]);
    expect(usage.code).toBe(2);
    const failed = await run(['-r', spy, '-r', stray, BIN('margayctl'), 'apply', '-f', pool, '--datastore', ds]);
    expect(failed.code).toBe(1);
    expect(failed.err).toContain('Error: stray rejection');
    expect(failed.err).not.toContain('EARLY');
    // A ref'd timer left behind (here: a preload's) is waited for, as before.
    const timer = join(work, 'timer.cjs');
    await writeFile(timer, "setTimeout(() => require('node:fs').writeSync(2, 'TIMER\\n'), 50);\n");
    const waited = await run(['-r', spy, '-r', timer, BIN('margayctl'), 'apply', '-f', pool, '--datastore', ds]);
    expect(waited.code).toBe(0);
    expect(waited.err).toBe('TIMER\nEXIT 0\n');
  });

  it('margayctl keeps a V8 code cache per command, made after a run: written once, then used; a rejected one is rewritten, an untrusted one left alone', async () => {
    const cache = await mkdtemp(join(work, 'cc-'));
    const env = { ...process.env, NODE_COMPILE_CACHE: cache, NODE_DEBUG: 'margayctl' };
    const version = (): Promise<Run> => run([BIN('margayctl'), 'version'], env);
    const first = await version();
    expect(first, first.err).toMatchObject({ code: 0 });
    expect(first.err).toMatch(/none: .*-core-version\.v8/);
    expect(first.err).toMatch(/written: .*-core-version\.v8/);
    const second = await version();
    expect(second.out).toMatch(/^margayctl \d/);
    expect(second.err).toMatch(/accepted: .*-core-version\.v8/);
    expect(second.err).not.toContain('written');
    // Another command has its own cache; a failed run (usage error, exit 2) writes none.
    const help = await run([BIN('margayctl'), '--help'], env);
    expect(help.err).toMatch(/written: .*-core-help\.v8/);
    const bad = await run([BIN('margayctl'), 'version', 'extra'], env);
    expect(bad.code).toBe(2);
    expect(bad.err).not.toContain('written');
    const [folder] = (await readdir(cache)).filter((f) => f.startsWith('margayctl-'));
    expect(folder).toBeDefined();
    const dir = join(cache, folder!);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    const [file] = (await readdir(dir)).filter((f) => f.endsWith('-core-version.v8')).map((f) => join(dir, f));
    // Not a cache V8 can use (another Node, other flags, a torn file): rejected, and written again.
    await writeFile(file!, Buffer.alloc(64, 7));
    const rejected = await version();
    expect(rejected.out).toMatch(/^margayctl \d/);
    expect(rejected.err).toMatch(/rejected: .*-core-version\.v8/);
    expect(rejected.err).toMatch(/written: .*-core-version\.v8/);
    // A code cache is code: one others may write is not read. In the user's own folder it is replaced
    // (rename) by one only the user may write; in a folder others may write, nothing is read or written.
    await chmod(file!, 0o666);
    const open = await version();
    expect(open.err).toMatch(/ignored \(mode 666\): .*-core-version\.v8/);
    expect(open.err).toMatch(/written: .*-core-version\.v8/);
    expect((await stat(file!)).mode & 0o777).toBe(0o600);
    if (process.getuid?.() === 0) {
      await chown(file!, 1, 1);
      expect((await version()).err).toMatch(/ignored \(owned by uid 1\)/);
    }
    await chmod(dir, 0o777);
    const shared = await version();
    expect(shared.out).toMatch(/^margayctl \d/);
    expect(shared.err).toMatch(/ignored \(folder not trusted\)/);
    expect(shared.err).not.toContain('written');
    await chmod(dir, 0o700);
    const off = await run([BIN('margayctl'), 'version'], { ...env, NODE_DISABLE_COMPILE_CACHE: '1' });
    expect(off.out).toMatch(/^margayctl \d/);
    expect(off.err).toBe('');
  });

  it('margayctl never follows a symlinked cache folder: nothing read, written or pruned where it points', async () => {
    const cache = await mkdtemp(join(work, 'cc-link-'));
    const victim = await mkdtemp(join(work, 'victim-'));
    await writeFile(join(victim, 'keep.v8'), 'not ours');
    await writeFile(join(victim, 'v1.0.0-x64-00ff-core-version.v8'), 'an older cache-like name');
    const core = join(REPO, 'dist/bundle/entries/margayctl.cjs');
    await symlink(victim, join(cache, `margayctl-${process.getuid?.() ?? 0}-${fnv1a(core)}`));
    const env = { ...process.env, NODE_COMPILE_CACHE: cache, NODE_DEBUG: 'margayctl' };
    for (let i = 0; i < 2; i++) {
      const r = await run([BIN('margayctl'), 'version'], env);
      expect(r.out).toMatch(/^margayctl \d/);
      expect(r.err).toMatch(/not written \(folder not a directory \(a symlink\?\)\)/);
    }
    expect((await readdir(victim)).sort()).toEqual(['keep.v8', 'v1.0.0-x64-00ff-core-version.v8']);
    // A real folder of the user's own is pruned of older caches only, never of other files.
    const own = await mkdtemp(join(work, 'cc-own-'));
    const dir = join(own, `margayctl-${process.getuid?.() ?? 0}-${fnv1a(core)}`);
    await mkdir(dir, { mode: 0o700 });
    await writeFile(join(dir, 'notes.txt'), 'mine');
    await writeFile(join(dir, 'v1.0.0-x64-00ff-core-version.v8'), 'old');
    const r = await run([BIN('margayctl'), 'version'], { ...env, NODE_COMPILE_CACHE: own });
    expect(r.err).toMatch(/written: /);
    const left = await readdir(dir);
    expect(left).toContain('notes.txt');
    expect(left).not.toContain('v1.0.0-x64-00ff-core-version.v8');
  });

  it("margay-bgpd's launcher resolves the bundle's own chunk imports itself and leaves every other import to Node's resolver", async () => {
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
    // margay-bgpd's entry imports its first chunks statically (its bundle is ES modules).
    const r = await run(['--import', spy, BIN('margay-bgpd'), '--help']);
    expect(r, r.err).toMatchObject({ code: 0 });
    expect(r.out).toContain('margay-bgpd');
    const lines = (await readFile(seen, 'utf8')).trim().split('\n');
    expect(lines.some((l) => l.includes('dist/bundle/entries/margay-bgpd.js <- '))).toBe(true); // the launcher's own import
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
