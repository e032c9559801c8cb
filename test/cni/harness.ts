import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { CniServer, type CniServerOptions } from '../../agent/cni/index.js';
import { MapPods, MemoryIpam, RecordingEndpoints } from '../../agent/cni/testing/fakes.js';
import { silentLogger } from '../../src/log.js';
import { createNetns, deleteNetns, run } from '../helpers/netns.js';

/**
 * A CNI test rig: the agent's CniServer in this process (the sandbox's network namespace plays the
 * node), with a test IPAM and endpoint registry, and the built `margay` plugin binary run the way a
 * container runtime runs it (environment + stdin).
 */
export const PLUGIN = new URL('../../dist/cni/margay', import.meta.url).pathname;
export const CNI_BIN = '/usr/lib/cni';

export interface PluginRun {
  readonly code: number;
  readonly out: Record<string, unknown> | undefined;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

export async function exec(bin: string, env: Record<string, string>, stdin: string): Promise<PluginRun> {
  const t = performance.now();
  const r = await execa(bin, [], { env, extendEnv: false, input: stdin, reject: false, timeout: 60_000 });
  const ms = performance.now() - t;
  let out: Record<string, unknown> | undefined;
  try {
    out = r.stdout ? (JSON.parse(r.stdout) as Record<string, unknown>) : undefined;
  } catch (err) {
    throw new Error(`${bin} printed something that is not JSON: ${r.stdout}`, { cause: err });
  }
  return { code: r.exitCode ?? -1, out, stdout: r.stdout, stderr: r.stderr, ms };
}

export class Rig {
  readonly ipam: MemoryIpam;
  readonly endpoints = new RecordingEndpoints();
  readonly pods = new MapPods();
  readonly netns: string[] = [];
  server!: CniServer;
  dir!: string;

  constructor(ipam = new MemoryIpam()) {
    this.ipam = ipam;
  }

  async start(extra: Partial<CniServerOptions> = {}): Promise<this> {
    this.dir = await mkdtemp(join(tmpdir(), 'mgy-cni-'));
    this.server = new CniServer({
      nodeName: 'node-a',
      ipam: this.ipam,
      endpoints: this.endpoints,
      pods: this.pods,
      log: silentLogger(),
      socketPath: join(this.dir, 'cni.sock'),
      stateDir: join(this.dir, 'state'),
      discoveryLink: false,
      ...extra,
    });
    await this.server.start();
    return this;
  }

  /** A network config for this rig (agentSocket set, so discovery is not involved). */
  conf(extra: Record<string, unknown> = {}, version = '1.0.0'): Record<string, unknown> {
    return {
      cniVersion: version,
      name: 'k8s-pod-network',
      type: 'margay',
      ipam: { type: 'margay-ipam' },
      agentSocket: this.server.socketPath,
      ...extra,
    };
  }

  async pod(): Promise<{ name: string; path: string }> {
    const name = await createNetns('cp');
    this.netns.push(name);
    return { name, path: `/run/netns/${name}` };
  }

  env(
    cmd: string,
    containerId: string,
    netnsPath: string | undefined,
    args = '',
    ifName = 'eth0',
  ): Record<string, string> {
    return {
      CNI_COMMAND: cmd,
      CNI_CONTAINERID: containerId,
      CNI_IFNAME: ifName,
      CNI_PATH: CNI_BIN,
      PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
      ...(netnsPath !== undefined ? { CNI_NETNS: netnsPath } : {}),
      ...(args ? { CNI_ARGS: args } : {}),
    };
  }

  plugin(env: Record<string, string>, conf: Record<string, unknown>): Promise<PluginRun> {
    return exec(PLUGIN, env, JSON.stringify(conf));
  }

  async stop(): Promise<void> {
    await this.server?.stop();
    for (const ns of this.netns.splice(0)) await deleteNetns(ns);
    // Host veths of pods whose DEL a failing test never ran.
    const links = JSON.parse(await run('ip', ['-j', 'link', 'show'])) as { ifname: string }[];
    for (const l of links)
      if (l.ifname.startsWith('mgy')) await execa('ip', ['link', 'del', l.ifname], { reject: false });
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}

/** Host-side kernel state of one pod: link, route, neighbour, sysctls. */
export async function hostState(hostIf: string) {
  const link = (
    JSON.parse(await run('ip', ['-j', '-d', 'link', 'show'])) as {
      ifname: string;
      address: string;
      mtu: number;
      ifalias?: string;
      operstate: string;
    }[]
  ).find((l) => l.ifname === hostIf);
  const routes = JSON.parse(await run('ip', ['-j', 'route', 'show', 'proto', '109'])) as { dst: string; dev: string }[];
  const neigh = JSON.parse(await run('ip', ['-j', 'neigh', 'show', 'nud', 'permanent'])) as {
    dst: string;
    dev: string;
    lladdr: string;
  }[];
  return { link, routes: routes.filter((r) => r.dev === hostIf), neigh: neigh.filter((n) => n.dev === hostIf) };
}

export async function podState(netns: string, ifName = 'eth0') {
  const addr = JSON.parse(await run('ip', ['-n', netns, '-j', 'addr', 'show', 'dev', ifName])) as {
    address: string;
    mtu: number;
    addr_info: { local: string; prefixlen: number; scope: string }[];
  }[];
  const routes = JSON.parse(await run('ip', ['-n', netns, '-j', 'route', 'show'])) as {
    dst: string;
    gateway?: string;
    scope?: string;
  }[];
  return { link: addr[0], routes };
}

export async function mgyLinks(): Promise<string[]> {
  return (JSON.parse(await run('ip', ['-j', 'link', 'show'])) as { ifname: string }[])
    .map((l) => l.ifname)
    .filter((n) => n.startsWith('mgy'));
}
