/**
 * The Calico-style reference the lab benchmark measures Margay against (issue 10, Benchmark): the
 * lab's own topology (lab-plan.ts: ToR on one L2 segment with N nodes, same addresses, same BIRD
 * ToR), with BIRD 2 in every node namespace configured the way Calico's confd templates configure
 * it (bird.cfg.template, bird_aggr.cfg.template, bird_ipam.cfg.template, translated to BIRD 2's
 * channel syntax):
 *
 *   - one static blackhole route per IPAM block affine to the node (bird_aggr: `protocol static`),
 *     and `calico_aggr()`: export the block itself, never a /32 inside it;
 *   - `protocol kernel` with `learn` (picks up the pod /32 routes the CNI plugin writes), `persist`,
 *     `scan time 2`, export through `calico_kernel_programming`, graceful restart, merge paths;
 *   - `protocol device` (scan time 2) and `protocol direct` excluding `cali*`;
 *   - `template bgp bgp_template`: multihop, gateway recursive, import all, export through
 *     `calico_export_to_bgp_peers` (the pool, aggregated), add paths, graceful restart, and Calico's
 *     timers: connect delay 2 s, connect retry 5 s, error wait 5–30 s;
 *   - a full iBGP mesh (`Mesh_<ip>`, the lower address passive as Calico's template does), and the
 *     ToR as a global peer (`Global_<ip>`).
 *
 * A new block is what confd does on a new affinity: rewrite the static routes, `birdc configure`.
 * Pods are wired as Calico's CNI plugin and Felix wire them, with plain `ip` commands: a veth
 * (`cali…` on the node, MAC ee:ee:ee:ee:ee:ee, proxy ARP, proxy_delay 0), the pod's /32 on eth0,
 * 169.254.1.1 as its default gateway, and a /32 route to the veth on the node.
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CommandRunner } from '../kernel/index.js';
import type { Logger } from '../log.js';
import { startBird, type BirdHandle } from './daemons/bird.js';
import { TopologySpecError } from './errors.js';
import { planLab, POOL_V4, type LabNode, type LabPlan } from './lab-plan.js';
import { stopProcess } from './processes.js';
import { startTor, type TorHandle } from './tor.js';
import { upTopology, teardown, type Topology, type TopologyEntry } from './topology.js';
import { nsName } from './topology-spec.js';

/** Calico's BGP timers (bird.cfg.template's bgp_template). */
export const CALICO_TIMERS = { connectDelay: 2, connectRetry: 5, errorWait: '5,30', kernelScan: 2 } as const;

/** The BIRD 2 config confd would write for `node` with `blocks` affine to it (pure). */
export function calicoBirdConfig(node: LabNode, plan: LabPlan, blocks: readonly string[]): string {
  const t = CALICO_TIMERS;
  const id = (ip: string): string => ip.replace(/\./g, '_');
  const cmp = (a: string, b: string): number => {
    const n = (ip: string): number => ip.split('.').reduce((x, o) => x * 256 + Number(o), 0);
    return n(a) - n(b);
  };
  const mesh = plan.nodes
    .filter((o) => o.name !== node.name)
    .map(
      (o) =>
        `protocol bgp Mesh_${id(o.ip)} from bgp_template {\n  neighbor ${o.ip} as ${o.asn};\n  source address ${node.ip};${
          // Calico: the mesh is one-way, the node with the higher address connects.
          cmp(o.ip, node.ip) > 0 ? '\n  passive on;' : ''
        }\n}`,
    );
  return `# bird_aggr.cfg: blocks affine to ${node.name}
protocol static static_blocks {
  ipv4;
${blocks.map((b) => `  route ${b} blackhole;`).join('\n')}
}
function calico_aggr() {
${blocks.map((b) => `  if ( net = ${b} ) then { accept; }\n  if ( net ~ ${b} ) then { reject; }`).join('\n')}
}

# bird_ipam.cfg
filter calico_export_to_bgp_peers {
  calico_aggr();
  if ( net ~ ${POOL_V4} ) then { accept; }
  reject;
}
filter calico_kernel_programming {
  if ( net ~ ${POOL_V4} ) then { accept; }
  accept;
}

# bird.cfg
router id ${node.ip};
protocol kernel {
  learn;
  persist;
  scan time ${t.kernelScan};
  ipv4 { import all; export filter calico_kernel_programming; };
  graceful restart;
  merge paths on;
}
protocol device { scan time 2; }
protocol direct {
  ipv4;
  interface -"cali*", "*";
}
template bgp bgp_template {
  description "Connection to BGP peer";
  local as ${node.asn};
  multihop;
  ipv4 {
    gateway recursive;
    import all;
    export filter calico_export_to_bgp_peers;
    add paths on;
  };
  graceful restart;
  connect delay time ${t.connectDelay};
  connect retry time ${t.connectRetry};
  error wait time ${t.errorWait};
}
${mesh.join('\n')}
protocol bgp Global_${id(plan.tor.ip)} from bgp_template {
  neighbor ${plan.tor.ip} as ${plan.tor.asn};
  source address ${node.ip};
}
`;
}

export interface ReferencePod {
  readonly name: string;
  readonly node: string;
  readonly ip: string;
  readonly netns: string;
  readonly hostIf: string;
}

export interface ReferenceLab {
  readonly plan: LabPlan;
  readonly topology: Topology;
  readonly tor: TorHandle;
  /** The namespace of a node (`node-1`, ...). */
  ns(node: string): string;
  /** pid of the node's BIRD (its /proc/<pid>/net shows the node's kernel); undefined when stopped. */
  birdPid(node: string): number | undefined;
  bird(node: string): BirdHandle | undefined;
  /** Starts BIRD in every node that has none running (all spawned back to back). */
  startNodes(): Promise<void>;
  /** Kills every node's BIRD and flushes the routes it had written (a cold node). */
  stopNodes(): Promise<void>;
  /** confd on a new affinity: the block's blackhole into the node's config, `birdc configure`. */
  addBlock(node: string, cidr: string): Promise<void>;
  /** Calico-style pod wiring with plain `ip` commands. */
  addPod(node: string, name: string, ip: string): Promise<ReferencePod>;
  removePod(pod: ReferencePod): Promise<void>;
  down(): Promise<void>;
}

export interface ReferenceOptions {
  /** Namespace prefix, unique per instance (`[a-z][a-z0-9]*`). */
  readonly prefix: string;
  readonly nodes: number;
  readonly workdir: string;
  readonly runner: CommandRunner;
  readonly log: Logger;
  /** Blocks affine to each node at start (node name → CIDRs). */
  readonly blocks?: Readonly<Record<string, readonly string[]>>;
  /** Start the node BIRDs at once (default true). */
  readonly start?: boolean;
}

/** Builds the reference: topology, BIRD ToR, and (unless `start: false`) BIRD in every node. */
export async function upReference(o: ReferenceOptions): Promise<ReferenceLab> {
  const plan = planLab(
    { name: 'ref', nodes: o.nodes, podsPerNode: 0, tor: 'bird', mode: 'mesh', dualStack: false },
    o.prefix,
  );
  const topology = await upTopology(plan.spec, { runner: o.runner, log: o.log });
  const podEntries: TopologyEntry[] = [];
  const birds = new Map<string, BirdHandle>();
  const blocks = new Map<string, string[]>(plan.nodes.map((n) => [n.name, [...(o.blocks?.[n.name] ?? [])]]));
  const run = (argv: string[]): Promise<unknown> => o.runner.run(argv);
  const nodeOf = (name: string): LabNode => {
    const n = plan.nodes.find((x) => x.name === name);
    if (!n) throw new TopologySpecError('node', `the reference has no node ${JSON.stringify(name)}`);
    return n;
  };
  let tor: TorHandle | undefined;
  const lab: ReferenceLab = {
    plan,
    topology,
    get tor(): TorHandle {
      return tor!;
    },
    ns: (node) => topology.ns(node),
    birdPid: (node) => birds.get(node)?.records[0]?.pid,
    bird: (node) => birds.get(node),
    async startNodes() {
      await Promise.all(
        plan.nodes
          .filter((n) => !birds.has(n.name))
          .map(async (n) => {
            const workdir = join(o.workdir, n.name);
            await mkdir(workdir, { recursive: true });
            birds.set(
              n.name,
              await startBird(topology.ns(n.name), calicoBirdConfig(n, plan, blocks.get(n.name)!), { workdir }),
            );
          }),
      );
    },
    async stopNodes() {
      await Promise.all(
        [...birds].map(async ([name, b]) => {
          await b.stop();
          birds.delete(name);
          await run(['ip', '-n', topology.ns(name), 'route', 'flush', 'proto', 'bird']);
        }),
      );
    },
    async addBlock(node, cidr) {
      const list = blocks.get(nodeOf(node).name)!;
      if (!list.includes(cidr)) list.push(cidr);
      await birds.get(node)?.reconfigure(calicoBirdConfig(nodeOf(node), plan, list));
    },
    async addPod(node, name, ip) {
      const nodeNs = topology.ns(nodeOf(node).name);
      const netns = nsName(o.prefix, `r${name}`);
      const hostIf = `cali${createHash('sha1').update(`${node}/${name}`).digest('hex').slice(0, 11)}`;
      podEntries.push({ kind: 'netns', name: netns });
      await run(['ip', 'netns', 'add', netns]);
      await run(['ip', '-n', nodeNs, 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
      await run(['ip', '-n', nodeNs, 'link', 'set', hostIf, 'address', 'ee:ee:ee:ee:ee:ee', 'up']);
      await run([
        'ip',
        'netns',
        'exec',
        nodeNs,
        'sysctl',
        '-q',
        '-w',
        `net.ipv4.conf.${hostIf}.proxy_arp=1`,
        `net.ipv4.neigh.${hostIf}.proxy_delay=0`,
        `net.ipv4.conf.${hostIf}.forwarding=1`,
      ]); // prettier-ignore
      await run(['ip', '-n', netns, 'link', 'set', 'lo', 'up']);
      await run(['ip', '-n', netns, 'addr', 'add', `${ip}/32`, 'dev', 'eth0']);
      await run(['ip', '-n', netns, 'link', 'set', 'eth0', 'up']);
      await run(['ip', '-n', netns, 'route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link']);
      await run(['ip', '-n', netns, 'route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0']);
      await run(['ip', '-n', nodeNs, 'route', 'add', `${ip}/32`, 'dev', hostIf, 'scope', 'link']);
      return { name, node, ip, netns, hostIf };
    },
    async removePod(pod) {
      await o.runner.run(['ip', '-n', topology.ns(pod.node), 'link', 'del', pod.hostIf], { allowFailure: true });
      await teardown([{ kind: 'netns', name: pod.netns }], o);
      const i = podEntries.findIndex((e) => e.name === pod.netns);
      if (i >= 0) podEntries.splice(i, 1);
    },
    async down() {
      const errors: unknown[] = [];
      for (const b of [...birds.values()]) await b.stop().catch((e: unknown) => errors.push(e));
      birds.clear();
      for (const r of tor?.records ?? [])
        await stopProcess(r, { signal: 'SIGKILL' }).catch((e: unknown) => errors.push(e));
      await teardown(podEntries, o).catch((e: unknown) => errors.push(e));
      await topology.down().catch((e: unknown) => errors.push(e));
      if (errors.length > 0) throw errors[0];
    },
  };
  try {
    await mkdir(join(o.workdir, 'tor'), { recursive: true });
    tor = await startTor('bird', plan, topology.ns('tor'), join(o.workdir, 'tor'));
    if (o.start !== false) await lab.startNodes();
  } catch (err) {
    await lab
      .down()
      .catch((e: unknown) => o.log.error({ err: e }, 'reference teardown after a failed start failed too'));
    throw err;
  }
  return lab;
}
