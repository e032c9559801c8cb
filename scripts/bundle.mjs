#!/usr/bin/env node
/**
 * Start-up: bundles the entry points and writes the small launchers package.json's `bin` names
 * (docs/startup.md has the figures).
 *
 *   dist/bundle/entries/<daemon>.js, dist/bundle/chunks/*.js
 *                          esbuild, ES modules: our modules and the npm packages they use merged per
 *                          daemon, code split at dynamic `import()`s (lazy daemon parts become chunks
 *                          loaded only when used). Both folders sit three levels below the repo, like
 *                          dist/src/<dir>/x.js, so `new URL('../../..', import.meta.url)` still names the
 *                          repo (src/lab, bgp/native/sockopt.ts rely on that).
 *                          EXTERNAL packages are left to node_modules (large and loaded lazily anyway).
 *   dist/bundle/entries/margayctl.cjs, dist/bundle/margayctl/*.cjs
 *                          esbuild, CommonJS: a core and one file per command group; what a dynamic
 *                          `import()` reaches is evaluated on first use (esbuild's lazy module wrappers), so
 *                          a command still runs only its own code; import.meta.url is the file's URL,
 *                          passed in by the launcher.
 *   dist/bundle/entries/margay-node.cjs
 *                          esbuild, one CommonJS file for the agent (DAEMONS), the same way.
 *   dist/bin/<bin>.js      launcher (CommonJS: dist/bin/package.json): turns on Node's module compile cache (module.enableCompileCache;
 *                          V8 code cache on disk, reused by every later start), then loads the bundle;
 *                          margayctl's runs its bundle with a code cache made after a run of the same
 *                          command, margay-node's with one made once the agent is up (scripts/cjs-launcher.mjs).
 *
 * The tsc output (dist/<path>/main.js) stays as it was: tests and scripts that spawn it keep working.
 * Run by `npm run build` after tsc; `node scripts/bundle.mjs` alone rebuilds just these.
 */
import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { barrelImports } from './barrel-imports.mjs';
import { enableCompileCacheSafely, launcherSource, WRAPPER } from './cjs-launcher.mjs';
import { lazyRequires } from './lazy-requires.mjs';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Loaded from node_modules at run time, not bundled: big, only loaded lazily, and hard to test bundled here. */
const EXTERNAL = ['@kubernetes/client-node'];
/** bin name → entry point. Keep in step with package.json "bin". */
export const ENTRIES = {
  margayctl: 'src/cli/margayctl.ts',
  'margay-bgpd': 'bgp/main.ts',
  'margay-node': 'agent/main.ts',
};
/**
 * Bundled as CommonJS (buildCjs) and run by scripts/cjs-launcher.mjs's launcher: short-lived commands,
 * where a code cache made after a run saves the compilation of every function the command runs.
 */
const CJS = 'margayctl';
/**
 * Daemons bundled as one CommonJS file each and run by the same launcher, whose code cache is written
 * once the daemon is up (it calls `globalThis[Symbol.for('margay.started')]`): it holds the functions of
 * the start-up as well as the import-time code (docs/startup.md, eighth pass).
 */
const DAEMONS = ['margay-node'];

/**
 * The launcher's `#!` line. margay-bgpd and margay-node (agent/tuning.ts) want tuned V8 flags and a
 * malloc setting that must be in place before Node starts, and re-executes itself to get them (bgp/main.ts, tunedExec) — a second Node start.
 * Run as a program (the npm bin, `margay-bgpd ...`), its launcher starts Node with them already, through
 * `env -S` (GNU coreutils ≥ 8.30), and marks the image tuned, so no re-exec happens. `node
 * dist/bin/margay-bgpd.js` ignores the line and re-executes as before. The values come from the tsc
 * output of bgp/main.ts and agent/tuning.ts (built before this script runs), so they cannot drift.
 */
const TUNED = { 'margay-bgpd': 'dist/bgp/main.js', 'margay-node': 'dist/agent/tuning.js' };
async function shebang(name) {
  if (TUNED[name] === undefined) return '#!/usr/bin/env node';
  const { TUNED_ENV, TUNED_V8_FLAGS, TUNED_MALLOC_ENV } = await import(join(REPO, TUNED[name]));
  const env = Object.entries({ ...TUNED_MALLOC_ENV, [TUNED_ENV]: '1' }).map(([k, v]) => `${k}=${v}`);
  const line = `#!/usr/bin/env -S ${env.join(' ')} node ${TUNED_V8_FLAGS.join(' ')}`;
  // Linux reads at most 255 bytes of a #! line (127 before 5.1): refuse to write one it would cut.
  if (line.length > 127) throw new Error(`bundle: launcher #! line too long (${line.length}): ${line}`);
  return line;
}

/**
 * CommonJS packages inside an ES module bundle still call require(), nearly always for Node's
 * built-ins. Every chunk gets this `require`: built-ins come from process.getBuiltinModule, anything
 * else (and require.resolve, .cache) from a createRequire made on first use. Making one in every
 * chunk up front cost each start-up a Module object and path and package.json look-ups per chunk.
 */
const REQUIRE_BANNER = [
  'let __margayReq;',
  "const __margayRequire = () => (__margayReq ??= process.getBuiltinModule('node:module').createRequire(import.meta.url));",
  'const require = Object.defineProperties((id) => process.getBuiltinModule(id) ?? __margayRequire()(id), {',
  '  resolve: { get: () => __margayRequire().resolve },',
  '  cache: { get: () => __margayRequire().cache },',
  '  main: { get: () => __margayRequire().main },',
  '});',
].join(' ');

/**
 * `yaml` is resolved to its ES module build (browser/index.js: the same code, written as ES modules)
 * rather than the CommonJS one Node's export condition picks: ES modules are tree-shaken and need no
 * CommonJS wrappers run at load.
 */
const yamlAsEsm = {
  name: 'margay-yaml-esm',
  setup(b) {
    b.onResolve({ filter: /^yaml$/ }, () => ({ path: join(REPO, 'node_modules/yaml/browser/index.js') }));
  },
};

function launcher(name, firstLine) {
  return `${firstLine}
// ${name}: generated by scripts/bundle.mjs — do not edit. Turns on Node's module compile cache, then
// runs the bundle as the main module (argv[1] names it, so its isMain() check holds). The cache
// directory goes into NODE_COMPILE_CACHE too, so a re-exec (margay-bgpd's tuned image) and child Node
// processes use the same cache.
// The bundle's own relative imports (./chunk-….js between its files, all ES modules) are resolved here
// in one URL join: Node's resolver would turn each into a path, stat and realpath it and look up the
// package scope, ≈ 1 ms of CPU per file (a command imports 20–30 of them). Anything else (node_modules,
// built-ins) goes to Node's resolver as before. This file is CommonJS (dist/bin/package.json), like the
// other launchers there; the bundle it imports is ES modules.
const fs = process.getBuiltinModule('node:fs');
const nodeModule = process.getBuiltinModule('node:module');
const { join } = process.getBuiltinModule('node:path');
const { pathToFileURL } = process.getBuiltinModule('node:url');

${enableCompileCacheSafely.toString()}
enableCompileCacheSafely(fs, nodeModule, process.env, process.getuid?.() ?? 0);
const bundleDir = pathToFileURL(join(__dirname, '../bundle/')).href;
nodeModule.registerHooks?.({
  resolve(specifier, context, next) {
    const parent = context.parentURL;
    if (
      (specifier.startsWith('./') || specifier.startsWith('../')) &&
      specifier.endsWith('.js') &&
      parent?.startsWith(bundleDir)
    ) {
      const url = new URL(specifier, parent).href;
      if (url.startsWith(bundleDir)) return { url, format: 'module', shortCircuit: true };
    }
    return next(specifier, context);
  },
});
const bundle = join(__dirname, '../bundle/entries/${name}.js');
process.argv[1] = bundle;
// As a failed top-level await of an ES module launcher would: the error is uncaught, exit code 1.
import(pathToFileURL(bundle).href).catch((err) => process.nextTick(() => {
  throw err;
}));
`;
}

/** Options both builds share. */
function common(out) {
  return {
    absWorkingDir: REPO,
    outdir: out,
    bundle: true,
    platform: 'node',
    target: 'node24',
    external: EXTERNAL,
    entryNames: 'entries/[name]',
    sourcemap: 'linked',
    // Whitespace and comments out (names kept; the linked source maps give back files and lines): the
    // comments' non-ASCII characters (—, →, §) made V8 hold each chunk's source as a two-byte string,
    // and every byte of source is held in every daemon's heap for lazy compilation (docs/startup.md).
    minifyWhitespace: process.env.MARGAY_BUNDLE_MINIFY !== '0',
    logLevel: 'warning',
    metafile: true,
    plugins: [barrelImports(REPO), yamlAsEsm, lazyRequires()],
  };
}

/**
 * margayctl as CommonJS (scripts/cjs-launcher.mjs runs it): the core (dist/bundle/entries/margayctl.cjs:
 * the dispatcher, version, help) and one file per lazily loaded command group (dist/bundle/margayctl/
 * NAME.cjs, what margayctl.ts `import()`s: the resource commands, ipam, bgp, node, lab), each with
 * everything it uses but the modules it shares with the core (SHARED: the error classes the core checks
 * with instanceof), which it takes from the core. So `--help` compiles and caches a few KiB, and `apply`
 * only the resource commands. import.meta.url becomes `__margayImportMetaUrl`, a parameter of the
 * launcher's wrapper (the banner computes it when a file is required some other way); the `#!` line
 * esbuild copies from the entry becomes a comment (the launcher compiles each file inside a function).
 * Returns the metafiles and the content hash of all the files (the launcher's cache key).
 */
const SHARED = { 'src/errors.ts': 'errors', 'src/cli/command.ts': 'command' };
const GROUP_DIR = 'margayctl';
/**
 * Command groups also built *fused* with the core, as one file (dist/bundle/entries/margayctl-GROUP.cjs:
 * the core with that group inside, in esbuild's lazy module wrapper), and the first words that run it
 * (the launcher's `fused`): `apply -f x.yaml` then compiles, checks and deserializes one file and one
 * code cache instead of two (docs/startup.md, tenth pass). A request for help (`apply --help`) still
 * runs the small core. Keep in step with margayctl.ts (VERBS / GROUPS): test/startup/bins.int.test.ts
 * checks that each of these commands runs the launcher and its fused file only.
 */
export const FUSED = { 'src/cli/resources.ts': ['apply', 'get', 'delete'], 'ipam/cli.ts': ['ipam'] };

/** `./x.js` from `dir` → the repo-relative .ts path (our sources are .ts; tsc maps .js to .ts). */
function tsSource(dir, spec) {
  return relative(REPO, resolve(dir, spec)).replace(/\.js$/, '.ts');
}

/** esbuild options of a CommonJS file run by the launcher (import.meta.url: the launcher passes the file's URL). */
function cjsOptions(out) {
  return {
    ...common(out),
    format: 'cjs',
    outExtension: { '.js': '.cjs' },
    // import.meta.filename: the file's path, which the launcher passes as __filename.
    define: { 'import.meta.url': '__margayImportMetaUrl', 'import.meta.filename': '__filename' },
    banner: {
      // 'use strict' first: esbuild's own directive comes after the banner, where it would be no directive.
      js: "'use strict'; var __margayImportMetaUrl = __margayImportMetaUrl ?? require('node:url').pathToFileURL(__filename).href;",
    },
  };
}

/**
 * The `#!` line esbuild copies from the entry becomes a comment (the launcher compiles each file inside a
 * function); files in `wrapped` are written inside that function (WRAPPER, at the start of their first
 * line: line numbers and the source map stay right), so the launcher compiles them as read.
 */
async function finish(files, wrapped = new Set(), ascii = false) {
  const hash = createHash('sha256');
  for (const file of files) {
    let text = (await readFile(file, 'utf8')).replace(/^#!/, '//#!');
    if (wrapped.has(file)) text = `${WRAPPER}${text}\n})`;
    // esbuild escapes non-ASCII characters in strings, not in regular expressions: one such byte takes
    // the file's whole text off V8's ASCII fast path when the launcher reads it (docs/startup.md, tenth
    // pass). Write it as \uXXXX in the source.
    const at = ascii ? [...text].findIndex((c) => c.charCodeAt(0) > 0x7f) : -1;
    if (at >= 0) throw new Error(`bundle: ${file} holds a non-ASCII character: …${text.slice(at - 40, at + 10)}…`);
    await writeFile(file, text);
    hash.update(text);
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * A daemon (DAEMONS) as one CommonJS file, dist/bundle/entries/NAME.cjs: everything its start-up loads
 * is in it, what it imports lazily too (esbuild's module wrappers: evaluated on first use). `import()`
 * of an external package (@kubernetes/client-node) stays a dynamic import at run time (the launcher's
 * vm.Script loads it with Node's default loader).
 */
async function buildDaemonCjs(out, name) {
  const r = await build({ ...cjsOptions(out), entryPoints: { [name]: ENTRIES[name] } });
  return { metafile: r.metafile, hash: await finish([join(out, 'entries', `${name}.cjs`)]) };
}

/** A group's name (its file names): its source path with dashes. */
const groupName = (src) => src.replace(/\.ts$/, '').replaceAll('/', '-');

async function buildCjs(out) {
  const entry = ENTRIES[CJS];
  const groups = new Map(); // source → group name
  const cjs = {
    ...cjsOptions(out),
    // import() of a group or of node_modules becomes require() in a promise (the launcher's require).
    supported: { 'dynamic-import': false },
  };
  /**
   * The core: the entry, and its shared modules exported for the groups (`__errors`, `__command`);
   * every group external (`margayctl-group:NAME`, loaded by the launcher) but `inside` (a fused file).
   */
  const coreBuild = (name, inside) =>
    build({
      ...cjs,
      entryPoints: { [name]: 'margayctl-core' },
      plugins: [
        {
          name: 'margayctl-core',
          setup(b) {
            b.onResolve({ filter: /^margayctl-core$/ }, () => ({ path: 'margayctl-core', namespace: 'margayctl' }));
            b.onLoad({ filter: /.*/, namespace: 'margayctl' }, () => ({
              resolveDir: REPO,
              loader: 'js',
              contents: [
                `export * from './${entry}';`,
                ...Object.entries(SHARED).map(([f, n]) => `export * as __${n} from './${f}';`),
              ].join('\n'),
            }));
            b.onResolve({ filter: /^\./ }, (a) => {
              if (a.kind !== 'dynamic-import' || a.importer !== join(REPO, entry)) return undefined;
              const src = tsSource(a.resolveDir, a.path);
              groups.set(src, groupName(src));
              return src === inside ? undefined : { path: `margayctl-group:${groupName(src)}`, external: true };
            });
          },
        },
        ...cjs.plugins,
      ],
    });
  const core = await coreBuild(CJS, undefined);
  const fused = [];
  for (const src of Object.keys(FUSED)) {
    const r = await coreBuild(`${CJS}-${groupName(src)}`, src);
    const file = `dist/bundle/entries/${CJS}-${groupName(src)}.cjs`;
    // The group must be inside, not loaded as a file of its own (a renamed import would leave it out).
    if (r.metafile.outputs[file]?.inputs[src] === undefined) throw new Error(`bundle: ${src} not fused into ${file}`);
    fused.push(r.metafile);
  }
  const grouped = await build({
    ...cjs,
    entryPoints: Object.fromEntries([...groups].map(([src, name]) => [name, src])),
    entryNames: `${GROUP_DIR}/[name]`,
    plugins: [
      {
        name: 'margayctl-shared',
        setup(b) {
          b.onResolve({ filter: /^\./ }, (a) => {
            const name = SHARED[tsSource(a.resolveDir, a.path)];
            return name === undefined ? undefined : { path: `margayctl-core:${name}`, external: true };
          });
        },
      },
      ...cjs.plugins,
    ],
  });
  // The core stays a plain CommonJS file (`node dist/bundle/entries/margayctl.cjs version` works); the
  // group files (they need the core's modules from the launcher) and the fused ones run only through the
  // launcher and are written wrapped.
  const wrapped = [
    ...Object.keys(FUSED).map((src) => join(out, 'entries', `${CJS}-${groupName(src)}.cjs`)),
    ...[...groups.values()].map((n) => join(out, GROUP_DIR, `${n}.cjs`)),
  ];
  const hash = await finish([join(out, 'entries', `${CJS}.cjs`), ...wrapped], new Set(wrapped), true);
  /** First word → fused file (the launcher's `fused`). */
  const words = Object.fromEntries(
    Object.entries(FUSED).flatMap(([src, ws]) => ws.map((w) => [w, `${CJS}-${groupName(src)}.cjs`])),
  );
  return { metafiles: [core.metafile, ...fused, grouped.metafile], hash, fused: words };
}

async function main() {
  const out = join(REPO, 'dist', 'bundle');
  await rm(out, { recursive: true, force: true });
  const started = performance.now();
  const result = await build({
    ...common(out),
    entryPoints: Object.fromEntries(Object.entries(ENTRIES).filter(([n]) => n !== CJS && !DAEMONS.includes(n))),
    splitting: true,
    format: 'esm',
    chunkNames: 'chunks/[name]-[hash]',
    banner: { js: REQUIRE_BANNER },
  });
  const cjs = await buildCjs(out);
  const daemons = {};
  for (const name of DAEMONS) daemons[name] = await buildDaemonCjs(out, name);
  // What each entry and chunk holds (inputs, bytes, imports): for finding what a start-up loads.
  const metas = [result.metafile, ...cjs.metafiles, ...Object.values(daemons).map((d) => d.metafile)];
  const metafile = {
    inputs: Object.assign({}, ...metas.map((m) => m.inputs)),
    outputs: Object.assign({}, ...metas.map((m) => m.outputs)),
  };
  await writeFile(join(out, 'meta.json'), JSON.stringify(metafile));
  await mkdir(join(REPO, 'dist', 'bin'), { recursive: true });
  // The launchers are CommonJS: an ES module entry starts Node's ES module loader first (≈ 1 ms of every
  // start, docs/startup.md tenth pass); the repo's package.json says "type": "module".
  await writeFile(join(REPO, 'dist', 'bin', 'package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`);
  for (const name of Object.keys(ENTRIES)) {
    const file = join(REPO, 'dist', 'bin', `${name}.js`);
    const first = await shebang(name);
    await writeFile(
      file,
      name === CJS
        ? launcherSource(name, first, `${name}.cjs`, GROUP_DIR, cjs.hash, false, cjs.fused)
        : DAEMONS.includes(name)
          ? launcherSource(name, first, `${name}.cjs`, undefined, daemons[name].hash, true)
          : launcher(name, first),
    );
    await chmod(file, 0o755);
  }
  const outputs = Object.entries(metafile.outputs).filter(([f]) => /\.c?js$/.test(f));
  const kib = outputs.reduce((s, [, o]) => s + o.bytes, 0) / 1024;
  console.log(
    `bundle: ${Object.keys(ENTRIES).length} entry points, ${outputs.length} files, ${kib.toFixed(0)} KiB in ${((performance.now() - started) / 1000).toFixed(1)} s → dist/bundle, launchers in dist/bin`,
  );
}

await main();
