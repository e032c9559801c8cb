import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT, Cluster, httpGet, REPO, sleep, waitFor } from './cluster.js';

// Start-up: an unreachable datastore is retried while the agent says not-ready (it never exits), and
// it becomes ready once the datastore is there; configuration errors exit 2 naming the setting.
let c: Cluster;

beforeAll(async () => {
  c = await new Cluster(83, '10.183.0.0/16').setUp(1);
}, 30_000);

afterAll(async () => {
  await c?.stop();
});

describe('margay-node start-up', () => {
  it('datastore unreachable at start: alive, not ready, retrying with back-off; ready once it is reachable', async () => {
    const n = c.nodes[0]!;
    const blocker = join(c.dir, 'blocker');
    await writeFile(blocker, 'a file where the datastore directory should be\n');
    c.start(n, { MARGAY_DATASTORE: `file:${join(blocker, 'ds')}`, MARGAY_DATASTORE_RETRY_MAX_MS: '500' });
    await waitFor('health port up', async () => (await httpGet(c.url(n, '/liveness'))).status === 200, 20_000);
    const r = await httpGet(c.url(n, '/readiness'));
    expect(r.status).toBe(503);
    expect(r.body).toContain('datastore');
    await sleep(1500);
    expect(n.proc?.exitCode).toBeNull(); // still running: never exits for an unreachable datastore
    expect(await c.logTail(n, 200)).toContain('datastore unreachable; not ready, retrying');
    expect(await c.routes(n, 111)).toEqual([]); // nothing written to the kernel before in-sync
    await rm(blocker);
    await mkdir(blocker);
    await c.waitReady(n, 30_000);
    expect(await c.logTail(n, 200)).toContain('datastore reachable');
  });

  it('configuration errors exit 2 with the flag, the variable and the range; --help lists every setting', async () => {
    const bad = await execa(process.execPath, [AGENT], {
      env: { NODENAME: 'n1', AS: '0' },
      extendEnv: false,
      reject: false,
    });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('invalid configuration (--as / AS): must be a whole number in 1..4294967295, got "0"');
    const help = await execa(process.execPath, [AGENT, '--help'], { extendEnv: false, reject: false });
    expect(help.exitCode).toBe(0);
    for (const v of [
      'NODENAME',
      'MARGAY_DATASTORE',
      'IP_AUTODETECTION_METHOD',
      'IP6',
      'AS',
      'MARGAY_LOG_FORMAT',
      'MARGAY_IPV4POOL_CIDR',
    ])
      expect(help.stdout).toContain(v);
  });

  it('run as a program, the launcher starts Node tuned (no re-exec, no warning) and logs its start-up steps; BGP starts before the first programming and the node record', async () => {
    const n = c.nodes[0]!;
    await c.stopAgent(n, 'SIGTERM');
    const from = (await readFile(n.log, 'utf8')).length;
    const launcher = join(REPO, 'dist/bin/margay-node.js');
    c.agentEntry = launcher;
    try {
      c.start(n);
      await c.waitReady(n, 30_000);
      // The #! line's env -S started Node with the flag and the launcher as argv[1]; a re-exec would
      // have argv[1] = the bundle entry (the launcher rewrites it before importing the bundle).
      const argv = (await readFile(`/proc/${n.proc!.pid}/cmdline`, 'utf8')).split('\0');
      expect(argv).toContain('--max-semi-space-size=2');
      expect(argv).toContain(launcher);
      const log = (await readFile(n.log, 'utf8')).slice(from);
      expect(log).not.toContain('memory settings not applied');
      const steps = log
        .split('\n')
        .filter((l) => l.includes('"start-up step"'))
        .map((l) => JSON.parse(l) as { step: string; ms: number; cpuMs: number });
      const at = (step: string): number => steps.findIndex((s) => s.step === step);
      for (const s of ['modules loaded', 'datastore in sync', 'BGP speaker started', 'node registered'])
        expect(at(s), s).toBeGreaterThanOrEqual(0);
      expect(at('BGP speaker started')).toBeLessThan(at('node registered'));
      // The speaker listens and connects before the first full programming (its CPU) starts.
      const line = (msg: string): number => log.indexOf(`"msg":"${msg}"`);
      expect(line('desired state complete: programming the dataplane')).toBeGreaterThan(line('BGP speaker started'));
      expect(line('BGP speaker started')).toBeGreaterThan(0);
      // The CNI server's ip co-processes (a fork of the agent each) start only once the first routes are in.
      const warmed = async () => (await readFile(n.log, 'utf8')).slice(from);
      const t0 = Date.now();
      while (!(await warmed()).includes('CNI ip co-processes started') && Date.now() - t0 < 10_000)
        await new Promise((r) => setTimeout(r, 50));
      const later = await warmed();
      expect(later.indexOf('"msg":"CNI ip co-processes started ahead of use"')).toBeGreaterThan(
        later.indexOf('"step":"dataplane programmed"'),
      );
      expect(later.indexOf('"step":"dataplane programmed"')).toBeGreaterThan(0);
      // Routes first: chains, ipsets, neighbours, sysctls and MTUs — and the iptables backend's
      // detection (four or five process starts) — wait until this node's routes are in.
      expect(later.indexOf('"step":"routes programmed"')).toBeGreaterThan(
        later.indexOf('"step":"BGP speaker started"'),
      );
      expect(later.indexOf('"msg":"iptables backend detected"')).toBeGreaterThan(
        later.indexOf('"step":"routes programmed"'),
      );
      expect(later.indexOf('"step":"dataplane programmed"')).toBeGreaterThan(
        later.indexOf('"msg":"iptables backend detected"'),
      );
      // So does the status socket (its server loads node:http); readiness waited for it.
      expect(later.indexOf('"reporter":"status-socket","ready":true')).toBeGreaterThan(
        later.indexOf('"step":"routes programmed"'),
      );
      // So does the file datastore's lock-probe thread (a worker: ≈ 90 ms of CPU to start).
      while (!(await warmed()).includes('lock probe thread started') && Date.now() - t0 < 10_000)
        await new Promise((r) => setTimeout(r, 50));
      const guarded = await warmed();
      expect(guarded.indexOf('"msg":"lock probe thread started"')).toBeGreaterThan(
        guarded.indexOf('"step":"dataplane programmed"'),
      );
      for (const s of steps) expect(s.cpuMs).toBeGreaterThan(0);
    } finally {
      c.agentEntry = AGENT;
    }
  });
});
