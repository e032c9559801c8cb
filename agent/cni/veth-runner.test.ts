import { describe, expect, it } from 'vitest';
import { KernelOpError } from '../../src/errors.js';
import type { CommandResult, CommandRunner, RunOptions } from '../../src/kernel/index.js';
import { silentLogger } from '../../src/log.js';
import { VethCommandRunner, type BatchSession } from './veth-runner.js';

/** A session that answers each batch from a script and records what it was sent. */
class FakeSession implements BatchSession {
  readonly sent: string[] = [];
  constructor(private readonly answers: { exitCode: number; stderr: string }[]) {}
  async run(input: string): Promise<CommandResult> {
    this.sent.push(input);
    const a = this.answers.shift() ?? { exitCode: 0, stderr: '' };
    return { argv: ['ip', '-force', '-batch', '-'], stdout: '', ...a };
  }
  starts = 0;
  start(): void {
    this.starts++;
  }
  close(): void {}
}

class RecordingRunner implements CommandRunner {
  readonly calls: { argv: readonly string[]; opts: RunOptions }[] = [];
  async run(argv: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    this.calls.push({ argv, opts });
    return { argv, exitCode: 0, stdout: '', stderr: '' };
  }
}

const BATCH =
  'link add mgyx type veth peer name eth0 netns /run/netns/p\nlink set mgyx alias margay:c1\nlink set mgyx up\n';

describe('VethCommandRunner', () => {
  it('sends the pair creation alone, then the rest; nothing to the base runner', async () => {
    const s = new FakeSession([]);
    const base = new RecordingRunner();
    const r = await new VethCommandRunner(base, silentLogger(), [s]).run(['ip', '-batch', '-'], { stdin: BATCH });
    expect(r.exitCode).toBe(0);
    expect(s.sent).toEqual([
      'link add mgyx type veth peer name eth0 netns /run/netns/p\n',
      'link set mgyx alias margay:c1\nlink set mgyx up\n',
    ]);
    expect(base.calls).toEqual([]);
  });

  it('a refused first line stops the batch and reads "-:1" (the pair was not made)', async () => {
    const s = new FakeSession([{ exitCode: 1, stderr: 'RTNETLINK answers: File exists\nCommand failed -:1\n' }]);
    const run = new VethCommandRunner(new RecordingRunner(), silentLogger(), [s]).run(['ip', '-batch', '-'], {
      stdin: BATCH,
    });
    await expect(run).rejects.toThrow(KernelOpError);
    await expect(run).rejects.toThrow(/File exists\nCommand failed -:1/);
    expect(s.sent).toHaveLength(1);
  });

  it('a later line is numbered as in the whole batch', async () => {
    const s = new FakeSession([
      { exitCode: 0, stderr: '' },
      { exitCode: 1, stderr: 'RTNETLINK answers: Invalid argument\nCommand failed -:2\n' },
    ]);
    const r = await new VethCommandRunner(new RecordingRunner(), silentLogger(), [s]).run(['ip', '-batch', '-'], {
      stdin: BATCH,
      allowFailure: true,
    });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('Command failed -:3');
    expect(r.stderr).not.toContain('-:2');
  });

  it('ip link del goes through the session; other commands and other namespaces to the base runner', async () => {
    const s = new FakeSession([{ exitCode: 1, stderr: 'Cannot find device "mgyx"\nCommand failed -:1\n' }]);
    const base = new RecordingRunner();
    const v = new VethCommandRunner(base, silentLogger(), [s]);
    const del = await v.run(['ip', 'link', 'del', 'mgyx'], { allowFailure: true });
    expect(del.stderr).toContain('Cannot find device');
    expect(s.sent).toEqual(['link del mgyx\n']);
    await v.run(['nsenter', '--net=/run/netns/p', 'ip', '-batch', '-'], { stdin: 'link set eth0 up\n' });
    await v.run(['ip', '-batch', '-'], { stdin: BATCH, netns: 'other' });
    expect(base.calls.map((c) => c.argv[0])).toEqual(['nsenter', 'ip']);
    expect(s.sent).toHaveLength(1);
  });

  it('warm() starts every co-process ahead of use, one per loop turn, and stops after close()', async () => {
    const ss = [new FakeSession([]), new FakeSession([]), new FakeSession([])];
    const r = new VethCommandRunner(new RecordingRunner(), silentLogger(), ss);
    const w = r.warm();
    expect(ss.map((s) => s.starts)).toEqual([0, 0, 0]);
    await w;
    expect(ss.map((s) => s.starts)).toEqual([1, 1, 1]);
    const r2 = new VethCommandRunner(new RecordingRunner(), silentLogger(), ss);
    const w2 = r2.warm();
    r2.close();
    await w2;
    expect(ss.map((s) => s.starts)).toEqual([1, 1, 1]);
  });
});
