/**
 * margayctl's launcher (scripts/bundle.mjs writes it to dist/bin/margayctl.js): runs the one-file
 * CommonJS bundle dist/bundle/entries/margayctl.cjs through `vm.Script` with a V8 code cache made
 * *after* a run of the same command, not at compile time (docs/startup.md, seventh pass).
 *
 * Why: Node's module compile cache (module.enableCompileCache) stores what V8 compiled when it compiled
 * a module — its top-level code. Every function a command then runs (the yaml parser, the model, the
 * datastore) was compiled again on every start: ≈ 20 ms of CPU of `margayctl apply`'s ≈ 85. A cache
 * made with `script.createCachedData()` once the command has run holds those functions too. ES modules
 * have no such API outside `--experimental-vm-modules`, hence a CommonJS bundle (one file: esbuild
 * splits only ES modules; it also spares Node's ES module loader 29 files).
 *
 * One cache per command (`commandKey`: `apply`, `get-ippools`, `ipam-show`, `help`...), so `--help`
 * does not deserialize what `apply` compiled. A cache is written at exit, only after a run that
 * exited 0, when there was none or V8 rejected it (another Node or other V8 flags); atomically
 * (rename), in `<compile cache dir>/margayctl-<uid>-<hash of the bundle's path>/`, named with the
 * bundle's content hash: V8 checks a cache against the source's *length* only, so a rebuilt bundle
 * must never meet an old cache. A cache file or folder that is not the user's own or is writable by
 * others is ignored (a code cache is code). `NODE_DISABLE_COMPILE_CACHE=1` turns it off;
 * `NODE_DEBUG=margayctl` says on stderr what the launcher did with the cache.
 *
 * The functions below are the launcher's: `launcherSource` copies their source into it, and the unit
 * test (test/startup/cjs-launcher.unit.test.ts) tests the same text.
 */

/** The cache's name for a command line: its first one or two plain words, `-help` when asking for help. */
export function commandKey(args) {
  const words = [];
  for (const a of args.slice(0, 2)) {
    if (!/^[a-z][a-z0-9-]{0,31}$/.test(a)) break;
    words.push(a);
  }
  const help = args.includes('--help') || args.includes('-h') || words[0] === 'help';
  if (words[0] === 'help') words.length = 0;
  return [...words, ...(help ? ['help'] : [])].join('-') || 'none';
}

/** 32-bit FNV-1a of a string, hex: names the cache folder after the bundle's path (one per install). */
export function fnv1a(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/**
 * `stat` of a file or folder that may be trusted with code: owned by `uid`, not writable by group or others.
 * Undefined when it is.
 */
export function untrusted(st, uid) {
  if (st.uid !== uid) return `owned by uid ${st.uid}`;
  if ((st.mode & 0o022) !== 0) return `mode ${(st.mode & 0o777).toString(8)}`;
  return undefined;
}

/**
 * The symbol of the process-wide callback a daemon's launcher installs (`globalThis[STARTED]`): the
 * daemon calls it once it is up (margay-node: agent/main.ts, once ready), and the launcher then writes
 * the code caches of what it loaded — by then they hold every function the start-up ran.
 */
export const STARTED = 'margay.started';

/**
 * Why the cache folder `dir` may not be trusted (undefined: it may). It and its parent must be real
 * directories — lstat: a symlink is refused wherever it points —, the folder owned by `uid` and not
 * writable by group or others, the parent owned by `uid` or root and not writable by group or others.
 * Else someone else could swap the folder (from a parent of theirs, e.g. a compile-cache folder they made
 * first under /tmp) and have this process — root, for margay-node — read their code, or write and prune
 * files in a folder of their choosing. `lstat` is fs.lstatSync (a parameter: the launcher embeds this text).
 */
export function untrustedDir(lstat, dir, uid) {
  const st = lstat(dir);
  if (!st.isDirectory()) return 'not a directory (a symlink?)';
  const own = untrusted(st, uid);
  if (own !== undefined) return own;
  const parent = dir.slice(0, dir.lastIndexOf('/')) || '/';
  const up = lstat(parent);
  if (!up.isDirectory()) return `parent ${parent} not a directory`;
  if (up.uid !== uid && up.uid !== 0) return `parent ${parent} owned by uid ${up.uid}`;
  if ((up.mode & 0o022) !== 0) return `parent ${parent} mode ${(up.mode & 0o777).toString(8)}`;
  return undefined;
}

/**
 * Turns on Node's module compile cache in a folder no one else controls, and names it in
 * NODE_COMPILE_CACHE (children and a re-exec use it too); returns that folder, or undefined when the
 * cache stays off. Node's default folder is <tmpdir>/node-compile-cache, shared by every user of the
 * machine: one another user made first would feed this process — root, for the daemons — V8 code of
 * theirs. So the folder is made here (0700) unless it exists, and used only when it is a real directory
 * owned by this user or root that no one else may write. An explicit NODE_COMPILE_CACHE is the
 * operator's choice and is used as given. `fs` and `nodeModule` are node:fs and node:module
 * (parameters: the launchers embed this text).
 */
export function enableCompileCacheSafely(fs, nodeModule, env, uid) {
  if (env.NODE_DISABLE_COMPILE_CACHE !== undefined) return undefined;
  let root = env.NODE_COMPILE_CACHE;
  if (root === undefined) {
    // os.tmpdir() on POSIX, without loading node:os.
    let tmp = env.TMPDIR || env.TMP || env.TEMP || '/tmp';
    if (tmp.length > 1 && tmp.endsWith('/')) tmp = tmp.slice(0, -1);
    root = `${tmp}/node-compile-cache`;
    try {
      // Made when missing (an existing one is looked at first: no EEXIST error to build on every start).
      let st = fs.lstatSync(root, { throwIfNoEntry: false });
      if (st === undefined) {
        try {
          fs.mkdirSync(root, { mode: 0o700 });
        } catch (err) {
          if (err.code !== 'EEXIST') return undefined;
        }
        st = fs.lstatSync(root);
      }
      if (!st.isDirectory() || (st.uid !== uid && st.uid !== 0) || (st.mode & 0o022) !== 0) return undefined;
    } catch {
      return undefined;
    }
  }
  // Node answers with its versioned subfolder when the cache was on already; the root is what children
  // and this launcher's own caches are given.
  const { status } = nodeModule.enableCompileCache(root);
  const { FAILED, DISABLED } = nodeModule.constants.compileCacheStatus;
  if (status === FAILED || status === DISABLED) return undefined;
  env.NODE_COMPILE_CACHE = root;
  return root;
}

/**
 * What a bundle file runs in: the parameters of a CommonJS module, and import.meta.url (esbuild
 * \`define\` names it __margayImportMetaUrl). margayctl's group and fused files are written already
 * inside it (scripts/bundle.mjs, `finish`), on their first line: the launcher compiles the text as read,
 * with no 450 KiB copy into a wrapped string (≈ 1 ms of \`apply\`, docs/startup.md tenth pass); such a
 * file only runs through the launcher. Others (the core, a daemon's file) are wrapped here.
 */
export const WRAPPER = '(function (exports, require, module, __filename, __dirname, __margayImportMetaUrl) {';

/** A file name this launcher writes (a cache or its temporary): the only files it ever removes. */
export function isCacheFileName(name) {
  return /^v\d+\.\d+\.\d+-[a-z0-9_]+-[0-9a-f]+-[a-z0-9-]+\.v8(\.\d+\.tmp)?$/.test(name);
}

/**
 * A bundle file's URL (its import.meta.url) from its absolute, normalised path: 'file://' and the path
 * when none of its characters would be escaped, else node:url's pathToFileURL. No URL parsing on the
 * usual path (the first costs ≈ 0.15 ms of a start).
 */
export function fileUrl(file) {
  return /^[A-Za-z0-9/._-]+$/.test(file)
    ? `file://${file}`
    : process.getBuiltinModule('node:url').pathToFileURL(file).href;
}

/** A daemon's cache name: `help` when asked for usage (it exits at once), else `run`. */
export function daemonKey(args) {
  return args.includes('--help') || args.includes('-h') ? 'help' : 'run';
}

/**
 * The bundle file a margayctl command line runs first: the fused core + group file its first word has
 * (`fused`: word → file, FUSED in scripts/bundle.mjs) unless it asks for help, which the small core
 * answers without the group; undefined: the core.
 */
export function fusedFile(args, fused) {
  const first = args[0];
  if (first === undefined || !Object.hasOwn(fused, first)) return undefined;
  return args.includes('--help') || args.includes('-h') ? undefined : fused[first];
}

/**
 * The launcher's text. `firstLine`: its #! line; `core`: the bundle's main file, under dist/bundle/entries;
 * `groupDir`: where the lazily loaded command groups' files are (`require('margayctl-group:NAME')` from
 * the core loads `<groupDir>/NAME.cjs`); `hash`: the bundle's content hash (all its files); `fused`: first
 * word → a file under dist/bundle/entries holding the core and that command's group (fusedFile).
 * `daemon` (margay-node): one cache for a run and one for `--help` (daemonKey); a run's caches are
 * written when the daemon calls `globalThis[Symbol.for(STARTED)]` (once it is up), never at exit (a run
 * stopped before it was up would leave a cache without its start-up); `process.argv[1]` stays the
 * launcher's path, so a re-exec (the tuned image) goes through the launcher and its caches again.
 */
export function launcherSource(name, firstLine, core, groupDir, hash, daemon = false, fused = {}) {
  return `${firstLine}
// ${name}: generated by scripts/bundle.mjs (scripts/cjs-launcher.mjs) — do not edit. Turns on Node's
// module compile cache (for node_modules packages loaded at run time and child Node processes), then runs
// the CommonJS bundle through vm.Script with a V8 code cache made after a run of the same command
// (docs/startup.md, seventh and eighth passes). NODE_DISABLE_COMPILE_CACHE=1: no cache; NODE_DEBUG=${name}: what it did.
const fs = process.getBuiltinModule('node:fs');
const nodeModule = process.getBuiltinModule('node:module');
const vm = process.getBuiltinModule('node:vm');
const { join } = process.getBuiltinModule('node:path');

const HASH = ${JSON.stringify(hash)};
const off = process.env.NODE_DISABLE_COMPILE_CACHE !== undefined;
${enableCompileCacheSafely.toString()}
const uid = process.getuid?.() ?? 0;
enableCompileCacheSafely(fs, nodeModule, process.env, uid);
const debug = process.env.NODE_DEBUG !== undefined && /\\b${name}\\b/.test(process.env.NODE_DEBUG ?? '')
  ? (m) => fs.writeSync(2, \`${name} code cache: \${m}\\n\`)
  : () => {};
${daemon ? daemonKey.toString() : commandKey.toString()}
${fnv1a.toString()}
${untrusted.toString()}
${untrustedDir.toString()}
${isCacheFileName.toString()}

// A CommonJS module (dist/bin/package.json): Node's ES module loader is not started for it (≈ 1 ms).
const coreFile = join(__dirname, ${JSON.stringify(`../bundle/entries/${core}`)});
const groupDir = ${groupDir === undefined ? 'undefined' : `join(__dirname, ${JSON.stringify(`../bundle/${groupDir}`)})`};
const root = process.env.NODE_COMPILE_CACHE;
const dir = off || root === undefined ? undefined : \`\${root}/${name}-\${uid}-\${fnv1a(coreFile)}\`;
const key = ${daemon ? 'daemonKey' : 'commandKey'}(process.argv.slice(2));
${
  daemon
    ? 'const mainFile = coreFile;'
    : `${fusedFile.toString()}
const fused = fusedFile(process.argv.slice(2), ${JSON.stringify(fused)});
// One file and one code cache instead of the core's and the group's.
const mainFile = fused === undefined ? coreFile : join(__dirname, '../bundle/entries', fused);`
}
/** Scripts whose cache is to be written at exit: none was there, or V8 rejected it. */
const toWrite = [];
let dirTrusted;

/** The code cache in \`file\`, when there is one and it may be trusted. */
function readCache(file) {
  let fd;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    // Missing is the usual case (first run); anything else only costs this run its cache, too.
    debug(err.code === 'ENOENT' ? \`none: \${file}\` : \`unreadable (\${err.code}): \${file}\`);
    return undefined;
  }
  try {
    const folder = dirTrusted === undefined ? untrustedDir(fs.lstatSync, dir, uid) : undefined;
    dirTrusted ??= folder === undefined;
    if (folder !== undefined) debug(\`folder not trusted (\${folder}): \${dir}\`);
    const why = dirTrusted ? untrusted(fs.fstatSync(fd), uid) : 'folder not trusted';
    if (why === undefined) return fs.readFileSync(fd);
    debug(\`ignored (\${why}): \${file}\`);
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

${fileUrl.toString()}

/** Runs one bundle file as a CommonJS module (esbuild's cjs output) and returns its exports. */
function run(file, base, wrapped = false) {
  const cacheFile = dir && \`\${dir}/\${process.version}-\${process.arch}-\${HASH}-\${base}-\${key}.v8\`;
  const cached = cacheFile && readCache(cacheFile);
  // A file not written inside WRAPPER gets it as one line before its first (lineOffset -1 keeps its
  // line numbers); a wrapped one has it at the start of its first line.
  const text = fs.readFileSync(file, 'utf8');
  const script = new vm.Script(
    wrapped ? text : \`${WRAPPER}\\n\${text}\\n})\`,
    { filename: file, lineOffset: wrapped ? 0 : -1, cachedData: cached, importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER },
  );
  if (cached !== undefined) debug(\`\${script.cachedDataRejected ? 'rejected' : 'accepted'}: \${cacheFile}\`);
  if (cacheFile !== undefined && dirTrusted !== false && (cached === undefined || script.cachedDataRejected))
    toWrite.push([script, cacheFile]);
  const mod = { exports: {} };
  script.runInThisContext()(mod.exports, requireFrom(file), mod, file, file.slice(0, file.lastIndexOf('/')), fileUrl(file));
  return mod.exports;
}

const groups = new Map();
let core;
/** require() for a bundle file: built-ins, the command groups' files, the core's shared modules, node_modules. */
function requireFrom(file) {
  let req;
  const nodeRequire = () => (req ??= nodeModule.createRequire(file));
  return Object.defineProperties(
    (id) => {
      const builtin = process.getBuiltinModule(id);
      if (builtin !== undefined) return builtin;
      if (id.startsWith('margayctl-group:')) {
        const g = id.slice('margayctl-group:'.length);
        if (!groups.has(g)) groups.set(g, run(join(groupDir, \`\${g}.cjs\`), g, true));
        return groups.get(g);
      }
      if (id.startsWith('margayctl-core:')) return core[\`__\${id.slice('margayctl-core:'.length)}\`];
      return nodeRequire()(id);
    },
    { resolve: { get: () => nodeRequire().resolve } },
  );
}

/** Writes the caches still to be written (atomically: write + rename), then forgets them. */
function writeCaches() {
  if (toWrite.length === 0) return;
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const why = untrustedDir(fs.lstatSync, dir, uid);
    if (why !== undefined) return debug(\`not written (folder \${why}): \${dir}\`);
    for (const [script, cacheFile] of toWrite.splice(0)) {
      const tmp = \`\${cacheFile}.\${process.pid}.tmp\`;
      fs.writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
      fs.renameSync(tmp, cacheFile);
      debug(\`written: \${cacheFile}\`);
    }
    // Caches of earlier builds of this bundle go (the folder is this install's alone).
    for (const f of fs.readdirSync(dir))
      if (isCacheFileName(f) && !f.includes(HASH)) fs.rmSync(\`\${dir}/\${f}\`, { force: true });
  } catch (err) {
    toWrite.length = 0;
    debug(\`not written: \${err.message}\`);
  }
}
${
  daemon
    ? `globalThis[Symbol.for(${JSON.stringify(STARTED)})] = writeCaches;
process.once('exit', (code) => {
  if (code === 0 && key === 'help') writeCaches();
});`
    : `process.once('exit', (code) => {
  if (code === 0) writeCaches();
});
process.argv[1] = mainFile;`
}
core =
  mainFile === coreFile
    ? run(coreFile, 'core')
    : run(mainFile, mainFile.slice(mainFile.lastIndexOf('/') + 1, -'.cjs'.length), true);
`;
}
