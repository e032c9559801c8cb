/**
 * The lab benchmark (issue 10): Margay's lab (`margayctl lab up`: margay-node in every node) and
 * the Calico-style reference (src/lab/reference.ts: BIRD 2 per node as confd configures it, pods
 * wired as Calico wires them) built side by side in the same sandbox, measured in the same run,
 * rounds interleaved so both see the same load:
 *
 *   propagation  a new block affine to node-1 → its route in node-3's kernel
 *                (Margay: IPAM claims the block in the datastore; reference: confd's static route + birdc configure)
 *   cold start   every node's routing daemon started → every node's kernel has every other node's block
 *                (Margay: margay-node processes spawned, also from "all listen on :179"; reference: BIRD)
 *   pod ADD      CNI ADD on node-1 begins → node-3 gets a ping answer from the pod
 *                (Margay: the real CNI plugin; reference: the same wiring with plain `ip` commands)
 *   lab up       `margayctl lab up` N nodes × P pods, to a converged matrix; peak memory of its processes
 *
 * Kernel routes are read from /proc/<pid>/net/route of a process in the node's namespace (no process
 * spawned per poll); reachability is `ping -i 0.002` from node-3, the first reply's timestamp.
 *
 *   npm run build && scripts/in-sandbox.sh node dist/test/bench/lab.js [--rounds 5] [--pods 20] [--up 3x3,10x10] [--logs DIR]
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { claimBlock } from '../../ipam/claim.js';
import { Ipam } from '../../ipam/index.js';
import { applyManifests, type Datastore } from '../../src/datastore/index.js';
import { ExecaCommandRunner } from '../../src/kernel/index.js';
import { hasGatewayRouteSync, listensOn, routesOfPid } from '../../src/lab/kernel-routes.js';
import type { LabContext } from '../../src/lab/lab-context.js';
import { labDown } from '../../src/lab/lab-down.js';
import type { LabOptions, LabPlan } from '../../src/lab/lab-plan.js';
import { planLab } from '../../src/lab/lab-plan.js';
import { podObject, resultIps, runCni } from '../../src/lab/lab-pods.js';
import { writeState, type LabState } from '../../src/lab/lab-state.js';
import { labUp, openLabStore, startNodeAgent } from '../../src/lab/lab-up.js';
import { stopProcess, toRecord } from '../../src/lab/processes.js';
import { upReference, type ReferenceLab } from '../../src/lab/reference.js';
import { nsName } from '../../src/lab/topology-spec.js';
import { sleep } from '../../src/lab/wait.js';
import { silentLogger } from '../../src/log.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    pods: { type: 'string', default: '20' },
    up: { type: 'string', default: '3x3' },
    /** Copy the Margay agents' logs here before the lab goes down (to see where time went). */
    logs: { type: 'string' },
  },
});
const ROUNDS = Number(values.rounds);
const POD_ROUNDS = Number(values.pods);
const UP_SIZES = (values.up ?? '')
  .split(',')
  .filter(Boolean)
  .map((s) => s.split('x').map(Number) as [number, number]);

/** After both labs converged, before the propagation rounds (see there). */
const SETTLE_MS = 3500;
const log = silentLogger();
const runner = new ExecaCommandRunner(log);
const load = (): string => loadavg()[0]!.toFixed(1);

interface Stats {
  n: number;
  median: number;
  min: number;
  max: number;
  p90: number;
}
function stats(xs: readonly number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { n: s.length, median: at(0.5), min: s[0]!, max: s[s.length - 1]!, p90: at(0.9) };
}
const fmt = (s: Stats | undefined): string =>
  s === undefined
    ? '—'
    : `${s.median.toFixed(0)} ms (${s.min.toFixed(0)}–${s.max.toFixed(0)}, p90 ${s.p90.toFixed(0)}, n=${s.n})`;

/** Polls `fn` every `everyMs` until true; the time it first held, in ms since `t0`. */
async function until(
  what: string,
  t0: number,
  fn: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
  everyMs = 2,
): Promise<number> {
  for (;;) {
    if (await fn()) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** ms from `t0Wall` (Date.now()) until node's namespace gets a ping answer from `ip` (ping -D timestamps). */
async function pingFrom(ns: string, ip: string, t0Wall: number): Promise<number> {
  const r = await execa('ip', ['netns', 'exec', ns, 'ping', '-n', '-D', '-c', '1', '-w', '5', '-i', '0.002', ip], {
    reject: false,
  });
  const m = /^\[(\d+\.\d+)\] \d+ bytes from/m.exec(r.stdout);
  if (!m) throw new Error(`no ping answer from ${ip} in ${ns}: ${r.stdout.slice(-300)} ${r.stderr}`);
  return Number(m[1]) * 1000 - t0Wall;
}

// ---------------------------------------------------------------------------------------------- Margay

interface MargayLab {
  ctx: LabContext;
  state: LabState;
  plan: LabPlan;
  store: Datastore;
  agentPid(node: string): number;
}

async function margayLab(
  dir: string,
  nodes: number,
  pods: number,
): Promise<{ lab: MargayLab; upMs: number; ok: boolean }> {
  let report = '';
  const ctx: LabContext = {
    dir,
    runner,
    log,
    env: process.env,
    out: (t) => {
      report += `${t}\n`;
      if (/^lab bench:|timed out/.test(t)) console.error(`  [lab ${nodes}×${pods}] ${t}`);
    },
  };
  const options: LabOptions = { name: 'bench', nodes, podsPerNode: pods, tor: 'bird', mode: 'mesh', dualStack: false };
  const t0 = performance.now();
  const up = await labUp(ctx, options, { convergeMs: 60_000 + 2_000 * nodes * pods });
  const upMs = performance.now() - t0;
  if (!up.ok) {
    // What failed: the failing cells and the diagnosis of the report (stderr, the table stays clean).
    const from = report.search(/^\d+ cell\(s\) failing:/m);
    console.error(`  [lab ${nodes}×${pods}] ${from >= 0 ? report.slice(from, from + 6000) : report.slice(-3000)}`);
  }
  const plan = planLab(options, up.state.prefix);
  const store = await openLabStore(ctx, join(dir, 'datastore'));
  const state = up.state;
  return {
    upMs,
    ok: up.ok,
    lab: {
      ctx,
      state,
      plan,
      store,
      agentPid(node) {
        const p = state.processes.find((r) => r.name === `margay-node ${node}`);
        if (!p) throw new Error(`no margay-node ${node} in the lab state`);
        return p.pid;
      },
    },
  };
}

/** CIDRs of blocks affine to each node, from the datastore. */
async function blocksByNode(store: Datastore): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const b of (await store.list('IPAMBlock')).items as unknown as { spec: { cidr: string; affinity?: string } }[]) {
    const node = b.spec.affinity?.replace(/^host:/, '');
    if (node) out.set(node, [...(out.get(node) ?? []), b.spec.cidr]);
  }
  return out;
}

/** Every node's kernel has a gateway route to every other node's blocks. */
async function converged(pids: Map<string, number>, blocks: Map<string, string[]>): Promise<boolean> {
  for (const [node, pid] of pids) {
    const have = new Set((await routesOfPid(pid)).filter((r) => r.gateway).map((r) => r.dst));
    for (const [other, cidrs] of blocks) if (other !== node && cidrs.some((c) => !have.has(c))) return false;
  }
  return true;
}

async function margayColdStart(m: MargayLab): Promise<{ total: number; fromListen: number }> {
  const agents = m.state.processes.filter((p) => p.name.startsWith('margay-node '));
  await Promise.all(agents.map((p) => stopProcess(p, { signal: 'SIGTERM', timeoutMs: 10_000 })));
  for (const n of m.plan.nodes)
    await runner.run(['ip', '-n', nsName(m.state.prefix, n.name), 'route', 'flush', 'root', '10.244.0.0/16']);
  const blocks = await blocksByNode(m.store);
  const t0 = performance.now();
  const started = await Promise.all(m.plan.nodes.map((n) => startNodeAgent(m.ctx, m.state.prefix, m.plan, n)));
  m.state.processes = [
    ...m.state.processes.filter((p) => !agents.includes(p)),
    ...started.map((a) => toRecord(a.proc)),
  ];
  await writeState(m.state);
  const pids = new Map(started.map((a) => [a.nodeName, a.proc.pid]));
  const listen = await until(
    'every agent listening on :179',
    t0,
    async () => (await Promise.all([...pids.values()].map((pid) => listensOn(pid, 179)))).every(Boolean),
    60_000,
  );
  const total = await until('every node to have every block', t0, () => converged(pids, blocks), 60_000, 5);
  return { total, fromListen: total - listen };
}

// ------------------------------------------------------------------------------------------- reference

async function referenceColdStart(ref: ReferenceLab): Promise<number> {
  await ref.stopNodes();
  const blocks = new Map(ref.plan.nodes.map((n) => [n.name, [`10.244.${n.index}.0/26`]]));
  const t0 = performance.now();
  await ref.startNodes();
  const pids = new Map(ref.plan.nodes.map((n) => [n.name, ref.birdPid(n.name)!]));
  return until('every reference node to have every block', t0, () => converged(pids, blocks), 60_000, 5);
}

// ------------------------------------------------------------------------------------------------ main

/** `--rounds 0 --pods 0`: only the lab up sizes. */
class SkipComparison extends Error {}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mgy-labbench-'));
  const loadStart = load();
  console.log(
    `\nLab benchmark: Margay vs the Calico-style reference (same sandbox, same run). Load (1 min) ${loadStart} at start; ${ROUNDS} rounds, ${POD_ROUNDS} pods.\n`,
  );
  console.log('| measure | Margay median (min–max, p90) | reference | target | verdict |');
  console.log('| --- | --- | --- | --- | --- |');
  // Rows print as they are measured, so a later failure keeps the earlier figures.
  const rows = { push: (r: string): void => console.log(r) };
  const skipRef = ROUNDS === 0 && POD_ROUNDS === 0;
  let margay: MargayLab | undefined;
  let ref: ReferenceLab | undefined;
  try {
    if (skipRef) throw new SkipComparison();
    ref = await upReference({
      prefix: `mgyref${process.pid % 10_000}`,
      nodes: 3,
      workdir: join(dir, 'ref'),
      runner,
      log,
      blocks: { 'node-1': ['10.244.1.0/26'], 'node-2': ['10.244.2.0/26'], 'node-3': ['10.244.3.0/26'] },
    });
    const r = ref;
    const built = await margayLab(join(dir, 'margay'), 3, 1);
    const m = (margay = built.lab);
    if (!built.ok) throw new Error('the Margay lab did not converge');
    await until(
      'the reference to converge',
      performance.now(),
      () =>
        converged(
          new Map(r.plan.nodes.map((n) => [n.name, r.birdPid(n.name)!])),
          new Map(r.plan.nodes.map((n) => [n.name, [`10.244.${n.index}.0/26`]])),
        ),
      60_000,
      20,
    );

    // The agents' deferred start-up work (startup-gates.ts: CNI co-processes, metrics, the lock-probe
    // thread) runs ≈ 1–3 s after their routes are in; propagation is measured in the steady state after it.
    await sleep(SETTLE_MS);
    // Propagation: a new block on node-1 → node-3's kernel, interleaved.
    const ipam = new Ipam({ store: m.store, log });
    const prop = { margay: [] as number[], ref: [] as number[] };
    const write = { margay: [] as number[], ref: [] as number[] };
    for (let k = 0; k < ROUNDS; k++) {
      const cidr = `10.244.${200 + k}.0/26`;
      const m3 = m.agentPid('node-3');
      let t0 = performance.now();
      if (!(await claimBlock(ipam, 'node-1', cidr, false))) throw new Error(`could not claim ${cidr} for node-1`);
      write.margay.push(performance.now() - t0);
      prop.margay.push(await until(`${cidr} on Margay node-3`, t0, () => hasGatewayRouteSync(m3, cidr), 30_000, 1));
      const rc = `10.244.${100 + k}.0/26`;
      t0 = performance.now();
      await r.addBlock('node-1', rc);
      write.ref.push(performance.now() - t0);
      prop.ref.push(
        await until(`${rc} on reference node-3`, t0, () => hasGatewayRouteSync(r.birdPid('node-3')!, rc), 30_000, 1),
      );
    }
    rows.push(
      `| new block on node-1 → route in node-3's kernel | ${fmt(stats(prop.margay))} | ${fmt(stats(prop.ref))} | ≤ reference | ${stats(prop.margay).median <= stats(prop.ref).median ? 'met' : '**missed**'} |`,
    );

    rows.push(
      `| … of which writing the change (IPAM claim: one atomic datastore write / config file + \`birdc configure\`) | ${fmt(stats(write.margay))} | ${fmt(stats(write.ref))} | — | — |`,
    );

    // Pod ADD on node-1 → ping answer at node-3.
    const add = { margay: [] as number[], ref: [] as number[] };
    const n1 = nsName(m.state.prefix, 'node-1');
    const n3 = nsName(m.state.prefix, 'node-3');
    for (let i = 0; i < POD_ROUNDS; i++) {
      const pod = {
        name: `bench-${i}`,
        namespace: 'default',
        node: 'node-1',
        containerId: `${m.state.prefix}b${i}`,
        netns: nsName(m.state.prefix, `b${i}`),
        ips: [],
      };
      await applyManifests(m.store, [podObject(pod)]);
      await runner.run(['ip', 'netns', 'add', pod.netns]);
      try {
        const t0 = Date.now();
        const res = await runCni(m.ctx, n1, 'ADD', pod, false);
        if (res.code !== 0) throw new Error(`CNI ADD failed: ${res.stdout} ${res.stderr}`);
        add.margay.push(await pingFrom(n3, resultIps(res.stdout)[0]!, t0));
        const del = await runCni(m.ctx, n1, 'DEL', pod, false);
        if (del.code !== 0) throw new Error(`CNI DEL failed: ${del.stdout} ${del.stderr}`);
      } finally {
        await runner.run(['ip', 'netns', 'del', pod.netns], { allowFailure: true });
        await m.store.delete('Pod', pod.name, pod.namespace);
      }
      const t0 = Date.now();
      const rp = await r.addPod('node-1', `b${i}`, `10.244.1.${10 + (i % 50)}`);
      add.ref.push(await pingFrom(r.ns('node-3'), rp.ip, t0));
      await r.removePod(rp);
    }
    if (POD_ROUNDS > 0) {
      const addM = stats(add.margay);
      rows.push(
        `| pod ADD on node-1 → reachable from node-3 | ${fmt(addM)} | ${fmt(stats(add.ref))} (plain \`ip\`) | ≤ 200 ms median | ${addM.median <= 200 ? 'met' : '**missed**'} |`,
      );
    }

    // Cold start.
    const cold = { margay: [] as number[], listen: [] as number[], ref: [] as number[] };
    for (let k = 0; k < ROUNDS; k++) {
      const c = await margayColdStart(m);
      cold.margay.push(c.total);
      cold.listen.push(c.fromListen);
      cold.ref.push(await referenceColdStart(r));
    }
    const coldM = stats(cold.margay);
    rows.push(
      `| cold start: daemons spawned → every node has every block | ${fmt(coldM)} | ${fmt(stats(cold.ref))} | ≤ 500 ms | ${coldM.median <= 500 ? 'met' : '**missed**'} |`,
    );
    rows.push(
      `| cold start, from every agent listening on :179 | ${fmt(stats(cold.listen))} | (BIRD listens at once) | ≤ 500 ms | ${stats(cold.listen).median <= 500 ? 'met' : '**missed**'} |`,
    );
  } catch (err) {
    if (!(err instanceof SkipComparison)) throw err;
  } finally {
    if (margay) {
      if (values.logs) await execa('cp', ['-r', join(dir, 'margay', 'nodes'), values.logs], { reject: false });
      await margay.store.close();
      await labDown(margay.ctx).catch((err: unknown) => console.error('margay lab down failed:', err));
    }
    await ref?.down().catch((err: unknown) => console.error('reference down failed:', err));
  }

  // lab up sizes (Margay only: the reference has no equivalent of the whole `up`).
  for (const [nodes, pods] of UP_SIZES) {
    const upDir = join(dir, `up${nodes}x${pods}`);
    const before = load();
    const t0 = performance.now();
    const target = nodes === 3 ? '≤ 15 s' : 'works';
    try {
      const { lab, upMs, ok } = await margayLab(upDir, nodes!, pods!);
      let peak = 0;
      for (const p of lab.state.processes) {
        const st = await readFile(`/proc/${p.pid}/status`, 'utf8').catch(() => '');
        peak += Number(/VmHWM:\s+(\d+) kB/.exec(st)?.[1] ?? 0);
      }
      await lab.store.close();
      await labDown(lab.ctx);
      const verdict = !ok ? '**missed** (matrix not converged)' : nodes === 3 && upMs > 15_000 ? '**missed**' : 'met';
      rows.push(
        `| lab up ${nodes} nodes × ${pods} pods (${ok ? 'to a converged matrix' : 'NOT converged'}) | ${(upMs / 1000).toFixed(1)} s; ${lab.state.processes.length} processes, sum of their peak RSS ${(peak / 1024).toFixed(0)} MiB | — | ${target} | ${verdict} (load ${before} → ${load()}) |`,
      );
    } catch (err) {
      rows.push(
        `| lab up ${nodes} nodes × ${pods} pods | failed after ${((performance.now() - t0) / 1000).toFixed(1)} s: ${(err as Error).message.split('\n')[0]} | — | ${target} | **missed** (load ${before} → ${load()}) |`,
      );
      await labDown({ dir: upDir, runner, log, env: process.env, out: () => undefined }).catch((e: unknown) =>
        console.error('lab down failed:', e),
      );
    }
  }
  await rm(dir, { recursive: true, force: true });
  console.log(`\nload (1 min) at the end: ${load()}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
