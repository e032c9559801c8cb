import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileDatastore } from '../../src/datastore/file.js';
import { silentLogger } from '../../src/log.js';

/**
 * Hostile files in a file datastore directory with margay-node running on it (issue 6 §3): each is
 * reported (file, reason) and skipped without being opened, good files keep applying, the agent
 * stays ready and its memory returns to its level; while the database cannot be read at all,
 * /readiness says not ready. Runs the built agent (npm run build first), as root (mknod).
 */
const AGENT = 'dist/agent/main.js';
let dir: string;
let agent: ChildProcess;
let logs = '';
let port: number;
let sock: Server | undefined;

async function readiness(): Promise<number> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/readiness`)).status;
  } catch (_err) {
    return -1; // not listening yet
  }
}
async function until(what: string, pred: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; agent log tail:\n${logs.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
async function rssKb(pid: number): Promise<number> {
  const m = /VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]);
}
const ns = (name: string, extra = '') => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n${extra}`;

beforeAll(async () => {
  if (!existsSync(AGENT)) throw new Error(`${AGENT} missing: run \`npm run build\` before the integration tests`);
  if (process.getuid?.() !== 0) throw new Error('needs root (mknod); run through scripts/in-sandbox.sh');
  dir = await mkdtemp(join(tmpdir(), 'mgy-ds-hostile-'));
  await writeFile(join(dir, 'good.yaml'), ns('good-1'));
  port = 20_000 + Math.floor(Math.random() * 20_000);
  agent = spawn(process.execPath, [AGENT], {
    env: {
      ...process.env,
      NODENAME: 'hostile-node',
      MARGAY_DATASTORE: `file:${dir}`,
      MARGAY_HEALTH_PORT: String(port),
      MARGAY_METRICS_PORT: '0',
      MARGAY_LOG_LEVEL: 'info',
      IP: '10.99.0.1',
      // This test is about the datastore: no BGP speaker (whose listen address is not on this host).
      MARGAY_NETWORKING_BACKEND: 'none',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  agent.stdout!.on('data', (b: Buffer) => (logs += b.toString()));
  agent.stderr!.on('data', (b: Buffer) => (logs += b.toString()));
  await until('the agent to become ready', async () => (await readiness()) === 200, 45_000);
}, 60_000);

afterAll(async () => {
  agent?.kill('SIGTERM');
  sock?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('margay-node on a file datastore with hostile files', () => {
  it('reports and skips every hostile entry without opening it, keeps applying good files and stays ready', async () => {
    const base = await rssKb(agent.pid!);
    await mkdir(join(dir, 'sub'));
    await symlink('loop-b.yaml', join(dir, 'loop-a.yaml'));
    await symlink('loop-a.yaml', join(dir, 'loop-b.yaml'));
    execFileSync('mkfifo', [join(dir, 'sub', 'fifo')]);
    execFileSync('mkfifo', [join(dir, 'fifo.yaml')]);
    await symlink(join(dir, 'sub', 'fifo'), join(dir, 'to-fifo.yaml'));
    await symlink('/etc/shadow', join(dir, 'shadow.yaml'));
    await symlink('/dev/zero', join(dir, 'zero.yaml'));
    execFileSync('mknod', [join(dir, 'null.yaml'), 'c', '1', '3']);
    execFileSync('mknod', [join(dir, 'sub', 'null'), 'c', '1', '3']);
    await symlink(join(dir, 'sub', 'null'), join(dir, 'to-dev.yaml'));
    sock = createServer();
    await new Promise<void>((r) => sock!.listen(join(dir, 'sock.yaml'), r));
    await writeFile(join(dir, 'huge.yaml'), Buffer.alloc(10 * 1024 * 1024, 0x61));
    await writeFile(join(dir, 'annot.yaml'), ns('annot', `  annotations:\n    big: ${'x'.repeat(300 * 1024)}\n`));
    await writeFile(join(dir, 'twice.yaml'), `${ns('twice')}---\n${ns('twice', '  labels: {n: "2"}\n')}`);
    await writeFile(join(dir, 'broken.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: {name: [\n');
    // A good file written after all of them still applies.
    await new Promise((r) => setTimeout(r, 300));
    await writeFile(join(dir, 'good2.yaml'), ns('good-2'));
    const store = await FileDatastore.open({ dir, log: silentLogger() });
    try {
      await until('good2.yaml applied', async () => (await store.get('Namespace', 'good-2')) !== undefined);
      expect(await store.get('Namespace', 'twice')).toBeTruthy();
      expect(await store.get('Namespace', 'annot')).toBeUndefined();
      await until('every problem recorded', () => store.problems().length >= 13);
      const byFile = Object.fromEntries(store.problems().map((p) => [p.file, p.reason]));
      expect(byFile).toEqual({
        'loop-a.yaml': expect.stringMatching(/symlink loop/),
        'loop-b.yaml': expect.stringMatching(/symlink loop/),
        'fifo.yaml': expect.stringMatching(/is a FIFO: not read/),
        'to-fifo.yaml': expect.stringMatching(/symlink to a FIFO: not read/),
        'shadow.yaml': expect.stringMatching(/symlink to \/etc\/shadow, outside the datastore directory/),
        'zero.yaml': expect.stringMatching(/symlink to \/dev\/zero, outside the datastore directory/),
        'null.yaml': expect.stringMatching(/is a character device: not read/),
        'to-dev.yaml': expect.stringMatching(/symlink to a character device: not read/),
        'sock.yaml': expect.stringMatching(/is a socket: not read/),
        'huge.yaml': expect.stringMatching(/10485760 bytes, over the limit of 1048576 bytes \(1 MiB\)/),
        'annot.yaml': expect.stringMatching(/metadata\.annotations.*262144 bytes \(256 KiB/),
        'twice.yaml': expect.stringMatching(/defined twice in this file \(first at line 1\)/),
        'broken.yaml': expect.stringMatching(/YAML/),
      });
    } finally {
      await store.close();
    }
    // The agent logged them too (file, line, reason), is still ready, and did not balloon.
    await until(
      'the agent to log the problems',
      () => logs.includes('"file":"huge.yaml"') && logs.includes('"file":"to-fifo.yaml"'),
    );
    expect(logs).toMatch(/"file":"broken.yaml","line":\d+,"reason":"YAML/);
    expect(await readiness()).toBe(200);
    const after = await rssKb(agent.pid!);
    expect(after - base, `agent RSS ${base} kB before, ${after} kB after`).toBeLessThan(40 * 1024);
  }, 60_000);

  it('reports not ready while the database cannot be read at all, and ready again when it can', async () => {
    await rename(join(dir, '.margay'), join(dir, '.margay-away'));
    try {
      await until('not ready', async () => (await readiness()) === 503);
      const body = await (await fetch(`http://127.0.0.1:${port}/readiness`)).text();
      expect(body).toContain('datastore-storage');
    } finally {
      await rename(join(dir, '.margay-away'), join(dir, '.margay'));
    }
    await until('ready again', async () => (await readiness()) === 200);
  }, 30_000);
});
