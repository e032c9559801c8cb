/**
 * An esbuild plugin for scripts/bundle.mjs: a few `exports.X = require('...')` lines of npm packages
 * become getters, so what they load is loaded on first use of X rather than at start-up. Only for
 * exports Margay never uses on a start-up path; the getter returns the same module, so a use still works.
 *
 * Why (docs/startup.md, "Agent modules"): margay-node imports prom-client, whose index.js requires its
 * Pushgateway (node:http, node:https → tls, crypto's key and cipher modules, zlib) and pino, whose
 * pino.js requires its transport (thread-stream → node:worker_threads). Neither is used by Margay;
 * together they were ≈ 15–20 ms of CPU on every agent start (CPU profile of the agent's module load).
 *
 * Each rewrite names the exact line it replaces; a line that is not found (the package changed) leaves
 * the file as it is, and the build prints a warning naming it.
 */
import { readFile } from 'node:fs/promises';
import { sep } from 'node:path';

/** package-relative file → [the exact line, what replaces it]: each replacement requires the same module on first use. */
export const LAZY = {
  'prom-client/index.js': [
    getter('exports.Pushgateway', './lib/pushgateway'),
    getter('exports.AggregatorRegistry', './lib/cluster'),
    // Node's default metrics (13 collector modules and @opentelemetry/api): the agent registers them
    // once its first routes are in (agent/metrics.ts startDefaultMetrics), not at start-up.
    getter('exports.collectDefaultMetrics', './lib/defaultMetrics'),
  ],
  'pino/pino.js': [getter('module.exports.transport', './lib/transport')],
  'pino/lib/tools.js': [
    ["const transport = require('./transport')", "const transport = (opts) => require('./transport')(opts)"],
  ],
  // node:assert (7 of Node's internal modules) for one check made when a destination opens a file.
  'sonic-boom/index.js': [
    ["const assert = require('assert')", "const assert = (ok, msg) => require('assert')(ok, msg)"],
  ],
};

/** `target = require('spec')` → a getter on target's object that requires spec when first read. */
function getter(target, spec) {
  const dot = target.lastIndexOf('.');
  const get = `get: () => require('${spec}')`;
  return [
    `${target} = require('${spec}')`,
    `Object.defineProperty(${target.slice(0, dot)}, '${target.slice(dot + 1)}', { configurable: true, enumerable: true, ${get} })`,
  ];
}

/** Applies `rewrites` ([line, replacement]) to `source`; returns the new text and the lines not found. */
export function lazify(source, rewrites) {
  let text = source;
  const missing = [];
  for (const [line, replacement] of rewrites) {
    if (text.includes(line)) text = text.replace(line, replacement);
    else missing.push(line);
  }
  return { text, missing };
}

export function lazyRequires() {
  const names = Object.keys(LAZY);
  const alt = names.map((f) => f.replace(/[.]/g, '\\.').replace(/\//g, '[\\\\/]')).join('|');
  const filter = new RegExp(`[\\\\/]node_modules[\\\\/](?:${alt})$`);
  return {
    name: 'margay-lazy-requires',
    setup(b) {
      b.onLoad({ filter }, async (args) => {
        const file = names.find((f) => args.path.split(sep).join('/').endsWith(`/node_modules/${f}`));
        if (file === undefined) return undefined;
        const { text, missing } = lazify(await readFile(args.path, 'utf8'), LAZY[file]);
        const warnings = missing.map((l) => ({ text: `lazy-requires: "${l}" not found in ${args.path}; left as is` }));
        return { contents: text, loader: 'js', warnings };
      });
    },
  };
}
