/**
 * margay-node's V8 code cache (docs/startup.md, eighth pass): the agent's launcher runs its CommonJS
 * bundle through vm.Script and writes the code cache once the agent is up (agent/main.ts calls the
 * launcher's `margay.started` hook), so the next start deserializes the start-up's functions instead of
 * compiling them. One agent on the agent test cluster (needs root: run in scripts/in-sandbox.sh, after
 * `npm run build`); `NODE_DEBUG=margay-node` makes the launcher say what it did, in the agent's log.
 */
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentNode, Cluster, httpGet, REPO, waitFor } from '../agent/cluster.js';

let c: Cluster;
let cache = '';
let n: AgentNode;

beforeAll(async () => {
  cache = await mkdtemp(join(tmpdir(), 'mgy-node-cc-'));
  c = await new Cluster(89, '10.189.0.0/16').setUp(1, { NODE_COMPILE_CACHE: cache, NODE_DEBUG: 'margay-node' });
  c.agentEntry = join(REPO, 'dist/bin/margay-node.js');
  n = c.nodes[0]!;
}, 60_000);
afterAll(async () => {
  await c?.stop();
  if (cache !== '') await rm(cache, { recursive: true, force: true });
});

/** The launcher's lines in the log since `from` (a length of the log). */
async function said(from: number): Promise<string> {
  return (await readFile(n.log, 'utf8'))
    .slice(from)
    .split('\n')
    .filter((l) => l.startsWith('margay-node code cache: '))
    .join('\n');
}
const logLength = async (): Promise<number> => (await readFile(n.log, 'utf8').catch(() => '')).length;

/** Starts the agent, waits until it is ready (and, with `written`, until the launcher wrote the cache), stops it. */
async function startOnce(written: boolean, whileUp?: () => Promise<void>): Promise<string> {
  const from = await logLength();
  c.start(n);
  await c.waitReady(n, 60_000);
  await whileUp?.();
  if (written) await waitFor('the code cache written', async () => /written: /.test(await said(from)), 15_000);
  else await new Promise((r) => setTimeout(r, 2_500)); // the hook fires ≈ 0.3 s after ready
  expect(await c.stopAgent(n, 'SIGTERM')).toBe(0);
  return said(from);
}

describe('margay-node code cache', () => {
  it('is written once the agent is up, then used by the next start; a rejected one is rewritten, an untrusted one ignored', async () => {
    const first = await startOnce(true);
    expect(first).toMatch(/none: .*-core-run\.v8/);
    expect(first).toMatch(/written: .*-core-run\.v8/);
    const [folder] = (await readdir(cache)).filter((f) => f.startsWith('margay-node-'));
    const dir = join(cache, folder!);
    const [file] = (await readdir(dir)).filter((f) => f.endsWith('-core-run.v8')).map((f) => join(dir, f));
    // It holds the start-up's functions, not only the file's top level (a --help cache is the top level).
    expect((await stat(file!)).size).toBeGreaterThan(800 * 1024);
    expect((await stat(file!)).mode & 0o777).toBe(0o600);

    const second = await startOnce(false, async () => {
      // prom-client through the bundle (scripts/lazy-requires.mjs rewrote its exports).
      const metrics = await httpGet(c.url(n, '/metrics', 9091));
      expect(metrics.status).toBe(200);
      expect(metrics.body).toContain('margay_');
    });
    expect(second).toMatch(/accepted: .*-core-run\.v8/);
    expect(second).not.toContain('written');

    // Not a cache V8 can use (another Node, other flags, a torn file): rejected, and written again.
    await writeFile(file!, Buffer.alloc(64, 7));
    const rejected = await startOnce(true);
    expect(rejected).toMatch(/rejected: .*-core-run\.v8/);
    expect((await stat(file!)).size).toBeGreaterThan(800 * 1024);

    await chmod(file!, 0o666);
    const open = await startOnce(true);
    expect(open).toMatch(/ignored \(mode 666\): .*-core-run\.v8/);
    expect((await stat(file!)).mode & 0o777).toBe(0o600);

    const off = await logLength();
    c.start(n, { NODE_DISABLE_COMPILE_CACHE: '1' });
    await c.waitReady(n, 60_000);
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await c.stopAgent(n, 'SIGTERM')).toBe(0);
    expect(await said(off)).toBe('');
  }, 180_000);

  it('is written when the agent is stopped as soon as it is ready', async () => {
    const [folder] = (await readdir(cache)).filter((f) => f.startsWith('margay-node-'));
    await rm(join(cache, folder!), { recursive: true });
    const from = await logLength();
    c.start(n);
    await c.waitReady(n, 60_000);
    // agent/main.ts writes the cache 300 ms after it saw the agent ready, or at SIGTERM if it is ready.
    expect(await c.stopAgent(n, 'SIGTERM')).toBe(0);
    expect(await said(from)).toMatch(/written: .*-core-run\.v8/);
  }, 90_000);
});
