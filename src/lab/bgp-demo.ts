#!/usr/bin/env node
/**
 * The BGP demo: what Margay can show end to end today, on one machine, in network namespaces.
 *
 *            tor (BIRD 2, AS 65000, forwards)
 *           /   10.10.1.1        10.10.2.1 \
 *   node-1 (margay-bgpd, AS 64601)          node-2 (margay-bgpd, AS 64602)
 *    10.10.1.2, pod block 10.244.1.0/26      10.10.2.2, pod block 10.244.2.0/26
 *    "pod" 10.244.1.10 on loopback           "pod" 10.244.2.10 on loopback
 *
 * Each node originates its pod block to the ToR; the ToR installs what it learns and re-advertises it;
 * each node's FIB sync installs the other node's block into its kernel (route proto 110). The demo
 * prints the sessions (`margayctl bgp peers`), the ToR's routes, each node's kernel routes, and pings
 * pod to pod across the ToR. Run inside the sandbox (root, private network namespace):
 *
 *   scripts/in-sandbox.sh node dist/src/lab/bgp-demo.js [--keep]
 *
 * The later `margayctl lab` builds on this with the agent, IPAM and the CNI plugin.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { ExecaCommandRunner } from '../kernel/index.js';
import { createRootLogger } from '../log.js';
import { LabProcessError } from './errors.js';
import { binPath, startMargayBgpd, type BgpdDaemon } from './margay-processes.js';
import { DEMO_NODES, bgpDemoSpec, type DemoNode } from './presets.js';
import { startBird, type BirdHandle } from './reference-daemons.js';
import { upTopology, type Topology } from './topology.js';
import { waitFor } from './wait.js';

const PREFIX = `mgydemo${process.pid.toString(36)}`;

const log = createRootLogger({ level: 'warn', name: 'bgp-demo' });
const runner = new ExecaCommandRunner(log);

function section(title: string): void {
  process.stdout.write(`\n== ${title} ${'='.repeat(Math.max(0, 70 - title.length))}\n`);
}

function startNode(topo: Topology, n: DemoNode, workdir: string): Promise<BgpdDaemon> {
  return startMargayBgpd({
    ns: topo.ns(n.name),
    workdir,
    name: n.name,
    logLevel: 'warn',
    config: (socket) => `routerId: ${n.addr}
asn: ${n.asn}
ebgpRequiresPolicy: false
fib: { enabled: true }
control: { socket: ${socket} }
peers:
  - { address: ${n.torAddr}, asn: 65000, holdTime: 9, description: tor }
originate:
  - { prefix: ${n.block}, nextHop: ${n.addr} }
`,
  });
}

async function margayctl(d: BgpdDaemon, ...args: string[]): Promise<string> {
  const r = await execa(process.execPath, [binPath('margayctl'), 'bgp', ...args, '--socket', d.socket], { reject: false });
  if (r.exitCode !== 0) throw new LabProcessError('margayctl', `bgp ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function main(): Promise<number> {
  if (process.env.MARGAY_IN_SANDBOX !== '1') {
    process.stderr.write('run the demo inside the sandbox: scripts/in-sandbox.sh node dist/src/lab/bgp-demo.js\n');
    return 2;
  }
  const keep = process.argv.includes('--keep');
  const workdir = await mkdtemp(join(tmpdir(), 'mgy-demo-'));
  let topo: Topology | undefined;
  let bird: BirdHandle | undefined;
  const daemons: BgpdDaemon[] = [];
  try {
    section('topology');
    topo = await upTopology(bgpDemoSpec(PREFIX), { runner, log });
    for (const n of DEMO_NODES) process.stdout.write(`${n.name}: ${n.addr}/24 (AS ${n.asn}), pod block ${n.block}, pod ${n.pod}\n`);
    process.stdout.write(`tor: ${DEMO_NODES.map((n) => n.torAddr).join(', ')} (AS 65000, BIRD 2, forwarding)\n`);

    bird = await startBird(topo.ns('tor'), `router id 10.10.1.1;
protocol device {}
protocol kernel { ipv4 { export all; }; }
${DEMO_NODES.map((n) => `protocol bgp ${n.name.replace('-', '_')} { local ${n.torAddr} as 65000; neighbor ${n.addr} as ${n.asn}; hold time 9; ipv4 { import all; export all; }; }`).join('\n')}`);
    for (const n of DEMO_NODES) daemons.push(await startNode(topo, n, workdir));
    const t = topo;
    const sh = async (node: string, argv: string[]): Promise<string> => (await t.exec(node, argv)).stdout.trimEnd();

    await waitFor('both nodes to learn the other pod block', async () => {
      for (const [i, n] of DEMO_NODES.entries()) {
        const other = DEMO_NODES[1 - i]!;
        if (!(await sh(n.name, ['ip', 'route', 'show', other.block])).includes('proto 110')) return false;
      }
      return true;
    }, 30_000, 250);

    section('BGP sessions (margayctl bgp peers)');
    for (const [i, n] of DEMO_NODES.entries()) process.stdout.write(`${n.name}:\n${await margayctl(daemons[i]!, 'peers')}\n`);
    section('ToR (birdc show protocols / show route)');
    process.stdout.write(`${await bird.birdc('show', 'protocols')}\n${await bird.birdc('show', 'route')}\n`);
    section('node RIBs (margayctl bgp rib)');
    for (const [i, n] of DEMO_NODES.entries()) process.stdout.write(`${n.name}:\n${await margayctl(daemons[i]!, 'rib')}\n`);
    section('node kernel routes installed by FIB sync (ip route show proto 110)');
    for (const n of DEMO_NODES) process.stdout.write(`${n.name}: ${await sh(n.name, ['ip', 'route', 'show', 'proto', '110'])}\n`);
    section('pod-to-pod reachability across the ToR');
    let ok = true;
    for (const [i, n] of DEMO_NODES.entries()) {
      const other = DEMO_NODES[1 - i]!;
      const r = await t.exec(n.name, ['ping', '-c', '2', '-W', '2', '-I', n.pod, other.pod], { allowFailure: true });
      const pass = r.exitCode === 0;
      ok &&= pass;
      process.stdout.write(`${n.name} ${n.pod} -> ${other.name} ${other.pod}: ${pass ? 'reachable' : `UNREACHABLE\n${r.stdout}${r.stderr}`}\n`);
    }
    if (keep) {
      process.stdout.write(`\n--keep: namespaces ${t.namespaces.join(', ')} stay up; press Ctrl-C to tear down\n`);
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    }
    return ok ? 0 : 1;
  } finally {
    for (const d of daemons) await d.stop();
    await bird?.stop();
    await topo?.down();
    await rm(workdir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bgp-demo: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
