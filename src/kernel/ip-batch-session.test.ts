import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KernelOpError } from '../errors.js';
import { silentLogger } from '../log.js';
import { parseIpBatchFailures } from './errors.js';
import { CoprocessCommandRunner, IpBatchSession, isIpForceBatch } from './ip-batch-session.js';
import { FakeCommandRunner } from './testing/fake-command-runner.js';

/**
 * A stand-in for `ip -force -batch -` with its stderr protocol: numbers lines over the session,
 * prints reasons then `Command failed -:N` for a failed line. `fail …` fails; `die` kills the process
 * (only while the marker file does not exist yet, so the retry on a new process gets through);
 * `hang` stops answering; anything else not starting with `ok` is an unknown object.
 */
const dir = mkdtempSync(join(tmpdir(), 'mgy-ipbatch-'));
const script = join(dir, 'fake-ip.cjs');
writeFileSync(
  script,
  `
const fs = require('fs');
const marker = process.argv[2];
let n = 0, buf = '', hung = false;
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf('\\n')) >= 0) {
    const line = buf.slice(0, i); buf = buf.slice(i + 1); n++;
    if (hung) continue;
    if (line === 'die' && !fs.existsSync(marker)) { fs.writeFileSync(marker, ''); process.exit(3); }
    if (line === 'hang') { hung = true; continue; }
    if (line === '' || line.startsWith('ok') || line === 'die') continue;
    if (line.startsWith('fail')) process.stderr.write('Error: nope ' + line + '\\nCommand failed -:' + n + '\\n');
    else process.stderr.write('Object "' + line + '" is unknown, try "ip help".\\nCommand failed -:' + n + '\\n');
  }
});
`,
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function session(marker: string, opts: { timeoutMs?: number } = {}): IpBatchSession {
  return new IpBatchSession([process.execPath, script, join(dir, marker)], silentLogger(), opts);
}

describe('IpBatchSession', () => {
  it('answers batch after batch on one process, failures numbered within each batch', async () => {
    const s = session('m1');
    try {
      expect(await s.run('ok 1\nok 2\n')).toMatchObject({ exitCode: 0, stderr: '' });
      const input = 'ok 3\nfail a\nok 4\nfail b\n';
      const r = await s.run(input);
      expect(r.exitCode).toBe(1);
      expect(parseIpBatchFailures(r.stderr, input)).toEqual([
        { line: 2, text: 'fail a', reason: 'Error: nope fail a' },
        { line: 4, text: 'fail b', reason: 'Error: nope fail b' },
      ]);
      // Concurrent callers are serialised; each gets its own answer.
      const [a, b] = await Promise.all([s.run('fail c\n'), s.run('ok 5')]);
      expect(parseIpBatchFailures(a.stderr, 'fail c\n')).toEqual([
        { line: 1, text: 'fail c', reason: 'Error: nope fail c' },
      ]);
      expect(b.exitCode).toBe(0);
      expect(s.spawns).toBe(1);
    } finally {
      s.close();
    }
  });

  it('restarts a co-process that dies mid-batch and sends the whole batch again', async () => {
    const s = session('m2');
    try {
      await s.run('ok\n');
      const first = s.pid;
      const input = 'ok a\ndie\nfail after\n';
      const r = await s.run(input);
      expect(existsSync(join(dir, 'm2'))).toBe(true);
      expect(s.spawns).toBe(2);
      expect(s.pid).not.toBe(first);
      // The retried batch is answered in full, numbered from its own first line.
      expect(parseIpBatchFailures(r.stderr, input)).toEqual([
        { line: 3, text: 'fail after', reason: 'Error: nope fail after' },
      ]);
      expect((await s.run('ok\n')).exitCode).toBe(0);
    } finally {
      s.close();
    }
  });

  it('a co-process killed while idle is replaced on the next batch', async () => {
    const s = session('m3');
    try {
      await s.run('ok\n');
      process.kill(s.pid!, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 100));
      expect((await s.run('fail x\n')).stderr).toBe('Error: nope fail x\nCommand failed -:1\n');
      expect(s.spawns).toBe(2);
    } finally {
      s.close();
    }
  });

  it('a batch not answered in time fails with KernelOpError and the next batch gets a new process', async () => {
    const s = session('m4', { timeoutMs: 300 });
    try {
      await expect(s.run('hang\nok\n')).rejects.toThrow(KernelOpError);
      await expect(s.run('hang\n')).rejects.toThrow(/not answered within 300 ms/);
      expect(s.spawns).toBe(2);
    } finally {
      s.close();
    }
  });

  it('a missing binary is a clear error', async () => {
    const s = new IpBatchSession(['/nonexistent/ip', '-force', '-batch', '-'], silentLogger());
    await expect(s.run('route add 10.0.0.0/8 dev x\n')).rejects.toThrow(/not installed/);
  });
});

describe('CoprocessCommandRunner', () => {
  it('takes only `ip … -force -batch -` with stdin; everything else goes to the base runner', async () => {
    expect(isIpForceBatch(['ip', '-n', 'ns1', '-force', '-batch', '-'])).toBe(true);
    expect(isIpForceBatch(['ip', '-batch', '-'])).toBe(false);
    expect(isIpForceBatch(['ipset', '-force', '-batch', '-'])).toBe(false);
    const base = new FakeCommandRunner().on('route show', { stdout: '[]' });
    const r = new CoprocessCommandRunner(base, silentLogger());
    await r.run(['ip', '-j', 'route', 'show']);
    expect(base.lines).toEqual(['ip -j route show']);
    expect(r.sessions).toHaveLength(0);
    r.close();
  });
});
