import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/bgp-daemons.js';

// Runs the built binary (npm test builds first): dist/agent/main.js.
const MAIN = new URL('../../dist/agent/main.js', import.meta.url).pathname;
let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('margay-node binary', () => {
  it('rejects bad settings with the flag, the variable and the reason; exit 2', async () => {
    const r = await execa('node', [MAIN], { env: { NODENAME: 'Bad_Name' }, extendEnv: false, reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--nodename / NODENAME');
    expect(r.stderr).toContain('DNS-1123');
  });

  it('syncs a file datastore and reports ready; a malformed file does not stop it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'mgy-node-'));
    await writeFile(join(dir, 'ns.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n');
    await writeFile(join(dir, 'broken.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: [oops\n');
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const child = execa('node', [MAIN, '--health-port', String(port), '--metrics-port', '0'], {
      // No BGP: this sandbox has no interface address for the speaker (test/agent/mesh covers BGP).
      // The address is given, not detected (there is none to find): the agent is ready only once its
      // node record is written, and a node whose address cannot be resolved stays not ready.
      env: {
        NODENAME: 'node-a',
        IP: '10.255.0.1/24',
        MARGAY_DATASTORE: `file:${dir}`,
        MARGAY_LOG_LEVEL: 'info',
        MARGAY_NETWORKING_BACKEND: 'none',
      },
      reject: false,
    });
    try {
      await waitFor(
        'readiness 200',
        async () => (await fetch(`http://127.0.0.1:${port}/readiness`)).status === 200,
        15_000,
        100,
      );
      expect((await fetch(`http://127.0.0.1:${port}/liveness`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
    const r = await child;
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain('datastore in sync');
    expect(r.stderr).toContain('broken.yaml');
  });

  it('stays not ready (node-registered) while its address cannot be resolved: nothing to record', async () => {
    dir = await mkdtemp(join(tmpdir(), 'mgy-node-'));
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const child = execa('node', [MAIN, '--health-port', String(port), '--metrics-port', '0'], {
      // first-found, and the sandbox has only lo: autodetection fails and is retried.
      env: { NODENAME: 'node-b', MARGAY_DATASTORE: `file:${dir}`, MARGAY_NETWORKING_BACKEND: 'none' },
      reject: false,
    });
    try {
      const body = await waitFor(
        'readiness to name only the node record',
        async () => {
          const r = await fetch(`http://127.0.0.1:${port}/readiness`);
          const text = await r.text();
          return r.status === 503 && text.trim() === 'not ready: node-registered' ? text.trim() : undefined;
        },
        15_000,
        100,
      );
      expect(body).toBe('not ready: node-registered');
    } finally {
      child.kill('SIGTERM');
    }
    const r = await child;
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain('resolving the node');
  });
});
