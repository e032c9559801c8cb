import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { describeProcess, launchForking, logTail, spawnDaemon, stopProcess } from './processes.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function workdir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'mgy-proc-test-'));
  dirs.push(d);
  return d;
}

describe('describeProcess', () => {
  it("names a live process's command line and each thread's state and wait channel", async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => child.once('spawn', r));
      const text = await describeProcess(child.pid!);
      expect(text).toContain(`pid ${child.pid}: sleep 30`);
      expect(text).toMatch(new RegExp(`thread ${child.pid} \\(sleep\\) state [SR] wchan `));
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('is empty for a process that is gone', async () => {
    const child = spawn('true', { stdio: 'ignore' });
    await new Promise((r) => child.once('exit', r));
    expect(await describeProcess(child.pid!)).toBe('');
  });
});

describe('logTail from a restart', () => {
  it("shows only what the restarted process wrote, not its predecessor's lines", async () => {
    const dir = await workdir();
    await writeFile(join(dir, 'd.log'), 'line of the first run\n');
    const p = await spawnDaemon({
      name: 'd',
      ns: undefined,
      argv: ['sh', '-c', 'echo second run; sleep 30'],
      workdir: dir,
    });
    try {
      expect(p.logStart).toBe('line of the first run\n'.length);
      for (let i = 0; i < 100 && !(await logTail(p.logFile!, 4000, p.logStart)); i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(await logTail(p.logFile!, 4000, p.logStart)).toBe('second run\n');
      expect(await logTail(p.logFile!)).toBe('line of the first run\nsecond run\n');
    } finally {
      await stopProcess(p, { signal: 'SIGKILL' });
    }
  });
});

describe('launchForking', () => {
  it("adopts the daemon's own pid, not the last run's pid file in a reused work dir", async () => {
    const dir = await workdir();
    const pidFile = join(dir, 'd.pid');
    // The last run's pid: a live process (this one), so adopting it would later stop the wrong one.
    await writeFile(pidFile, `${process.pid}\n`);
    let child: number | undefined;
    try {
      const rec = await launchForking('d', pidFile, undefined, undefined, async () => {
        // Like BIRD: the launcher returns at once; the forked daemon writes its pid a little later.
        const p = spawn('sh', ['-c', `sleep 0.3; echo $$ > '${pidFile}'; exec sleep 30`], {
          stdio: 'ignore',
          detached: true,
        });
        p.unref();
        child = p.pid;
      });
      expect(rec.pid).toBe(child);
      expect(rec.pid).not.toBe(process.pid);
    } finally {
      if (child !== undefined) process.kill(child, 'SIGKILL');
    }
  });
});
