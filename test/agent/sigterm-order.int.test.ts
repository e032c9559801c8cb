/**
 * margay-node's SIGTERM goes through its ServiceGroup (agent/node-agent.ts): every part stops, last
 * joined first, the process exits 0 and says the dataplane stays. The signal is sent while the agent
 * is still busy programming the kernel (kernel commands running), which used to kill it mid-stop
 * (agent/main.ts: signal-exit re-raised the signal). Inside scripts/in-sandbox.sh; needs npm run build.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';

const MAIN = new URL('../../dist/agent/main.js', import.meta.url).pathname;
let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('margay-node SIGTERM', () => {
  it('stops every part in order through the service group and exits 0', async () => {
    dir = await mkdtemp(join(tmpdir(), 'mgy-sigterm-'));
    await writeFile(join(dir, 'ns.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n');
    const child = execa('node', [MAIN, '--health-port', '0', '--metrics-port', '0'], {
      env: {
        NODENAME: 'node-a',
        MARGAY_DATASTORE: `file:${dir}`,
        MARGAY_LOG_LEVEL: 'info',
        MARGAY_NETWORKING_BACKEND: 'none',
      },
      reject: false,
    });
    let err = '';
    const started = new Promise<void>((resolve) =>
      child.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes('started; waiting for the datastore')) resolve();
      }),
    );
    const deadline = new Promise<never>((_, reject) => {
      const t = setTimeout(() => reject(new Error(`not started within 50 s:\n${err}`)), 50_000);
      void child.finally(() => clearTimeout(t));
    });
    try {
      await Promise.race([started, deadline]);
    } finally {
      child.kill('SIGTERM');
    }
    const r = await child;
    expect(r.exitCode, r.stderr).toBe(0);
    const stopped = r.stderr
      .split('\n')
      .filter((l) => l.includes('"msg":"service stopped"'))
      .map((l) => (JSON.parse(l) as { service: string }).service);
    expect(stopped).toEqual(['cni', 'cache', 'status-socket', 'datastore', 'dataplane', 'metrics', 'health']);
    expect(r.stderr).toContain('stopped; dataplane left in place');
  });
});
