import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KernelOpError, PrerequisiteError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { ExecaCommandRunner } from '../../src/kernel/command-runner.js';
import { encodeRequest, SpawnHelperRunner, spawnHelperPath } from '../../src/kernel/spawn-runner.js';
import { withNetns } from '../helpers/netns.js';

/** Real processes through the real margay-spawn helper (built by `npm run build:cni`). */
const HELPER = spawnHelperPath();
if (HELPER === undefined) throw new Error('dist/kernel/margay-spawn is not built: run npm run build');

const runners: SpawnHelperRunner[] = [];
function runner(opts: ConstructorParameters<typeof SpawnHelperRunner>[2] = {}): SpawnHelperRunner {
  const r = new SpawnHelperRunner(HELPER!, silentLogger(), { timeoutMs: 5_000, ...opts });
  runners.push(r);
  return r;
}
afterEach(() => {
  for (const r of runners.splice(0)) r.close();
});

describe('SpawnHelperRunner', () => {
  it('passes stdin, returns stdout/stderr and exit codes, runs inside a namespace when asked', async () => {
    const r = runner();
    expect((await r.run(['cat'], { stdin: 'hello\n' })).stdout).toBe('hello\n');
    const both = await r.run(['sh', '-c', 'echo out; echo err >&2; exit 3'], { allowFailure: true });
    expect(both).toMatchObject({ exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
    const err = await r.run(['ip', 'link', 'show', 'dev', 'mgynosuch']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KernelOpError);
    expect(err).toMatchObject({ code: 'MGY_KERNEL_OP', exitCode: 1 });
    expect((err as KernelOpError).stderr).toContain('mgynosuch');
    await withNetns(async (ns) => {
      const res = await r.run(['ip', '-j', 'link', 'show'], { netns: ns });
      expect(res.argv.slice(0, 4)).toEqual(['ip', 'netns', 'exec', ns]);
      expect((JSON.parse(res.stdout) as { ifname: string }[]).map((l) => l.ifname)).toEqual(['lo']);
    });
    expect(r.starts).toBe(1);
  });

  it('runs `nsenter --net=PATH cmd` itself (setns + one exec), failing as nsenter does', async () => {
    const r = runner();
    const execa = new ExecaCommandRunner(silentLogger(), 5_000);
    await withNetns(async (ns) => {
      const argv = ['nsenter', `--net=/run/netns/${ns}`, 'ip', '-j', 'link', 'show'];
      const res = await r.run(argv);
      expect(res.argv).toEqual(argv);
      expect((JSON.parse(res.stdout) as { ifname: string }[]).map((l) => l.ifname)).toEqual(['lo']);
      expect((await r.run(['nsenter', `--net=/run/netns/${ns}`, 'cat'], { stdin: 'in ns\n' })).stdout).toBe('in ns\n');
      // The same failures as the real nsenter: exit 1, a message naming the path.
      for (const path of ['/run/netns/mgy-no-such-ns', '/etc/hostname']) {
        const bad = ['nsenter', `--net=${path}`, 'ip', 'link', 'show'];
        const mine = await r.run(bad, { allowFailure: true });
        const real = await execa.run(bad, { allowFailure: true });
        expect(mine.exitCode).toBe(real.exitCode);
        expect(mine.exitCode).toBe(1);
        expect(mine.stderr).toContain(path);
        expect(mine.stderr.split(':')[0]).toBe(real.stderr.split(':')[0]);
      }
      await expect(r.run(['nsenter', `--net=/run/netns/${ns}`, 'margay-no-such-binary'])).rejects.toThrow(
        PrerequisiteError,
      );
    });
  });

  it('reports a missing binary as a PrerequisiteError and a NUL in argv as an error, and keeps working', async () => {
    const r = runner();
    await expect(r.run(['margay-no-such-binary'])).rejects.toThrow(PrerequisiteError);
    await expect(r.run(['echo', 'a\0b'])).rejects.toThrow(/NUL/);
    await expect(r.run(['/etc/hostname'])).rejects.toThrow(/could not start|errno/);
    expect((await r.run(['echo', 'ok'])).stdout).toBe('ok\n');
  });

  it('carries big stdin and big output intact, and binary bytes', async () => {
    const r = runner({ timeoutMs: 30_000 });
    const big = 'x'.repeat(6 * 1024 * 1024);
    expect((await r.run(['wc', '-c'], { stdin: big })).stdout.trim()).toBe(String(big.length));
    const out = await r.run(['head', '-c', String(8 * 1024 * 1024), '/dev/zero']);
    expect(out.stdout.length).toBe(8 * 1024 * 1024);
    const echo = await r.run(['cat'], { stdin: big });
    expect(echo.stdout === big).toBe(true);
    const bin = await r.run(['printf', '\\001\\377\\000z']);
    expect(bin.stdout.length).toBeGreaterThan(0);
    expect(bin.stdout.endsWith('z')).toBe(true);
  });

  it('kills a command whose output goes above the cap, with a clear error', async () => {
    const r = runner({ maxOutputBytes: 1024 * 1024 });
    const t = performance.now();
    const err = await r.run(['cat', '/dev/zero']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KernelOpError);
    expect(String(err)).toMatch(/output above 1048576 bytes/);
    expect(performance.now() - t).toBeLessThan(3_000);
    expect((await r.run(['echo', 'still'])).stdout).toBe('still\n');
    expect(r.starts).toBe(1);
  });

  it('times out a hung command, its children included, and one whose grandchild holds the pipes', async () => {
    const r = runner({ timeoutMs: 300 });
    let t = performance.now();
    await expect(r.run(['sleep', '30'])).rejects.toThrow(/timed out after 300 ms/);
    expect(performance.now() - t).toBeLessThan(2_000);
    // The shell's child inherits the pipes; the group kill takes both.
    t = performance.now();
    await expect(r.run(['sh', '-c', 'sleep 30 & sleep 30'])).rejects.toThrow(/timed out/);
    expect(performance.now() - t).toBeLessThan(2_000);
    // A grandchild in its own session keeps the pipes open past the kill: answered after the grace.
    t = performance.now();
    await expect(r.run(['sh', '-c', 'setsid sleep 4 & exec sleep 30'])).rejects.toThrow(/timed out/);
    expect(performance.now() - t).toBeLessThan(3_000);
    // A command that exits at once while a detached grandchild holds stdout open: answered at the timeout.
    t = performance.now();
    await expect(r.run(['sh', '-c', 'setsid sleep 4 & exit 0'])).rejects.toThrow(/timed out/);
    expect(performance.now() - t).toBeLessThan(3_000);
    expect((await r.run(['true'])).exitCode).toBe(0);
  });

  it('fails commands in flight clearly when the helper dies, and starts a new one for the next', async () => {
    const pids: (number | undefined)[] = [];
    const r = runner({ onHelperStart: (p) => pids.push(p) });
    expect((await r.run(['true'])).exitCode).toBe(0);
    const inflight = [r.run(['sleep', '5']), r.run(['sleep', '5'])];
    await new Promise((res) => setTimeout(res, 100));
    process.kill(r.helperPid!, 'SIGKILL');
    for (const p of inflight)
      await expect(p).rejects.toThrow(/spawn helper exited \(SIGKILL\).*may or may not have run/);
    expect((await r.run(['echo', 'again'])).stdout).toBe('again\n');
    expect(r.starts).toBe(2);
    expect(pids).toHaveLength(2);
    expect(pids[0]).not.toBe(pids[1]);
  });

  it('kills a helper that stops answering (never a hang)', async () => {
    const r = runner({ timeoutMs: 200, backstopMs: 300 });
    expect((await r.run(['true'])).exitCode).toBe(0);
    process.kill(r.helperPid!, 'SIGSTOP');
    const t = performance.now();
    await expect(r.run(['true'])).rejects.toThrow(/no answer .* within 500 ms/);
    expect(performance.now() - t).toBeLessThan(2_000);
    expect((await r.run(['echo', 'new'])).stdout).toBe('new\n');
    expect(r.starts).toBe(2);
  });

  it('runs 400 commands at once (more than it keeps in flight), each with its own answer', async () => {
    const r = runner({ maxInFlight: 64 });
    const got = await Promise.all(
      Array.from({ length: 400 }, (_, i) => r.run(['sh', '-c', `echo ${i}; exit ${i % 7}`], { allowFailure: true })),
    );
    got.forEach((g, i) => expect(g).toMatchObject({ stdout: `${i}\n`, exitCode: i % 7 }));
    expect(r.starts).toBe(1);
  });

  it('dies with its parent (PDEATHSIG) and takes the commands in flight with it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mgy-spawn-'));
    try {
      const pidFile = join(dir, 'cmd.pid');
      const frame = encodeRequest(1, 60_000, ['sh', '-c', `echo $$ > ${pidFile}; exec sleep 30`], '');
      // A parent that starts the helper, hands it a long command and is then SIGKILLed. Its pipes to
      // the helper close, but the helper answers nobody until the command ends: without PDEATHSIG it
      // (and the sleep) would live on for 30 s.
      const script = `const c = require('node:child_process').spawn(process.argv[1], [], { stdio: ['pipe', 'pipe', 'inherit'],
        env: { ...process.env, MARGAY_SPAWN_PARENT: String(process.pid) } });
        c.stdin.write(Buffer.from(process.argv[2], 'hex')); console.log(c.pid); setInterval(() => {}, 1000);`;
      const parent = spawn(process.execPath, ['-e', script, HELPER!, frame.toString('hex')], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const helperPid = await new Promise<number>((res) => parent.stdout.once('data', (d: Buffer) => res(Number(d))));
      const cmdPid = await until(() => Number(readFileSync(pidFile, 'utf8')) || undefined);
      expect(alive(helperPid) && alive(cmdPid)).toBe(true);
      parent.kill('SIGKILL');
      const t = performance.now();
      await until(() => (alive(helperPid) || alive(cmdPid) ? undefined : true));
      expect(performance.now() - t).toBeLessThan(2_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits at once when started for a parent that is already gone', async () => {
    const child = spawn(HELPER!, [], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, MARGAY_SPAWN_PARENT: '1' },
    });
    expect(await new Promise<number | null>((res) => child.on('close', res))).toBe(4);
  });

  it('answers every request of a burst that arrives with EOF (started a few per loop turn)', async () => {
    const child = spawn(HELPER!, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stdin.end(
      Buffer.concat(Array.from({ length: 40 }, (_, i) => encodeRequest(i + 1, 5000, ['echo', `${i}`], ''))),
    );
    const code = await new Promise<number | null>((res) => child.on('close', res));
    expect(code).toBe(0);
    const all = Buffer.concat(chunks);
    const got = new Map<number, string>();
    for (let off = 0; off < all.length; ) {
      const len = all.readUInt32LE(off);
      const f = all.subarray(off + 4, off + 4 + len);
      got.set(f.readUInt32LE(0), f.toString('utf8', 20, 20 + f.readUInt32LE(12)));
      off += 4 + len;
    }
    expect(got.size).toBe(40);
    for (let i = 0; i < 40; i++) expect(got.get(i + 1)).toBe(`${i}\n`);
  });

  it('the helper itself refuses every malformed request: says why, exits 2, never crashes or hangs', async () => {
    const ok = (): Buffer => encodeRequest(1, 1000, ['/nonexistent/mgy', 'a'], 'in');
    const cases: [string, Buffer, RegExp][] = [];
    const mut = (why: string, re: RegExp, f: (b: Buffer) => Buffer | void): void => {
      const b = ok();
      cases.push([why, f(b) ?? b, re]);
    };
    mut('argc 0', /argc out of range/, (b) => void b.writeUInt32LE(0, 12));
    mut('argc huge', /argc out of range/, (b) => void b.writeUInt32LE(0xffff_ffff, 12));
    mut('argc beyond the strings', /not terminated/, (b) => void b.writeUInt32LE(5, 12));
    mut('stdin beyond the frame', /stdin length beyond/, (b) => void b.writeUInt32LE(0xffff_fff0, 16));
    mut('stdin eats the argv', /not terminated/, (b) => void b.writeUInt32LE(b.length - 24, 16));
    mut('bytes between argv and stdin', /bytes between/, (b) => void b.writeUInt32LE(1, 16));
    mut('frame too short', /frame length out of range/, (b) => void b.writeUInt32LE(3, 0));
    mut('frame too long', /frame length out of range/, (b) => void b.writeUInt32LE(0xffff_ffff, 0));
    mut('truncated frame', /stdin ended inside a request/, (b) => b.subarray(0, b.length - 3));
    mut('no NUL at all', /not terminated/, (b) => {
      const c = Buffer.from(b);
      for (let i = 20; i < c.length; i++) if (c[i] === 0) c[i] = 0x41;
      c.writeUInt32LE(0, 16);
      return c;
    });
    mut('random bytes', /out of range|not terminated|beyond|between|inside a request/, () => {
      const r = Buffer.alloc(64);
      for (let i = 0; i < r.length; i++) r[i] = (i * 151 + 7) & 0xff;
      r.writeUInt32LE(60, 0);
      return r;
    });
    for (const [why, frame, re] of cases) {
      const child = spawn(HELPER!, [], { stdio: ['pipe', 'pipe', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
      });
      // A good request first: the helper answers it, then meets the bad one.
      child.stdin.end(Buffer.concat([encodeRequest(9, 1000, ['true'], ''), frame]));
      const t = performance.now();
      const [code, signal] = await new Promise<[number | null, string | null]>((res) =>
        child.on('close', (c, s) => res([c, s])),
      );
      expect({ why, code, signal }).toEqual({ why, code: 2, signal: null });
      expect(err, why).toMatch(re);
      expect(performance.now() - t, why).toBeLessThan(3_000);
    }
  });
});

/** Running (not gone, not a zombie waiting for its reaper). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function until<T>(f: () => T | undefined, ms = 5_000): Promise<T> {
  const end = performance.now() + ms;
  for (;;) {
    let v: T | undefined;
    try {
      v = f();
    } catch {
      v = undefined;
    }
    if (v !== undefined) return v;
    if (performance.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
