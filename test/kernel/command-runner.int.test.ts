import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { KernelOpError, PrerequisiteError } from '../../src/errors.js';
import { ExecaCommandRunner } from '../../src/kernel/command-runner.js';
import { withNetns } from '../helpers/netns.js';

const runner = new ExecaCommandRunner(silentLogger(), 5_000);

describe('ExecaCommandRunner', () => {
  it('passes stdin, returns output, and runs inside a namespace when asked', async () => {
    expect((await runner.run(['cat'], { stdin: 'hello\n' })).stdout).toBe('hello\n');
    await withNetns(async (ns) => {
      const r = await runner.run(['ip', '-j', 'link', 'show'], { netns: ns });
      expect(r.argv.slice(0, 4)).toEqual(['ip', 'netns', 'exec', ns]);
      expect((JSON.parse(r.stdout) as { ifname: string }[]).map((l) => l.ifname)).toEqual(['lo']);
    });
  });

  it('throws KernelOpError with argv, exit code and stderr; allowFailure returns the result instead', async () => {
    const err = await runner.run(['ip', 'link', 'show', 'dev', 'mgynosuch']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KernelOpError);
    expect(err).toMatchObject({ code: 'MGY_KERNEL_OP', argv: ['ip', 'link', 'show', 'dev', 'mgynosuch'], exitCode: 1 });
    expect((err as KernelOpError).stderr).toContain('mgynosuch');
    const r = await runner.run(['ip', 'link', 'show', 'dev', 'mgynosuch'], { allowFailure: true });
    expect(r.exitCode).toBe(1);
  });

  it('reports a missing binary as a PrerequisiteError, and a hung command as a timeout', async () => {
    await expect(runner.run(['margay-no-such-binary'])).rejects.toThrow(PrerequisiteError);
    const slow = new ExecaCommandRunner(silentLogger(), 200);
    await expect(slow.run(['sleep', '5'])).rejects.toThrow(/timed out/);
  });
});
