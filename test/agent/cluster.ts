import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { createBridge, createNetns, deleteLink, deleteNetns, run, uniqueName } from '../helpers/netns.js';

/**
 * A small cluster for agent integration tests: node namespaces on one bridge in the sandbox's own
 * namespace (the test process reaches every node's health and metrics ports at 10.x.0.N), one
 * shared file datastore, a margay-node process per node (the built dist/agent/main.js, as an
 * operator runs it) and pods made through the built CNI plugin. Everything is removed by stop().
 */
// The repo, whether this file runs from test/agent (vitest) or dist/test/agent (a compiled bench).
const HERE = fileURLToPath(import.meta.url);
export const REPO = HERE.includes('/dist/test/')
  ? HERE.slice(0, HERE.indexOf('/dist/test/'))
  : resolve(dirname(HERE), '../..');
export const AGENT = join(REPO, 'dist/agent/main.js');
export const PLUGIN = join(REPO, 'dist/cni/margay');
export const MARGAYCTL = join(REPO, 'dist/src/cli/margayctl.js');

export interface AgentNode {
  readonly name: string;
  readonly ns: string;
  readonly ip: string;
  readonly runDir: string;
  proc: ChildProcess | undefined;
  log: string;
  env: Record<string, string>;
}

export interface Pod {
  readonly ns: string;
  readonly ip: string;
  readonly node: AgentNode;
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
  everyMs = 200,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`,
      );
    await sleep(everyMs);
  }
}

export async function httpGet(url: string): Promise<{ status: number; body: string }> {
  const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return { status: r.status, body: await r.text() };
}

export class Cluster {
  readonly nodes: AgentNode[] = [];
  readonly pods: Pod[] = [];
  dir = '';
  bridge = '';
  readonly #extraNs: string[] = [];
  /** What start() runs: the tsc build by default; benches set the shipped launcher (dist/bin). */
  agentEntry = AGENT;

  /** `subnet`: the second octet of 10.S.0.0/24 for node addresses (unique per test file). */
  constructor(
    readonly subnet: number,
    readonly poolCidr: string,
  ) {}

  async setUp(count: number, env: Record<string, string> = {}): Promise<this> {
    this.dir = await mkdtemp(join(tmpdir(), 'mgy-agent-'));
    this.bridge = await createBridge(undefined, { cidr: `10.${this.subnet}.0.254/24` });
    for (let i = 1; i <= count; i++) {
      const ns = await createNetns('an');
      const ip = `10.${this.subnet}.0.${i}`;
      const host = uniqueName('ah');
      await run('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', `${host}p`]);
      await run('ip', ['link', 'set', `${host}p`, 'netns', ns]);
      await run('ip', ['-n', ns, 'link', 'set', `${host}p`, 'name', 'eth0']);
      await run('ip', ['-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
      await run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
      await run('ip', ['-n', ns, 'route', 'add', 'default', 'via', `10.${this.subnet}.0.254`]);
      await run('ip', ['link', 'set', host, 'master', this.bridge]);
      await run('ip', ['link', 'set', host, 'up']);
      const name = `node-${i}`;
      const runDir = join(this.dir, `run-${i}`);
      await mkdir(runDir, { recursive: true });
      this.nodes.push({
        name,
        ns,
        ip,
        runDir,
        proc: undefined,
        log: join(this.dir, `${name}.log`),
        env: {
          NODENAME: name,
          MARGAY_DATASTORE: `file:${join(this.dir, 'datastore')}`,
          IP_AUTODETECTION_METHOD: 'interface=eth0',
          MARGAY_RUN_DIR: runDir,
          MARGAY_HEALTH_HOST: '0.0.0.0',
          MARGAY_IPV4POOL_CIDR: this.poolCidr,
          MARGAY_LOG_LEVEL: 'info',
          ...env,
        },
      });
    }
    return this;
  }

  /** Starts (or restarts) the node's agent; its log is appended to <dir>/<node>.log. */
  start(n: AgentNode, env: Record<string, string> = {}): void {
    // The agent writes its log file itself (an fd of its own, appending): no bytes through this
    // process, whose CPU would compete with the agents' on a small machine (the cold-start bench).
    const out = openSync(n.log, 'a');
    // A launcher under dist/bin runs as a program, as an operator's supervisor runs the npm bin: its
    // `#!/usr/bin/env -S … node <flags>` line starts Node tuned (no re-exec); `node` is this Node.
    const argv = this.agentEntry.includes('/dist/bin/') ? [this.agentEntry] : [process.execPath, this.agentEntry];
    const path = `${dirname(process.execPath)}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`;
    const p = spawn('ip', ['netns', 'exec', n.ns, ...argv], {
      env: { PATH: path, ...n.env, ...env },
      stdio: ['ignore', out, out],
    });
    closeSync(out);
    n.proc = p;
  }

  async startAll(): Promise<void> {
    for (const n of this.nodes) this.start(n);
  }

  /** Sends `signal` and waits for the process to exit; returns its exit code. */
  async stopAgent(n: AgentNode, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const p = n.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return p?.exitCode ?? null;
    const done = new Promise<number | null>((resolve) => p.once('exit', (code) => resolve(code)));
    p.kill(signal);
    const code = await done;
    n.proc = undefined;
    return code;
  }

  url(n: AgentNode, path: string, port = 9099): string {
    return `http://${n.ip}:${port}${path}`;
  }

  async ready(n: AgentNode): Promise<boolean> {
    try {
      return (await httpGet(this.url(n, '/readiness'))).status === 200;
    } catch {
      return false; // not listening yet: not ready (the caller polls)
    }
  }

  async waitReady(n: AgentNode, timeoutMs = 30_000): Promise<void> {
    await waitFor(`${n.name} ready`, () => this.ready(n), timeoutMs).catch(async (err: unknown) => {
      throw new Error(`${(err as Error).message}\n--- ${n.name} log (tail) ---\n${await this.logTail(n)}`);
    });
  }

  async logTail(n: AgentNode, lines = 40): Promise<string> {
    const text = await readFile(n.log, 'utf8').catch(() => '');
    return text.split('\n').slice(-lines).join('\n');
  }

  async cniSocket(n: AgentNode): Promise<string> {
    const f = (await readdir(n.runDir)).find((x) => x.startsWith('cni-') && x.endsWith('.sock'));
    if (!f) throw new Error(`${n.name}: no CNI socket in ${n.runDir}`);
    return join(n.runDir, f);
  }

  /** A pod on `n` through the built CNI plugin (run in the node's namespace, as kubelet would). */
  async addPod(n: AgentNode, containerId: string): Promise<Pod> {
    const ns = await createNetns('ap');
    this.#extraNs.push(ns);
    const conf = {
      cniVersion: '1.0.0',
      name: 'k8s-pod-network',
      type: 'margay',
      ipam: { type: 'margay-ipam' },
      agentSocket: await this.cniSocket(n),
    };
    const r = await execa('ip', ['netns', 'exec', n.ns, PLUGIN], {
      env: {
        CNI_COMMAND: 'ADD',
        CNI_CONTAINERID: containerId,
        CNI_IFNAME: 'eth0',
        CNI_NETNS: `/run/netns/${ns}`,
        CNI_PATH: '/usr/lib/cni',
      },
      extendEnv: false,
      input: JSON.stringify(conf),
      reject: false,
      timeout: 120_000,
    });
    if (r.exitCode !== 0)
      throw new Error(
        `CNI ADD on ${n.name} failed (${r.timedOut ? 'timed out' : `exit ${r.exitCode}`}): ${r.stdout} ${r.stderr}`,
      );
    const out = JSON.parse(r.stdout) as { ips: { address: string }[] };
    const pod = { ns, ip: out.ips[0]!.address.split('/')[0]!, node: n };
    this.pods.push(pod);
    return pod;
  }

  async routes(n: AgentNode, proto: number): Promise<{ dst: string; gateway?: string }[]> {
    return JSON.parse(await run('ip', ['-n', n.ns, '-j', 'route', 'show', 'proto', String(proto)])) as {
      dst: string;
      gateway?: string;
    }[];
  }

  async writeManifest(name: string, yaml: string): Promise<void> {
    await writeFile(join(this.dir, 'datastore', name), yaml);
  }

  async stop(): Promise<void> {
    for (const n of this.nodes) await this.stopAgent(n, 'SIGKILL').catch(() => undefined);
    for (const ns of [...this.#extraNs, ...this.nodes.map((n) => n.ns)]) await deleteNetns(ns);
    if (this.bridge) await deleteLink(undefined, this.bridge);
    if (this.dir && !process.env.MARGAY_KEEP_TEST_DIR) await rm(this.dir, { recursive: true, force: true });
  }
}
