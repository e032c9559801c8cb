/**
 * An esbuild plugin for scripts/bundle.mjs: `import { a, b } from '../x/index.js'` in our TypeScript
 * becomes imports from the files that define `a` and `b`, so a bundle entry (and each code-split chunk)
 * loads only the modules it uses, not everything a folder's index.ts re-exports.
 *
 * Why: the layer rules (lint) make every cross-folder import go through the folder's index.ts, and
 * esbuild's code splitting follows every import of a module it reaches, used or not (marking our files
 * side-effect free does not change that). So `import { UsageError } from '../../src/cli/index.js'`
 * used to load every resource command, the datastore, zod with all the model's schemas, yaml and pino
 * into `margayctl bgp --help`; `import { KINDS } from '../model/index.js'` loaded the schema library into
 * `margayctl get`. The source keeps its barrels (and the tsc output in dist/ is unchanged).
 *
 * Also rewrites imports of Node built-ins (rewriteBuiltinImports), below.
 *
 * The same applies to any of our modules that re-exports (e.g. src/log.ts re-exports silentLogger from
 * log-silent.ts, which needs no pino). Only static named imports are rewritten (`import * as`, default imports, `import()` are left alone),
 * and only when every name resolves to a defining file; otherwise the statement stays as written.
 */
import { readFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { promisify } from 'node:util';

const IMPORT = /^import\s+(type\s+)?\{([^}]*)\}\s+from\s+'(\.[^']*\.js)';/gm;
const DECL =
  /^export\s+(?:declare\s+)?(?:async\s+)?(?:abstract\s+)?(?:function\*?|const|let|var|class|enum|interface|type)\s+([A-Za-z_$][\w$]*)/gm;
const REEXPORT = /^export\s+(type\s+)?\{([^}]*)\}\s*(?:from\s+'([^']+)')?;/gm;
const STAR = /^export\s+\*\s+(?:as\s+([A-Za-z_$][\w$]*)\s+)?from\s+'([^']+)';/gm;

/** `./x.js` next to `from` → absolute path of the .ts file (our sources are .ts; tsc maps .js to .ts). */
function tsPath(from, spec) {
  return resolve(dirname(from), spec).replace(/\.js$/, '.ts');
}

/** `a`, `type b`, `c as d` → { name: 'a' | 'b' | 'c', alias: 'a' | 'b' | 'd', type }. */
function specifiers(list) {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      const type = s.startsWith('type ');
      const [name, alias] = (type ? s.slice(5) : s).split(/\s+as\s+/).map((x) => x.trim());
      return { name, alias: alias ?? name, type };
    });
}

/**
 * A module's exports: name → { file, name } of the declaration it ends at (following re-exports).
 * Regex-based, over Biome-formatted source; a name it cannot follow is simply absent.
 */
export function createExportMap(read = (f) => readFile(f, 'utf8')) {
  /** file → Promise of its map: esbuild loads files concurrently, and each must see complete maps. */
  const cache = new Map();
  function exportsOf(file, visiting = []) {
    // A re-export cycle (the lint forbids them) yields an empty map for the repeat: names stay unrewritten.
    if (visiting.includes(file) || visiting.length > 20) return Promise.resolve(new Map());
    let p = cache.get(file);
    if (p === undefined) {
      p = scan(file, [...visiting, file]);
      cache.set(file, p);
    }
    return p;
  }
  async function scan(file, visiting) {
    const out = new Map();
    let src;
    try {
      src = await read(file);
    } catch (err) {
      if (err.code === 'ENOENT') return out;
      throw err;
    }
    for (const m of src.matchAll(DECL)) out.set(m[1], { file, name: m[1] });
    for (const m of src.matchAll(REEXPORT)) {
      const from = m[3];
      for (const s of specifiers(m[2])) {
        if (from === undefined) {
          out.set(s.alias, { file, name: s.alias });
          continue;
        }
        const target = await exportsOf(tsPath(file, from), visiting);
        const hit = target.get(s.name);
        if (hit) out.set(s.alias, hit);
      }
    }
    for (const m of src.matchAll(STAR)) {
      if (m[1] !== undefined) {
        out.set(m[1], { file, name: m[1] });
        continue;
      }
      const target = await exportsOf(tsPath(file, m[2]), visiting);
      for (const [k, v] of target) if (!out.has(k)) out.set(k, v);
    }
    return out;
  }
  return (file) => exportsOf(file);
}

/** Rewrites the barrel imports of one source file; returns the new text (unchanged if nothing applies). */
export async function rewriteBarrelImports(file, src, exportsOf) {
  const edits = [];
  for (const m of src.matchAll(IMPORT)) {
    if (m[1] !== undefined) continue; // import type: erased anyway
    const barrel = tsPath(file, m[3]);
    const map = await exportsOf(barrel);
    const byFile = new Map();
    let ok = true;
    for (const s of specifiers(m[2])) {
      const hit = map.get(s.name);
      if (!hit) {
        ok = false;
        break;
      }
      let spec = relative(dirname(file), hit.file).replace(/\.ts$/, '.js');
      if (!spec.startsWith('.')) spec = `./${spec}`;
      const list = byFile.get(spec) ?? [];
      list.push(`${s.type ? 'type ' : ''}${hit.name === s.alias ? s.alias : `${hit.name} as ${s.alias}`}`);
      byFile.set(spec, list);
    }
    if (!ok || byFile.size === 0) continue;
    // A group of only `type X` names becomes `import type { X }`: under verbatimModuleSyntax,
    // `import { type X } from 'm'` is kept as `import 'm'` and would load m (and what m imports).
    const text = [...byFile]
      .map(([spec, list]) =>
        list.every((x) => x.startsWith('type '))
          ? `import type { ${list.map((x) => x.slice(5)).join(', ')} } from '${spec}';`
          : `import { ${list.join(', ')} } from '${spec}';`,
      )
      .join(' ');
    edits.push({ start: m.index, end: m.index + m[0].length, text });
  }
  let out = src;
  for (const e of edits.reverse()) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

/**
 * `import { createServer } from 'node:http'` → `const { createServer } = process.getBuiltinModule('node:http');`,
 * for every Node built-in imported with the `node:` prefix (and http/https without it). An ES module
 * import of a built-in copies every export into the module namespace, and that runs the built-in's
 * lazy getters: node:http's load undici (Node's fetch: measured ≈ 80 ms of CPU on this machine
 * against ≈ 10 ms for getBuiltinModule), node:crypto's load all of WebCrypto, node:fs's load
 * fs/promises, readline and the REPL history (≈ 35 internal modules for `margayctl --help`).
 * getBuiltinModule returns the plain exports object and touches nothing. Type-only names are
 * dropped (erased anyway); `import * as x` becomes `const x = ...`.
 *
 * Built-ins that cost a lot to load and that short commands often import without calling (LAZY:
 * node:crypto alone loads ≈ 20 internal modules, ≈ 10-50 ms, for the datastore's randomUUID, which
 * `margayctl get` never calls) are loaded on first call instead, when every imported name is a plain
 * function of the built-in (checked against this Node at build time; a class, a value or a function
 * with a util.promisify.custom variant such as execFile is loaded eagerly): `const randomUUID = (...a) => process.getBuiltinModule('node:crypto').randomUUID(...a);`.
 */
const LAZY = new Set([
  'node:crypto',
  'node:fs/promises',
  'node:child_process',
  'node:net',
  'node:dgram',
  'node:readline',
  'node:http',
  'node:https',
  'node:zlib',
  'node:worker_threads',
]);
function lazyFunction(spec, name) {
  if (!LAZY.has(spec) || !/^[a-z]/.test(name)) return false;
  const fn = process.getBuiltinModule(spec)?.[name];
  // util.promisify(execFile) relies on execFile's promisify.custom, which a wrapper would lose.
  return typeof fn === 'function' && !(promisify.custom in fn);
}
const BUILTIN_IMPORT =
  /^import\s+(type\s+)?(?:\*\s+as\s+([A-Za-z_$][\w$]*)|([A-Za-z_$][\w$]*)?\s*,?\s*(?:\{([^}]*)\})?)\s+from\s+'(node:[a-z_/]+|https?)';/gm;
export function rewriteBuiltinImports(src) {
  return src.replace(BUILTIN_IMPORT, (whole, typeOnly, ns, def, named, mod) => {
    if (typeOnly !== undefined) return whole;
    const spec = mod.startsWith('node:') ? mod : `node:${mod}`;
    const names = specifiers(named ?? '').filter((x) => !x.type);
    const out = [];
    const local = ns ?? def;
    if (local !== undefined) out.push(`const ${local} = process.getBuiltinModule('${spec}');`);
    if (local === undefined && names.length > 0 && names.every((x) => lazyFunction(spec, x.name))) {
      for (const x of names)
        out.push(`const ${x.alias} = (...a) => process.getBuiltinModule('${spec}').${x.name}(...a);`);
    } else if (names.length > 0) {
      const list = names.map((x) => (x.name === x.alias ? x.name : `${x.name}: ${x.alias}`)).join(', ');
      out.push(`const { ${list} } = process.getBuiltinModule('${spec}');`);
    }
    // `import { type X } from 'node:y'` alone: nothing left at run time.
    return out.join(' ');
  });
}

/** The plugin: applies to our own TypeScript (not node_modules). */
export function barrelImports(repo) {
  return {
    name: 'margay-barrel-imports',
    setup(b) {
      const exportsOf = createExportMap();
      b.onLoad({ filter: /\.ts$/ }, async (args) => {
        if (args.path.includes('/node_modules/') || !args.path.startsWith(repo)) return undefined;
        const src = await readFile(args.path, 'utf8');
        const contents = rewriteBuiltinImports(await rewriteBarrelImports(args.path, src, exportsOf));
        return { contents, loader: 'ts' };
      });
    },
  };
}
