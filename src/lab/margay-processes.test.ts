import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeProgram } from './margay-processes.js';

const dir = mkdtempSync(join(tmpdir(), 'mgy-nodeprogram-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(rel: string, text: string, mode: number): string {
  const p = join(dir, rel);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, text);
  chmodSync(p, mode);
  return p;
}

describe('nodeProgram', () => {
  const here = dirname(process.execPath);

  it('runs a dist/bin launcher as a program, with this Node first on PATH (no tuned re-exec)', () => {
    const launcher = file('a/dist/bin/margay-node.js', '#!/usr/bin/env -S X=1 node --max-semi-space-size=2\n', 0o755);
    const r = nodeProgram(launcher, { PATH: '/usr/bin:/bin', NODENAME: 'n1' });
    expect(r.argv).toEqual([launcher]);
    expect(r.env).toEqual({ PATH: `${here}:/usr/bin:/bin`, NODENAME: 'n1' });
    // Already first: left as it is.
    expect(nodeProgram(launcher, { PATH: `${here}:/bin` }).env.PATH).toBe(`${here}:/bin`);
  });

  it('runs anything else with this Node: the tsc output, a launcher that is not executable', () => {
    const tsc = file('b/dist/agent/main.js', '#!/usr/bin/env node\n', 0o755);
    expect(nodeProgram(tsc, { PATH: '/bin' })).toEqual({ argv: [process.execPath, tsc], env: { PATH: '/bin' } });
    const plain = file('c/dist/bin/margay-node.js', '#!/usr/bin/env node\n', 0o644);
    expect(nodeProgram(plain, {}).argv).toEqual([process.execPath, plain]);
    const noShebang = file('d/dist/bin/margay-node.js', 'console.log(1)\n', 0o755);
    expect(nodeProgram(noShebang, {}).argv).toEqual([process.execPath, noShebang]);
    const missing = join(dir, 'e/dist/bin/margay-node.js');
    expect(nodeProgram(missing, {}).argv).toEqual([process.execPath, missing]);
  });
});
