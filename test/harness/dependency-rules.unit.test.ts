import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The layer rules of .dependency-cruiser.cjs, checked against a small tree that breaks each of them
// once next to imports that are allowed, so a rule that stops matching fails here.
const REPO = new URL('../..', import.meta.url).pathname;
const CONFIG = join(REPO, '.dependency-cruiser.cjs');
const BIN = join(REPO, 'node_modules/.bin/depcruise');

const TREE: Record<string, string> = {
  'tsconfig.json': JSON.stringify({
    compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true },
  }),
  'src/net/index.ts': "export * from './net.js';\n",
  'src/net/net.ts': 'export const n = 1;\n',
  'src/model/index.ts': "export { m } from './m.js';\n",
  // core importing a feature: upward
  'src/model/m.ts': "import { r } from '../../bgp/rib/index.js';\nexport const m = r;\n",
  // core reaching past another core folder's index
  'src/cli/command.ts': "import { n } from '../net/net.js';\nexport const c = n;\n",
  'bgp/rib/index.ts': "export { r } from './rib.js';\n",
  // a file cycle inside a folder
  'bgp/rib/rib.ts': "import { h } from './helper.js';\nexport const r = h + 1;\n",
  'bgp/rib/helper.ts': "import { r } from './rib.js';\nexport const h = 1;\nexport const again = () => r;\n",
  // feature importing agent: upward; and a root
  'bgp/speaker/speaker.ts':
    "import { s } from '../../agent/sync/index.js';\nimport { n } from '../../src/net/index.js';\nexport const sp = s + n;\n",
  'agent/sync/index.ts': 'export const s = 1;\n',
  'agent/calc/graph.ts': "import { main } from '../main.js';\nexport const g = main;\n",
  'agent/main.ts': "import { s } from './sync/index.js';\nexport const main = s;\n",
  // allowed: a test reaching into another folder's files
  'bgp/speaker/speaker.test.ts': "import { h } from '../rib/helper.js';\nexport const t = h;\n",
};

let root: string;
let stdout: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mgy-deprules-'));
  for (const [p, text] of Object.entries(TREE)) {
    await mkdir(join(root, p, '..'), { recursive: true });
    await writeFile(join(root, p), text);
  }
  const r = await execa(BIN, ['--config', CONFIG, '--output-type', 'err', '.'], { cwd: root, reject: false });
  expect(r.exitCode, r.stderr).not.toBe(0);
  stdout = r.stdout;
}, 60_000);
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('.dependency-cruiser.cjs layer rules', () => {
  it.each([
    ['core-imports-upward', 'src/model/m.ts → bgp/rib/index.ts'],
    ['cross-folder-not-via-index', 'src/cli/command.ts → src/net/net.ts'],
    ['no-circular', 'bgp/rib/helper.ts'],
    ['feature-imports-upward', 'bgp/speaker/speaker.ts → agent/sync/index.ts'],
    ['agent-imports-root', 'agent/calc/graph.ts → agent/main.ts'],
  ])('%s: %s', (rule, edge) => {
    const lines = stdout.split('\n').filter((l) => l.includes(`error ${rule}:`));
    expect(
      lines.some((l) => l.includes(edge.split(' → ')[0]!)),
      stdout,
    ).toBe(true);
  });
  it('lets allowed imports through: via index.ts, downward, and tests', () => {
    expect(stdout).not.toContain('bgp/speaker/speaker.ts → src/net/index.ts');
    expect(stdout).not.toContain('agent/main.ts → agent/sync/index.ts');
    expect(stdout).not.toContain('speaker.test.ts');
  });
});
