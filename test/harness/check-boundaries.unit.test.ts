import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';

const SCRIPT = new URL('../../scripts/check-boundaries.mjs', import.meta.url).pathname;
let root: string | undefined;
afterEach(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

async function tree(files: Record<string, string>): Promise<string> {
  root = await mkdtemp(join(tmpdir(), 'mgy-bounds-'));
  for (const [p, text] of Object.entries(files)) {
    await mkdir(join(root, p, '..'), { recursive: true });
    await writeFile(join(root, p), text);
  }
  return root;
}

describe('scripts/check-boundaries.mjs', () => {
  it('passes a clean tree', async () => {
    const dir = await tree({ 'bgp/codec/a.ts': "import { x } from './b.js';\nexport const y = x;\n" });
    const r = await execa('node', [SCRIPT, dir], { reject: false });
    expect(r.exitCode).toBe(0);
  });
  it('rejects I/O, timers and env in pure cores, and empty catches anywhere', async () => {
    const dir = await tree({
      'bgp/fsm/a.ts': "import { connect } from 'node:net';\nexport const t = setTimeout(() => 1, 1);\n",
      'src/model/b.ts': 'export const e = process.env.X;\n',
      'agent/x.ts': 'try { f(); } catch {}\n',
      'bgp/fsm/a.test.ts': "import { connect } from 'node:net';\n",
    });
    const r = await execa('node', [SCRIPT, dir], { reject: false });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("bgp/fsm/a.ts:1: pure core imports 'node:net'");
    expect(r.stderr).toContain('bgp/fsm/a.ts:2: pure core uses a timer');
    expect(r.stderr).toContain('src/model/b.ts:1: pure core reads process.env');
    expect(r.stderr).toContain('agent/x.ts:1: empty catch block');
    expect(r.stderr).not.toContain('a.test.ts');
  });
  it('rejects a bare Error thrown in shipped code, but not in tests', async () => {
    const dir = await tree({
      'agent/y.ts': "export function f(): never {\n  throw new Error('boom');\n}\n",
      'agent/y.test.ts': "throw new Error('fine in a test');\n",
    });
    const r = await execa('node', [SCRIPT, dir], { reject: false });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('agent/y.ts:2: bare Error thrown');
    expect(r.stderr).not.toContain('y.test.ts');
  });
});
