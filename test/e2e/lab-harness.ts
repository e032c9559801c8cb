/**
 * The e2e suite runs on the lab itself (src/lab): `withLab` brings a lab up in-process with a unique
 * name and dir, hands it to the test, and always takes it down. Helpers read the real kernels.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { IPAM_GROUP } from '../../ipam/cli.js';
import { openDatastore, type Datastore } from '../../src/datastore/index.js';
import { ExecaCommandRunner } from '../../src/kernel/index.js';
import { CNI_DIR, labPaths, type LabContext } from '../../src/lab/lab-context.js';
import { labDown } from '../../src/lab/lab-down.js';
import { planLab, POOL_V4, type LabNode, type LabOptions, type LabPlan, type LabPod } from '../../src/lab/lab-plan.js';
import { createPod, deletePod } from '../../src/lab/lab-pods.js';
import { matrixFor } from '../../src/lab/lab-report.js';
import { readState, writeState, type LabPodState, type LabState } from '../../src/lab/lab-state.js';
import { labUp, startNodeAgent } from '../../src/lab/lab-up.js';
import { binPath, type NodeAgent } from '../../src/lab/margay-processes.js';
import type { Matrix, MatrixCell } from '../../src/lab/probe.js';
import { stopProcess, toRecord, type ProcessRecord, type StopOutcome } from '../../src/lab/processes.js';
import { addLink } from '../../src/lab/topology.js';
import { nsName } from '../../src/lab/topology-spec.js';
import { birdTorConfig } from '../../src/lab/tor.js';
import type { IPAMBlock } from '../../src/model/index.js';
import { sleep, waitFor } from '../../src/lab/wait.js';
import { silentLogger } from '../../src/log.js';
import { run, uniquePrefix } from '../helpers/netns.js';

export interface Lab {
  readonly ctx: LabContext;
  readonly plan: LabPlan;
  /** Up's printed report. */
  readonly output: string;
  state(): Promise<LabState>;
  ns(node: string): string;
  matrix(opts?: { podsOnly?: boolean }): Promise<Matrix>;
}

export async function withLab(options: Omit<LabOptions, 'name'>, fn: (lab: Lab) => Promise<void>): Promise<void> {
  const name = uniquePrefix('e').slice(0, 12);
  const dir = await mkdtemp(join(tmpdir(), 'mgy-e2e-'));
  const log = silentLogger();
  let output = '';
  const ctx: LabContext = {
    dir,
    runner: new ExecaCommandRunner(log),
    log,
    env: process.env,
    out: (t) => (output += `${t}\n`),
  };
  try {
    const r = await labUp(ctx, { ...options, name });
    const plan = planLab(r.state.options, r.state.prefix);
    await fn({
      ctx,
      plan,
      output,
      state: async () => (await readState(dir))!,
      ns: (node) => nsName(r.state.prefix, node),
      matrix: async (opts = {}) => matrixFor((await readState(dir))!, plan, opts),
    });
  } catch (err) {
    if (err instanceof Error) err.message += `\n--- lab output ---\n${output.slice(-6000)}`;
    throw err;
  } finally {
    await labDown(ctx);
  }
}

/** `ip -j route` in a namespace. */
export async function routes(
  ns: string,
  family: 4 | 6 = 4,
): Promise<{ dst: string; gateway?: string; dev?: string; protocol?: string }[]> {
  return JSON.parse(await run('ip', ['-n', ns, `-${family}`, '-j', 'route', 'show'])) as {
    dst: string;
    gateway?: string;
    dev?: string;
    protocol?: string;
  }[];
}

export function cell(m: Matrix, from: string, to: string): MatrixCell {
  const c = m.cells.find((x) => x.from === from && x.to === to);
  if (!c) throw new Error(`no matrix cell ${from} -> ${to}`);
  return c;
}

/** Cells that are not what the Kubernetes model expects between pods (anything but ok/self). */
export function badPodCells(m: Matrix): string[] {
  return m.cells
    .filter((c) => c.verdict !== 'ok' && c.verdict !== 'self')
    .map((c) => `${c.from}->${c.to}:${c.verdict}`);
}

/**
 * Where pod routes come from: each node's own blocks (its blackhole routes), and every route for a
 * pool address in every namespace of the lab, with its protocol.
 */
export async function podRouting(lab: Lab): Promise<{
  ownBlocks: Map<string, string[]>;
  routesByNs: Map<string, { dst: string; gateway?: string; protocol?: string; type?: string }[]>;
}> {
  const ownBlocks = new Map<string, string[]>();
  const routesByNs = new Map<string, { dst: string; gateway?: string; protocol?: string; type?: string }[]>();
  for (const name of ['tor', ...lab.plan.nodes.map((n) => n.name)]) {
    const all = JSON.parse(
      await run('ip', ['-n', lab.ns(name), '-4', '-j', 'route', 'show', 'root', '10.244.0.0/16']),
    ) as { dst: string; gateway?: string; protocol?: string; type?: string }[];
    routesByNs.set(name, all);
    if (name !== 'tor')
      ownBlocks.set(
        name,
        all.filter((r) => r.type === 'blackhole').map((r) => r.dst),
      );
  }
  return { ownBlocks, routesByNs };
}

/** Every node (and, when `tor`, the ToR) has a route to every other node's blocks via that node. */
export function missingBlockRoutes(lab: Lab, r: Awaited<ReturnType<typeof podRouting>>, tor: boolean): string[] {
  const missing: string[] = [];
  const nodeIp = new Map(lab.plan.nodes.map((n) => [n.name, n.ip]));
  for (const [owner, blocks] of r.ownBlocks) {
    for (const block of blocks) {
      for (const [name, routes] of r.routesByNs) {
        if (name === owner || (name === 'tor' && !tor)) continue;
        if (!routes.some((x) => x.dst === block && x.gateway === nodeIp.get(owner)))
          missing.push(`${name} has no route ${block} via ${owner}`);
      }
    }
  }
  return missing;
}

// ---- churn, restart and fault helpers (agent-restart, datastore-fault, churn) ----

/** The lab's recorded margay-node process of `node`. */
export async function agentRecord(lab: Lab, node: string): Promise<ProcessRecord> {
  const rec = (await lab.state()).processes.find((p) => p.name === `margay-node ${node}`);
  if (!rec) throw new Error(`the lab records no margay-node for ${node}`);
  return rec;
}

/**
 * Stops `node`'s agent with `signal` (SIGKILL: a crash) and drops its record from the lab state.
 * Returns how it ended: 'stopped' means it exited on SIGTERM by itself (within 20 s).
 */
export async function stopAgent(lab: Lab, node: string, signal: 'SIGTERM' | 'SIGKILL'): Promise<StopOutcome> {
  const rec = await agentRecord(lab, node);
  const outcome = await stopProcess(rec, { signal, timeoutMs: 20_000 });
  const s = await lab.state();
  s.processes = s.processes.filter((p) => p.pid !== rec.pid);
  await writeState(s);
  return outcome;
}

/**
 * Starts margay-node for `node` the way `lab up` does (src/lab/lab-up.ts startNodeAgent), records
 * it in the lab state, and returns once it answers /readiness 200
 * (`waitReady`, default true) — `plan` may be a larger plan than the lab's (a node being added).
 */
export async function startAgent(
  lab: Lab,
  node: string,
  opts: { readonly plan?: LabPlan; readonly waitReady?: boolean; readonly timeoutMs?: number } = {},
): Promise<NodeAgent> {
  const plan = opts.plan ?? lab.plan;
  const n = plan.nodes.find((x) => x.name === node);
  if (!n) throw new Error(`no node ${node} in the plan`);
  const a = await startNodeAgent(lab.ctx, lab.plan.spec.prefix, plan, n);
  const s = await lab.state();
  s.processes.push(toRecord(a.proc));
  await writeState(s);
  if (opts.waitReady ?? true) {
    try {
      await waitFor(
        `${node}'s restarted agent to be ready`,
        async () => {
          if (a.proc.hasExited()) throw new Error(`margay-node ${node} exited: ${(await a.log()).slice(-3000)}`);
          return a.ready();
        },
        opts.timeoutMs ?? 60_000,
        100,
      );
    } catch (err) {
      // Say which readiness condition is stuck, with the agent's log tail.
      const r = await readiness(lab, node).catch((e: unknown) => ({ status: 0, body: String(e) }));
      const log = await a.log().catch((e: unknown) => String(e));
      throw new Error(`${(err as Error).message}; /readiness ${r.status} ${r.body}; log: ${log.slice(-4000)}`, {
        cause: err,
      });
    }
  }
  return a;
}

/** GET /readiness of `node`'s agent: the HTTP status and body ("not ready: datastore-storage", ...). */
export async function readiness(lab: Lab, node: string): Promise<{ status: number; body: string }> {
  const script =
    "fetch('http://127.0.0.1:9099/readiness').then(async r=>{process.stdout.write(r.status+' '+(await r.text()))},e=>{process.stdout.write('0 '+e.message)})";
  const out = await run('ip', ['netns', 'exec', lab.ns(node), process.execPath, '-e', script]);
  const sp = out.indexOf(' ');
  return { status: Number(out.slice(0, sp)), body: out.slice(sp + 1).trim() };
}

export interface PingResult {
  /** Sequence numbers answered (each once), in order. */
  readonly seqs: number[];
  /** Highest sequence number answered. */
  readonly maxSeq: number;
  /** Sequence numbers 1..maxSeq that got no answer (packets lost while later ones got through). */
  readonly missing: number[];
  /** Unix time (ms) of the first and the last answer (ping -D). */
  readonly firstAt: number;
  readonly lastAt: number;
}

/**
 * A continuous ping (every 10 ms) from inside namespace `ns` to `dst`; `stop()` ends it (SIGINT)
 * and returns what was answered. Only the packets after the last answer may still have been in
 * flight at the stop, so "no packet lost" is: nothing missing in 1..maxSeq, and maxSeq covers the
 * window of interest (lastAt after it ended).
 */
export function startPing(ns: string, dst: string): { stop(): Promise<PingResult> } {
  const p = execa('ip', ['netns', 'exec', ns, 'ping', '-D', '-n', '-i', '0.01', dst], {
    reject: false,
    all: true,
  });
  return {
    async stop() {
      p.kill('SIGINT');
      const r = await p;
      const seen = new Set<number>();
      let firstAt = 0;
      let lastAt = 0;
      for (const line of String(r.all ?? '').split('\n')) {
        const m = /^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+)/.exec(line);
        if (!m) continue;
        const at = Math.round(Number(m[1]) * 1000);
        if (firstAt === 0) firstAt = at;
        lastAt = at;
        seen.add(Number(m[2]));
      }
      const seqs = [...seen].sort((a, b) => a - b);
      const maxSeq = seqs.at(-1) ?? 0;
      const missing: number[] = [];
      for (let i = 1; i <= maxSeq; i++) if (!seen.has(i)) missing.push(i);
      if (seqs.length === 0)
        throw new Error(`ping ${dst} from ${ns} got no answer at all:\n${String(r.all).slice(-2000)}`);
      return { seqs, maxSeq, missing, firstAt, lastAt };
    },
  };
}

/** A node's kernel state Margay programs: routes (v4, all tables), veths, iptables (v4) and ipsets. */
export interface KernelState {
  readonly routes: string[];
  readonly veths: string[];
  readonly iptables: string[];
  readonly ipsets: string[];
}

export async function kernelState(ns: string): Promise<KernelState> {
  const routes = (await run('ip', ['-n', ns, '-4', 'route', 'show', 'table', 'all']))
    .split('\n')
    .filter((l) => l !== '' && !/^(local|broadcast|multicast) /.test(l) && !/table local/.test(l))
    .sort();
  const veths = (JSON.parse(await run('ip', ['-n', ns, '-j', 'link', 'show', 'type', 'veth'])) as { ifname: string }[])
    .map((l) => l.ifname)
    .sort();
  const iptables = (await run('ip', ['netns', 'exec', ns, 'iptables-save']))
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.replace(/\[\d+:\d+\]$/, '')) // chain counters
    .sort();
  const ipsets = (await run('ip', ['netns', 'exec', ns, 'ipset', 'save']))
    .split('\n')
    .filter((l) => l !== '')
    .sort();
  return { routes, veths, iptables, ipsets };
}

/**
 * `margayctl ipam check --datastore file:<lab>` on the lab's datastore: exit code and output. Runs
 * the command's own implementation in this process (`inProcess`, default) or the built margayctl.
 */
export async function ipamCheck(
  lab: Lab,
  opts: { readonly inProcess?: boolean } = {},
): Promise<{ code: number; out: string }> {
  const args = ['--datastore', `file:${labPaths(lab.ctx.dir).datastore}`];
  if (opts.inProcess ?? true) {
    let out = '';
    const code = await IPAM_GROUP.commands.check!.run(args, {
      out: (t) => (out += `${t}\n`),
      err: (t) => (out += `${t}\n`),
    });
    return { code, out: out.trim() };
  }
  const r = await execa(process.execPath, [binPath('margayctl'), 'ipam', 'check', ...args], {
    reject: false,
    all: true,
  });
  return { code: r.exitCode ?? -1, out: String(r.all ?? '').trim() };
}

/** Syscalls on the store's files that fail during a cut (reads, writes, opens, stats, syncs, dir reads). */
const CUT_SYSCALLS =
  'read,write,pread64,pwrite64,readv,writev,preadv,pwritev,preadv2,pwritev2,open,openat,openat2,stat,lstat,fstat,newfstatat,statx,access,faccessat,faccessat2,fsync,fdatasync,ftruncate,getdents64,readlink,readlinkat';

/**
 * Cuts `node`'s agent off its datastore: from now on every system call that agent (all its threads)
 * makes on the file datastore — the directory, `.margay/store.db` and its `-wal` and `-shm` files —
 * fails with EIO, as on a shared file system that stopped answering (a soft NFS mount, a dead
 * disk). Done with strace's fault injection (`-P path -e inject=...:error=EIO`) attached to that
 * one process, so the other agents and the test keep their access, and the agent keeps running.
 * File locks (fcntl) are left working: failing them makes SQLite spin in its own retry loop and
 * block the event loop for ~10 s per attempt, which is a hang, not a cut. `restore()` detaches
 * (everything works again) and returns how many calls failed.
 */
export async function cutDatastore(lab: Lab, node: string): Promise<{ restore(): Promise<number> }> {
  const rec = await agentRecord(lab, node);
  const dir = labPaths(lab.ctx.dir).datastore;
  const db = join(dir, '.margay', 'store.db');
  const out = join(await mkdtemp(join(tmpdir(), 'mgy-e2e-cut-')), 'strace.txt');
  const paths = [dir, join(dir, '.margay'), db, `${db}-wal`, `${db}-shm`].flatMap((p) => ['-P', p]);
  const p = execa(
    'strace',
    [
      '-f',
      '-qq',
      '-p',
      String(rec.pid),
      ...paths,
      '-e',
      `trace=${CUT_SYSCALLS}`,
      '-e',
      'inject=all:error=EIO',
      '-o',
      out,
    ],
    { reject: false, all: true },
  );
  // Attached once strace has written its first line or a moment has passed without an exit.
  await sleep(500);
  if (p.exitCode !== null) throw new Error(`strace could not attach to ${node}'s agent: ${String((await p).all)}`);
  let restored: Promise<number> | undefined;
  return {
    restore() {
      restored ??= (async () => {
        p.kill('SIGINT');
        const r = await p;
        if (r.exitCode !== 0 && r.signal !== 'SIGINT') throw new Error(`strace ended badly: ${String(r.all)}`);
        const text = await readFile(out, 'utf8').catch(() => '');
        await rm(dirname(out), { recursive: true, force: true });
        return text.split('\n').filter((l) => l.includes('(INJECTED)')).length;
      })();
      return restored;
    },
  };
}

// ---- churn: nodes joining and leaving, pods coming and going ----

/** The lab's shared datastore, opened as margayctl opens it (close it after use). */
export function openLabStore(lab: Lab): Promise<Datastore> {
  return openDatastore(`file:${labPaths(lab.ctx.dir).datastore}`, { log: lab.ctx.log });
}

/** Adds a pod the way the lab does (Pod object, netns registered with its node's labnet, CNI ADD), recorded in the lab state. */
export async function addPod(lab: Lab, store: Datastore, pod: LabPod): Promise<LabPodState> {
  const s = await lab.state();
  return createPod(lab.ctx, s, store, pod, () => writeState(s));
}

/** Removes a pod the way the runtime does (CNI DEL, netns, Pod object), recorded in the lab state. */
export async function removePod(lab: Lab, store: Datastore, name: string): Promise<void> {
  const s = await lab.state();
  const pod = s.pods.find((p) => p.name === name);
  if (!pod) throw new Error(`the lab has no pod ${name}`);
  await deletePod(lab.ctx, s, store, pod, () => writeState(s));
}

/** A pod for `node` named pod-<index>-<tag> (the lab's naming). */
export function labPod(lab: Lab, node: LabNode, tag: string): LabPod {
  return {
    name: `pod-${node.index}-${tag}`,
    namespace: 'default',
    node: node.name,
    netnsNode: `p${node.index}-${tag}`,
    containerId: `${lab.plan.spec.prefix}${node.index}x${tag}`,
  };
}

/** Rewrites the BIRD ToR's config for `nodes` (its BGP neighbours) and has BIRD re-read it. */
export async function reconfigureBirdTor(lab: Lab, nodes: readonly LabNode[]): Promise<void> {
  if (lab.plan.options.tor !== 'bird') throw new Error('reconfigureBirdTor: the lab ToR is not BIRD');
  const dir = labPaths(lab.ctx.dir).tor;
  await writeFile(
    join(dir, 'bird.conf'),
    `log "${join(dir, 'bird.log')}" all;\n${birdTorConfig({ ...lab.plan, nodes })}\n`,
  );
  const out = await run('birdc', ['-s', join(dir, 'bird.ctl'), 'configure']);
  if (!/Reconfigured|Reconfiguration in progress/.test(out)) throw new Error(`birdc configure: ${out}`);
}

/**
 * A machine joins the lab's L2 segment: namespace `<prefix>-<node>` (journaled in the lab state
 * first, so `down` removes it), forwarding on, eth0 to the ToR's bridge with the node's address,
 * default route via the ToR — as lab up builds node namespaces (lab-plan.ts, topology.ts).
 */
export async function addNodeNamespace(lab: Lab, node: LabNode): Promise<void> {
  const ns = lab.ns(node.name);
  const s = await lab.state();
  s.entries.push({ kind: 'netns', name: ns });
  await writeState(s);
  const r = lab.ctx.runner;
  await r.run(['ip', 'netns', 'add', ns]);
  await r.run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
  await r.run(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1'], { netns: ns });
  await addLink(
    r,
    {
      a: { node: node.name, ifName: 'eth0', addresses: [`${node.ip}/24`] },
      b: { node: 'tor', ifName: `n${node.index}`, master: 'br0' },
    },
    (n) => lab.ns(n),
  );
  await r.run(['ip', '-n', ns, 'route', 'add', 'default', 'via', lab.plan.tor.ip]);
}

/** The machine leaves: its namespace (and so its link to the ToR) is deleted and dropped from the state. */
export async function removeNodeNamespace(lab: Lab, node: string): Promise<void> {
  const ns = lab.ns(node);
  await lab.ctx.runner.run(['ip', 'netns', 'del', ns]);
  const s = await lab.state();
  s.entries = s.entries.filter((e) => e.name !== ns);
  await writeState(s);
}

/**
 * The CNI discovery link for `node`'s agent (/run/margay/cni-<netns inode>.sock → its socket), as
 * lab up places it (lab-up.ts linkCniSocket), recorded in the lab state for `down`.
 */
export async function linkCni(lab: Lab, agent: NodeAgent): Promise<void> {
  const ino = (await stat(`/run/netns/${agent.ns}`)).ino;
  const target = join(agent.runDir, `cni-${ino}.sock`);
  await waitFor(`${agent.nodeName}'s CNI socket`, async () => existsSync(target), 30_000, 100);
  const link = join(CNI_DIR, `cni-${ino}.sock`);
  const s = await lab.state();
  s.cniLinks.push(link);
  await writeState(s);
  if ((await readlink(link).catch(() => undefined)) === target) return;
  await rm(link, { force: true });
  await symlink(target, link);
}

export interface IpamBlockInfo {
  readonly cidr: string;
  readonly node: string | undefined;
  readonly allocated: number;
  readonly free: number;
  /** Free addresses IPAM does not hand out yet (released less than minReuseAgeSeconds, 10 s, ago). */
  readonly cooling: number;
}

/** The IPv4 IPAM blocks in the datastore, with their node and usage. */
export async function ipamBlocks(store: Datastore): Promise<IpamBlockInfo[]> {
  const { items } = await store.list('IPAMBlock');
  return (items as IPAMBlock[])
    .filter((b) => !b.spec.cidr.includes(':'))
    .map((b) => ({
      cidr: b.spec.cidr,
      node: b.spec.affinity?.startsWith('host:') ? b.spec.affinity.slice(5) : undefined,
      allocated: b.spec.allocations.filter((a) => a !== null).length,
      free: b.spec.allocations.filter((a) => a === null).length,
      cooling: Object.entries(b.spec.releaseTimes ?? {}).filter(
        ([ord, t]) => b.spec.allocations[Number(ord)] === null && Date.now() - t < 10_000,
      ).length,
    }))
    .sort((a, b) => a.cidr.localeCompare(b.cidr));
}

/**
 * Every kernel's pod routes, compared with IPAM and the pods: on each node exactly a blackhole per
 * own block, a route via the owner for every other node's block, a /32 per own pod over a veth —
 * and nothing else in the pool; on the ToR exactly a route via the owner for every block. Each node's
 * veths are exactly its pods' veths, and its per-workload chains exactly those veths'. Returns the
 * differences (empty when everything follows).
 */
export async function staleOrMissing(lab: Lab, store: Datastore, nodes: readonly LabNode[]): Promise<string[]> {
  const blocks = await ipamBlocks(store);
  const ipOf = new Map(nodes.map((n) => [n.name, n.ip]));
  const pods = (await lab.state()).pods;
  const out: string[] = [];
  const diff = (where: string, want: string[], got: string[]): void => {
    const w = new Set(want);
    const g = new Set(got);
    for (const x of g) if (!w.has(x)) out.push(`${where}: stale ${x}`);
    for (const x of w) if (!g.has(x)) out.push(`${where}: missing ${x}`);
  };
  type R = { dst: string; gateway?: string; dev?: string; type?: string; nexthops?: { gateway?: string }[] };
  const poolRoutes = async (ns: string): Promise<R[]> =>
    JSON.parse(await run('ip', ['-n', ns, '-4', '-j', 'route', 'show', 'root', POOL_V4])) as R[];
  const show = (r: R): string =>
    r.type === 'blackhole'
      ? `blackhole ${r.dst}`
      : r.gateway
        ? `${r.dst} via ${r.gateway}`
        : r.nexthops
          ? `${r.dst} via ${r.nexthops.map((h) => h.gateway).join(',')}`
          : `${r.dst} dev`;
  for (const b of blocks) if (b.node === undefined || !ipOf.has(b.node)) out.push(`ipam: block ${b.cidr} of ${b.node}`);
  // The ToR: a route to every block with the owner among its next hops, and no next hop but live
  // nodes (in full mesh every node re-advertises the others' blocks, so the ToR spreads over all).
  const tor = (await poolRoutes(lab.ns('tor'))).flatMap((r) =>
    (r.nexthops ?? [r]).map((h) => ({ dst: r.dst, gateway: h.gateway })),
  );
  const live = new Set(ipOf.values());
  for (const r of tor) {
    if (!blocks.some((b) => b.cidr === r.dst) || !live.has(r.gateway ?? ''))
      out.push(`tor: stale ${r.dst} via ${r.gateway}`);
  }
  for (const b of blocks) {
    if (!tor.some((r) => r.dst === b.cidr && r.gateway === ipOf.get(b.node!)))
      out.push(`tor: missing ${b.cidr} via ${b.node}`);
  }
  for (const n of nodes) {
    const ns = lab.ns(n.name);
    const routes = await poolRoutes(ns);
    const mine = pods.filter((p) => p.node === n.name);
    diff(
      n.name,
      [
        ...blocks.filter((b) => b.node === n.name).map((b) => `blackhole ${b.cidr}`),
        ...blocks.filter((b) => b.node !== n.name).map((b) => `${b.cidr} via ${ipOf.get(b.node!)}`),
        ...mine.map((p) => `${p.ips[0]} dev`),
      ],
      routes.map(show),
    );
    const podDevs = routes.filter((r) => r.type !== 'blackhole' && !r.gateway && !r.nexthops).map((r) => r.dev!);
    const k = await kernelState(ns);
    diff(
      `${n.name} veths`,
      podDevs,
      k.veths.filter((v) => v !== 'eth0'), // eth0: the node's own link to the ToR
    );
    diff(
      `${n.name} workload chains`,
      podDevs.flatMap((d) => [`:mgy-fw-${d}`, `:mgy-tw-${d}`]),
      k.iptables.filter((l) => /^:mgy-(fw|tw)-/.test(l)).map((l) => l.split(' ')[0]!),
    );
  }
  return out;
}

/**
 * Samples `ns`'s kernel state (kernelState) every ~50 ms until `stop()`, which returns every sample
 * that differed from `expected` (with its time): for "stays in place during ..." claims.
 */
export function watchKernel(
  ns: string,
  expected: KernelState,
): { stop(): Promise<{ samples: number; differing: string[] }> } {
  let stopping = false;
  let samples = 0;
  const differing: string[] = [];
  const want = JSON.stringify(expected);
  const loop = (async () => {
    while (!stopping) {
      const k = await kernelState(ns);
      samples++;
      if (JSON.stringify(k) !== want) {
        const d = (Object.keys(expected) as (keyof KernelState)[])
          .map((key) => {
            const gone = expected[key].filter((x) => !k[key].includes(x));
            const added = k[key].filter((x) => !expected[key].includes(x));
            return gone.length + added.length > 0 ? `${key}: -[${gone.join(' | ')}] +[${added.join(' | ')}]` : '';
          })
          .filter(Boolean);
        differing.push(`${new Date().toISOString()} ${d.join('; ')}`);
      }
      await sleep(50); // a sample costs four processes: leave the agents some of the 2 cores
    }
  })();
  return {
    async stop() {
      stopping = true;
      await loop;
      return { samples, differing };
    },
  };
}

/** The remote addresses of `node`'s established BGP connections (TCP port 179), sorted. */
export async function bgpPeersUp(lab: Lab, node: string): Promise<string[]> {
  const out = await run('ip', [
    'netns',
    'exec',
    lab.ns(node),
    'ss',
    '-Htn',
    'state',
    'established',
    '( sport = :179 or dport = :179 )',
  ]);
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => l.trim().split(/\s+/).at(-1)!.replace(/:\d+$/, ''))
    .sort();
}
