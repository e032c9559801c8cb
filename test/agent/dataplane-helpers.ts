/**
 * Shared set-up for the dataplane integration tests: a "node" namespace with real kernel adapters,
 * a CalcGraph feeding a Dataplane in it, and pods (namespaces with a veth whose host side carries
 * Margay's `mgy` prefix). Everything is made with unique names and deleted afterwards.
 */
import { randomBytes } from 'node:crypto';
import { createKernelAdapters, type KernelAdapters } from '../../src/kernel/adapters.js';
import { ExecaCommandRunner } from '../../src/kernel/command-runner.js';
import { silentLogger } from '../../src/log.js';
import { CalcGraph } from '../../agent/calc/graph.js';
import type { CalcConfig, WorkloadEndpointRegistration } from '../../agent/calc/types.js';
import { Dataplane, type DataplaneOptions } from '../../agent/dataplane/dataplane.js';
import { createNetns, deleteNetns, run } from '../helpers/netns.js';

export const NODE = 'node-a';

export interface TestNode {
  readonly ns: string;
  readonly kernel: KernelAdapters;
  readonly dp: Dataplane;
  readonly graph: CalcGraph;
  /** `ip -n NS …` output. */
  ip(...args: string[]): Promise<string>;
  exec(cmd: string, ...args: string[]): Promise<string>;
}

export interface TestPod {
  readonly ns: string;
  readonly iface: string;
  readonly mac: string;
  readonly reg: WorkloadEndpointRegistration;
}

const cleanups: (() => Promise<void>)[] = [];

/** Runs `fn` with a node namespace; every namespace made through it is deleted afterwards. */
export async function withNode<T>(
  fn: (n: TestNode) => Promise<T>,
  opts: { config?: Partial<CalcConfig>; dataplane?: Partial<DataplaneOptions> } = {},
): Promise<T> {
  const ns = await createNetns('dn');
  const made: string[] = [ns];
  cleanups.push(async () => {
    for (const n of made) await deleteNetns(n);
  });
  try {
    const log = silentLogger();
    const kernel = await createKernelAdapters(new ExecaCommandRunner(log), log, { netns: ns });
    const dp = new Dataplane(kernel, log, {
      families: [4, 6],
      refreshIntervalMs: 0,
      backoff: { initial: 20, max: 200, jitter: [1, 1] },
      ...opts.dataplane,
    });
    const config: CalcConfig = {
      nodeName: NODE,
      routingMode: 'host-gw',
      ipv4: true,
      ipv6: true,
      hostMtu: 1500,
      ...opts.config,
    };
    const graph = new CalcGraph(config, dp);
    const node: TestNode = {
      ns,
      kernel,
      dp,
      graph,
      ip: (...args) => run('ip', ['-n', ns, ...args]),
      exec: (cmd, ...args) => run('ip', ['netns', 'exec', ns, cmd, ...args]),
    };
    (node as { made?: string[] }).made = made;
    try {
      return await fn(node);
    } catch (err) {
      // What the dataplane last saw, to make a failure explain itself.
      const r = dp.lastReport;
      if (r !== undefined)
        process.stderr.write(
          `last apply: ${JSON.stringify({ ms: r.ms, stats: r.stats, errors: r.errors.map((e) => `${String(e)} <- ${String((e as Error).cause)}`) })}\n`,
        );
      throw err;
    } finally {
      await dp.stop();
      kernel.close?.(); // the ip co-process in the node namespace
    }
  } finally {
    for (const n of made) await deleteNetns(n);
    cleanups.pop();
  }
}

/**
 * A pod: a namespace with eth0 (addresses as CIDR host prefixes, default route via 169.254.1.1 as
 * Margay's CNI sets it up) and the host side `mgy<11 hex>` in the node namespace, up.
 */
export async function addPod(node: TestNode, key: string, v4?: string, v6?: string): Promise<TestPod> {
  const ns = await createNetns('dp');
  (node as { made?: string[] }).made!.push(ns);
  const iface = `mgy${randomBytes(6).toString('hex').slice(0, 11)}`;
  await run('ip', ['-n', node.ns, 'link', 'add', iface, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
  await run('ip', ['-n', node.ns, 'link', 'set', iface, 'up']);
  await run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
  if (v4 !== undefined) {
    await run('ip', ['-n', ns, 'addr', 'add', `${v4}/32`, 'dev', 'eth0']);
    await run('ip', ['-n', ns, 'route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link']);
    await run('ip', ['-n', ns, 'route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0']);
  }
  if (v6 !== undefined) await run('ip', ['-n', ns, 'addr', 'add', `${v6}/128`, 'dev', 'eth0', 'nodad']);
  const mac = JSON.parse(await run('ip', ['-n', ns, '-j', 'link', 'show', 'eth0']))[0].address as string;
  const reg: WorkloadEndpointRegistration = {
    key,
    iface,
    mac,
    namespace: 'default',
    pod: key,
    ipv4Nets: v4 === undefined ? [] : [`${v4}/32`],
    ipv6Nets: v6 === undefined ? [] : [`${v6}/128`],
  };
  return { ns, iface, mac, reg };
}

/** Polls `check` until it returns true or `ms` pass; returns how long it took. */
export async function eventually(check: () => Promise<boolean>, ms: number, what: string): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    // A failing command (the object is not there yet) counts as "not yet".
    if (await check().catch(() => false)) return performance.now() - t0;
    if (performance.now() - t0 > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
