/**
 * Margay's layer rules, checked by `npm run lint` (dependency-cruiser, TypeScript parsed with swc).
 *
 * Layers, lowest first (ARCHITECTURE.md §2). A module may import only its own layer or lower ones:
 *   0 core      src/** (model, selector, net, runtime, datastore, kernel, config, errors, log, CLI core)
 *   1 features  bgp/, ipam/, policy/, cni/   (each CLI command group lives here, e.g. bgp/cli/)
 *   2 agent     agent/**
 *   3 roots     agent/main.ts, bgp/main.ts, cni/main.ts, src/cli/margayctl.ts (composition roots)
 *   tools       src/lab/** (drives the built binaries; may import core and features, nothing imports it
 *               except margayctl)
 * Plus: no file cycle (type-only imports included); across folders only through the folder's
 * index.ts (a "folder" is a second-level directory such as bgp/rib, src/net, agent/sync, or a top-level
 * folder's own files); tests, fakes (testing/) and test helpers are exempt from the index rule.
 * Pure cores importing no I/O, timers or env, no empty catch, no bare Error and the file-size rule
 * are in scripts/check-boundaries.mjs (they look at code, not at the import graph).
 */
const TOP = '(src|bgp|ipam|policy|cni|agent)';
const ROOTS = '^(agent/main\\.ts|bgp/main\\.ts|cni/main\\.ts|src/cli/margayctl\\.ts)$';
const TESTS = '(\\.test\\.ts$|/testing/|test-helpers\\.ts$|-bench\\.ts$|/contract(-fixtures)?\\.ts$)';
const FEATURES = '^(bgp|ipam|policy|cni)/';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'A file cycle: split the shared part into a module both sides import (e.g. RibCore).',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-imports-upward',
      comment: 'src/ is the shared core (layer 0): it must not import feature folders, agent/ or src/lab.',
      severity: 'error',
      from: { path: '^src/', pathNot: [ROOTS, '^src/lab/'] },
      to: { path: ['^(bgp|ipam|policy|cni|agent)/', '^src/lab/'] },
    },
    {
      name: 'feature-imports-upward',
      comment: 'Feature folders (layer 1) must not import agent/ or src/lab (roots: see agent-imports-root).',
      severity: 'error',
      from: { path: FEATURES, pathNot: ROOTS },
      to: { path: ['^agent/', '^src/lab/'] },
    },
    {
      name: 'agent-imports-root',
      comment: 'Nothing imports a composition root (agent/main.ts, bgp/main.ts, cni/main.ts, margayctl).',
      severity: 'error',
      from: { pathNot: TESTS },
      to: { path: ROOTS },
    },
    {
      name: 'lab-imports-agent',
      comment: 'src/lab drives the built binaries; it does not import agent internals.',
      severity: 'error',
      from: { path: '^src/lab/' },
      to: { path: '^agent/' },
    },
    {
      name: 'cross-folder-not-via-index',
      comment: "Reach another folder only through its index.ts (its public surface), e.g. '../rib/index.js'.",
      severity: 'error',
      from: { path: `^${TOP}/([^/]+)/`, pathNot: [TESTS, ROOTS] },
      to: { path: `^${TOP}/[^/]+/`, pathNot: ['^$1/$2/', '/index\\.ts$', TESTS] },
    },
    {
      name: 'top-file-cross-folder-not-via-index',
      comment: "A folder's own top-level files reach its sub-folders only through their index.ts too.",
      severity: 'error',
      from: { path: `^${TOP}/[^/]+\\.ts$`, pathNot: [TESTS, ROOTS] },
      to: { path: `^${TOP}/[^/]+/`, pathNot: ['/index\\.ts$', TESTS] },
    },
    {
      name: 'root-static-import-not-via-index',
      comment:
        'Composition roots import folders through index.ts too; only their dynamic imports may name a file ' +
        '(lazy loading keeps start-up fast: load the one module a command needs, not the whole barrel).',
      severity: 'error',
      from: { path: '^(agent|bgp|cni|src/cli)/(?:main|margayctl)\\.ts$' },
      to: {
        path: [`^${TOP}/[^/]+/`, '^(bgp|ipam|policy|cni|agent)/[^/]+\\.ts$'],
        pathNot: ['/index\\.ts$', TESTS, ROOTS, '^src/[^/]+\\.ts$', '^$1/[^/]+\\.ts$'],
        dependencyTypesNot: ['dynamic-import'],
      },
    },
    {
      name: 'feature-top-file-not-via-index',
      comment: 'From outside a feature folder, import its top-level index.ts, not its other top-level files.',
      severity: 'error',
      from: { path: `^${TOP}/`, pathNot: [TESTS, ROOTS] },
      to: { path: '^(bgp|ipam|policy|cni|agent)/[^/]+\\.ts$', pathNot: ['^$1/', '/index\\.ts$', ROOTS] },
    },
  ],
  options: {
    parser: 'swc',
    includeOnly: '^(src|bgp|ipam|policy|cni|agent)/',
    exclude: { path: ['(^|/)node_modules/', '^dist/', '/native/build/'] },
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    cache: false,
  },
};
