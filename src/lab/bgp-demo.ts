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
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { ExecaCommandRunner, IpLinkOps, IpNetnsOps, ProcSysctlOps } from '../kernel/index.js';
import { createRootLogger } from '../log.js';
import { startBird, waitFor, type BirdHandle } from './reference-daemons.js';
import { LabDaemonError } from './errors.js';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const PREFIX = `mgydemo${process.pid.toString(36)}`;

interface DemoNode {
  readonly name: string;
  readonly ns: string;
  readonly asn: number;
  readonly addr: string;
  readonly torAddr: string;
  readonly block: string;
  readonly pod: string;
  socket?: string;
  proc?: ResultPromise;
}

const log = createRootLogger({ level: 'warn', name: 'bgp-demo' });
const runner = new ExecaCommandRunner(log);
const netns = new IpNetnsOps(runner, log);

function section(title: string): void {
  process.stdout.write(`\n== ${title} ${'='.repeat(Math.max(0, 70 - title.length))}\n`);
}

async function sh(ns: string, argv: string[]): Promise<string> {
  return (await runner.run(argv, { netns: ns })).stdout.trimEnd();
}

async function startNode(n: DemoNode, workdir: string): Promise<void> {
  const conf = join(workdir, `${n.name}.yaml`);
  n.socket = join(workdir, `${n.name}.sock`);
  await writeFile(conf, `routerId: ${n.addr}
asn: ${n.asn}
ebgpRequiresPolicy: false
fib: { enabled: true }
control: { socket: ${n.socket} }
peers:
  - { address: ${n.torAddr}, asn: 65000, holdTime: 9, description: tor }
originate:
  - { prefix: ${n.block}, nextHop: ${n.addr} }
`);
  n.proc = execa('ip', ['netns', 'exec', n.ns, process.execPath, join(REPO, 'dist/bgp/main.js'), '--config', conf], {
    reject: false,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { MARGAY_LOG_LEVEL: 'warn' },
  });
}

async function margayctl(n: DemoNode, ...args: string[]): Promise<string> {
  const r = await execa(process.execPath, [join(REPO, 'dist/src/cli/margayctl.js'), 'bgp', ...args, '--socket', n.socket!], { reject: false });
  if (r.exitCode !== 0) throw new LabDaemonError(`margayctl bgp ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function main(): Promise<number> {
  if (process.env.MARGAY_IN_SANDBOX !== '1') {
    process.stderr.write('run the demo inside the sandbox: scripts/in-sandbox.sh node dist/src/lab/bgp-demo.js\n');
    return 2;
  }
  const keep = process.argv.includes('--keep');
  const workdir = await mkdtemp(join(tmpdir(), 'mgy-demo-'));
  const tor = `${PREFIX}t`;
  const nodes: DemoNode[] = [1, 2].map((i) => ({
    name: `node-${i}`, ns: `${PREFIX}n${i}`, asn: 64600 + i, addr: `10.10.${i}.2`, torAddr: `10.10.${i}.1`,
    block: `10.244.${i}.0/26`, pod: `10.244.${i}.10`,
  }));
  let bird: BirdHandle | undefined;
  try {
    section('topology');
    await netns.add(tor);
    const torLinks = new IpLinkOps(runner, log, { netns: tor, touchForeign: true });
    await new ProcSysctlOps(runner, log, tor).set('net.ipv4.ip_forward', '1');
    for (const [i, n] of nodes.entries()) {
      await netns.add(n.ns);
      const links = new IpLinkOps(runner, log, { netns: n.ns, touchForeign: true });
      await links.addVeth({ name: `up${i}`, peerName: `down${i}`, peerNetns: tor });
      await links.addAddress(`up${i}`, `${n.addr}/24`);
      await links.set(`up${i}`, { up: true });
      await torLinks.addAddress(`down${i}`, `${n.torAddr}/24`);
      await torLinks.set(`down${i}`, { up: true });
      // A stand-in pod: its address on the node's loopback (the dummy link type may be missing in
      // containers), reachable the way a pod behind its veth would be.
      await links.addAddress('lo', `${n.pod}/32`);
      process.stdout.write(`${n.name}: ${n.addr}/24 (AS ${n.asn}), pod block ${n.block}, pod ${n.pod}\n`);
    }
    process.stdout.write(`tor: ${nodes.map((n) => n.torAddr).join(', ')} (AS 65000, BIRD 2, forwarding)\n`);

    bird = await startBird(tor, `router id 10.10.1.1;
protocol device {}
protocol kernel { ipv4 { export all; }; }
${nodes.map((n) => `protocol bgp ${n.name.replace('-', '_')} { local ${n.torAddr} as 65000; neighbor ${n.addr} as ${n.asn}; hold time 9; ipv4 { import all; export all; }; }`).join('\n')}`);
    for (const n of nodes) await startNode(n, workdir);

    await waitFor('both nodes to learn the other pod block', async () => {
      for (const [i, n] of nodes.entries()) {
        const other = nodes[1 - i]!;
        if (!(await sh(n.ns, ['ip', 'route', 'show', other.block])).includes('proto 110')) return false;
      }
      return true;
    }, 30_000, 250);

    section('BGP sessions (margayctl bgp peers)');
    for (const n of nodes) process.stdout.write(`${n.name}:\n${await margayctl(n, 'peers')}\n`);
    section('ToR (birdc show protocols / show route)');
    process.stdout.write(`${await bird.birdc('show', 'protocols')}\n${await bird.birdc('show', 'route')}\n`);
    section('node RIBs (margayctl bgp rib)');
    for (const n of nodes) process.stdout.write(`${n.name}:\n${await margayctl(n, 'rib')}\n`);
    section('node kernel routes installed by FIB sync (ip route show proto 110)');
    for (const n of nodes) process.stdout.write(`${n.name}: ${await sh(n.ns, ['ip', 'route', 'show', 'proto', '110'])}\n`);
    section('pod-to-pod reachability across the ToR');
    let ok = true;
    for (const [i, n] of nodes.entries()) {
      const other = nodes[1 - i]!;
      const r = await runner.run(['ping', '-c', '2', '-W', '2', '-I', n.pod, other.pod], { netns: n.ns, allowFailure: true });
      const pass = r.exitCode === 0;
      ok &&= pass;
      process.stdout.write(`${n.name} ${n.pod} -> ${other.name} ${other.pod}: ${pass ? 'reachable' : `UNREACHABLE\n${r.stdout}${r.stderr}`}\n`);
    }
    if (keep) {
      process.stdout.write(`\n--keep: namespaces ${[tor, ...nodes.map((n) => n.ns)].join(', ')} stay up; press Ctrl-C to tear down\n`);
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    }
    return ok ? 0 : 1;
  } finally {
    for (const n of nodes) n.proc?.kill('SIGTERM');
    await Promise.all(nodes.map((n) => n.proc));
    await bird?.stop();
    for (const ns of [tor, ...nodes.map((n) => n.ns)]) await netns.delete(ns);
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
