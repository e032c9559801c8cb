/**
 * `margayctl lab up`: builds the lab from its plan, recording every step in the state file before
 * taking it, so `lab down` can undo a crashed `up`:
 *
 *   lock → state (prefix) → topology (journal) → ToR daemon → manifests into the shared file datastore
 *   → margay-node per node (ready) → labnet in nodes and outside → pods (object, netns registered
 *   with its node's labnet, CNI ADD) → wait for the matrix → report (sessions, routes, pods, matrix)
 *
 * `up` on a lab that is already up with the same options only reports; with other options it refuses.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readlink, rm, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { applyManifests, FileDatastore, type Datastore } from '../datastore/index.js';
import { LabProcessError, LabStateError, LabTimeoutError } from './errors.js';
import { lookup, routesOfPid } from './kernel-routes.js';
import { CNI_DIR, labPaths, section, type LabContext } from './lab-context.js';
import { labDown } from './lab-down.js';
import { planLab, validateOptions, type LabNode, type LabOptions, type LabPlan, type LabPod } from './lab-plan.js';
import { createPod } from './lab-pods.js';
import { askAgentHttp, startLabnet } from './labnet.js';
import { cellAsExpected, labReport, matrixFor } from './lab-report.js';
import { lockLab, readState, writeState, type LabState } from './lab-state.js';
import { startMargayNode, type NodeAgent } from './margay-processes.js';
import { isRunning, toRecord } from './processes.js';
import type { Matrix, MatrixCell, ProbeEndpoint } from './probe.js';
import { startTor } from './tor.js';
import { upTopology } from './topology.js';
import { nsName } from './topology-spec.js';
import { sleep, waitFor } from './wait.js';

export interface UpResult {
  readonly state: LabState;
  readonly matrix: Matrix | undefined;
  readonly ok: boolean;
}

export async function labUp(
  ctx: LabContext,
  options: LabOptions,
  opts: { readonly convergeMs?: number } = {},
): Promise<UpResult> {
  validateOptions(options);
  const unlock = await lockLab(ctx.dir);
  try {
    const existing = await readState(ctx.dir);
    if (existing) {
      if (existing.name !== options.name)
        throw new LabStateError(`${ctx.dir} holds lab ${existing.name}, not ${options.name}`);
      if (existing.phase === 'up') {
        if (!isDeepStrictEqual(existing.options, options)) {
          throw new LabStateError(
            `lab ${options.name} is up with other options (${JSON.stringify(existing.options)}): run margayctl lab down first`,
          );
        }
        const dead = [];
        for (const p of existing.processes) if (!(await isRunning(p))) dead.push(p.name);
        if (dead.length > 0)
          throw new LabStateError(
            `lab ${options.name} is up but these processes died: ${dead.join(', ')}; run margayctl lab down, then up`,
          );
        ctx.out(`lab ${options.name} is already up (prefix ${existing.prefix}); nothing to build`);
        return await report(ctx, existing, planLab(existing.options, existing.prefix));
      }
      ctx.out(
        `lab ${options.name}: removing what an earlier, unfinished up left (${existing.entries.length} namespaces/links, ${existing.processes.length} processes)`,
      );
      await labDown(ctx, { locked: true });
    }
    return await build(ctx, options, opts.convergeMs ?? 60_000 + 1_000 * options.nodes * options.podsPerNode);
  } finally {
    await unlock();
  }
}

async function build(ctx: LabContext, options: LabOptions, convergeMs: number): Promise<UpResult> {
  const started = performance.now();
  const prefix = `mgy${options.name}${randomBytes(2).toString('hex')}`;
  const state: LabState = {
    version: 1,
    name: options.name,
    prefix,
    dir: ctx.dir,
    options,
    phase: 'building',
    entries: [],
    cniLinks: [],
    madeCniDir: false,
    processes: [],
    pods: [],
  };
  // Steps run in parallel below; saves are chained so the file always ends with the latest state.
  let saving: Promise<void> = Promise.resolve();
  const save = (): Promise<void> => {
    saving = saving.catch(() => undefined).then(() => writeState(state));
    return saving;
  };
  await save();
  const plan = planLab(options, prefix);
  const paths = labPaths(ctx.dir);
  let store: Datastore | undefined;
  try {
    await upTopology(plan.spec, {
      runner: ctx.runner,
      log: ctx.log,
      journal: async (entries) => {
        state.entries = [...entries];
        await save();
      },
    });
    ctx.out(`lab ${options.name}: ${plan.spec.nodes.length} namespaces (prefix ${prefix}) in ${ms(started)}`);

    // Independent of each other: the ToR, the manifests, and the labnets of the nodes and the
    // outside (the node ones also carry the readiness polls below).
    await mkdir(paths.tor, { recursive: true });
    await mkdir(paths.datastore, { recursive: true });
    await Promise.all([
      startTor(options.tor, plan, nsName(prefix, 'tor'), paths.tor).then(async (tor) => {
        state.processes.push(...tor.records);
        await save();
      }),
      (async () => {
        store = await openLabStore(ctx, paths.datastore);
        await applyManifests(store, plan.manifests);
      })(),
      ...plan.nodes.map((n) => startLabnet(ctx, state, n.name, nsName(prefix, n.name), save)),
      startLabnet(ctx, state, 'outside', nsName(prefix, 'outside'), save),
    ]);

    const agents = await startAgents(ctx, state, plan, save);
    const ready = (a: NodeAgent): Promise<boolean> =>
      askAgentHttp({ socket: paths.agentSocket(a.nodeName), label: a.nodeName }, a.healthPort, '/readiness').then(
        (st) => st === 200,
      );
    await waitFor(
      'every margay-node to be ready',
      async () => {
        const dead = agents.find((a) => a.proc.hasExited());
        if (dead) throw new LabProcessError(`margay-node ${dead.nodeName}`, 'exited during start');
        return (await Promise.all(agents.map(ready))).every(Boolean);
      },
      60_000 + 3_000 * agents.length,
      100,
    ).catch(async (err: unknown) => {
      throw new LabProcessError(
        'margay-node',
        (err as Error).message,
        (await Promise.all(agents.map(async (a) => `[${a.nodeName}] ${(await a.log()).slice(-1500)}`))).join('\n'),
      );
    });
    if (plan.pods.length > 0) await Promise.all(agents.map((a) => linkCniSocket(state, a, save)));
    ctx.out(`lab ${options.name}: ToR (${options.tor}) and ${agents.length} margay-node agents up in ${ms(started)}`);

    // Pods: several at once (each node's agent serves its own; the CNI plugin is a short exec),
    // taken round-robin over the nodes; state lists them in plan order afterwards.
    const queue = roundRobin(plan.pods);
    const s = store!;
    await Promise.all(
      Array.from({ length: Math.min(POD_WORKERS, queue.length) }, async () => {
        for (let pod = queue.shift(); pod !== undefined; pod = queue.shift()) await createPod(ctx, state, s, pod, save);
      }),
    );
    const order = new Map(plan.pods.map((p, i) => [p.name, i]));
    state.pods.sort((a, b) => (order.get(a.name) ?? 0) - (order.get(b.name) ?? 0));
    ctx.out(`lab ${options.name}: ${plan.pods.length} pods added through the CNI plugin in ${ms(started)}`);

    state.phase = 'up';
    await save();
    const converged = await converge(state, plan, convergeMs, ctx.out);
    ctx.out(`lab ${options.name}: ${converged ? 'the matrix is as expected' : 'NOT converged'} after ${ms(started)}`);
    return await report(ctx, state, plan, converged);
  } catch (err) {
    state.phase = 'failed';
    await save();
    throw err;
  } finally {
    await store?.close();
  }
}

/**
 * The lab's own connection to the shared file datastore: it only writes (manifests, Pod objects)
 * and reads back, so it needs neither the lock-probe thread nor fs.watch. The probe thread reports
 * "locks not answering" whenever one probe runs longer than 30 ms, which on a loaded machine can be
 * mere scheduling; `up` would then log a spurious "datastore unreadable" error.
 */
export function openLabStore(ctx: LabContext, dir: string): Promise<FileDatastore> {
  return FileDatastore.open({
    dir,
    log: ctx.log.child({ component: 'datastore' }),
    lockGuard: false,
    useFsWatch: false,
  });
}

/** CNI ADDs in flight at once during `up`. */
const POD_WORKERS = 4;

/** Pods ordered node-1's first, node-2's first, ..., then each node's second, ... */
function roundRobin(pods: readonly LabPod[]): LabPod[] {
  const byNode = new Map<string, LabPod[]>();
  for (const p of pods) byNode.set(p.node, [...(byNode.get(p.node) ?? []), p]);
  const out: LabPod[] = [];
  for (let i = 0; out.length < pods.length; i++) for (const list of byNode.values()) if (list[i]) out.push(list[i]!);
  return out;
}

async function startAgents(
  ctx: LabContext,
  state: LabState,
  plan: LabPlan,
  save: () => Promise<void>,
): Promise<NodeAgent[]> {
  const agents: NodeAgent[] = [];
  for (const n of plan.nodes) {
    const a = await startNodeAgent(ctx, state.prefix, plan, n);
    state.processes.push(toRecord(a.proc));
    await save();
    agents.push(a);
  }
  return agents;
}

/** Starts margay-node for one lab node as `up` does (the benchmark restarts agents with it). */
export async function startNodeAgent(ctx: LabContext, prefix: string, plan: LabPlan, n: LabNode): Promise<NodeAgent> {
  const workdir = labPaths(ctx.dir).node(n.name);
  await mkdir(workdir, { recursive: true });
  return startMargayNode({
    ns: nsName(prefix, n.name),
    workdir,
    nodeName: n.name,
    datastore: `file:${labPaths(ctx.dir).datastore}`,
    ip: `${n.ip}/24`,
    ...(n.ip6 !== undefined ? { ip6: `${n.ip6}/64` } : {}),
    env: {
      ...ctx.env,
      MARGAY_NO_DEFAULT_POOLS: 'true',
      MARGAY_METRICS_PORT: '0',
      MARGAY_NETWORKING_BACKEND: plan.options.mode === 'host-gw' ? 'none' : 'bgp',
      ...(plan.options.mode === 'ebgp' ? { AS: String(n.asn) } : {}),
    },
  });
}

/**
 * The plugin looks for its node's agent at /run/margay/cni-<inode of its netns>.sock. Lab agents keep
 * private run dirs (their other sockets share names), so the lab links that path to the socket in
 * the agent's run dir — recorded in state first, removed by down.
 */
async function linkCniSocket(state: LabState, a: NodeAgent, save: () => Promise<void>): Promise<void> {
  const ino = (await stat(`/run/netns/${a.ns}`)).ino;
  const target = join(a.runDir, `cni-${ino}.sock`);
  await waitFor(`${a.nodeName}'s CNI socket ${target}`, async () => existsSync(target), 30_000, 100);
  if (!existsSync(CNI_DIR)) {
    state.madeCniDir = true;
    await save();
    await mkdir(CNI_DIR, { recursive: true, mode: 0o755 });
  }
  const link = join(CNI_DIR, `cni-${ino}.sock`);
  state.cniLinks.push(link);
  await save();
  // The agent places the same link itself when it can; a link left by an earlier lab whose netns
  // inode has been reused points elsewhere and is replaced.
  if ((await readlink(link).catch(() => undefined)) === target) return;
  await rm(link, { force: true });
  await symlink(target, link);
}

/**
 * Waits until the whole matrix is as the Kubernetes model says (pods ↔ pods and node → own pods
 * without NAT, pods → outside with NAT, TCP and UDP) and returns that matrix; undefined on timeout.
 * The report prints the matrix that converged, so a probe lost to a momentary stall of a loaded
 * machine after convergence cannot turn a working lab's RESULT into a failure.
 *
 * The cheap check first: every node's kernel routes every other node's pod addresses through a
 * gateway (read from /proc/<agent pid>/net/route, nothing spawned); only then the matrix (one
 * round costs pods² probes, which at 10 × 10 would load the machine more than the lab itself).
 */
async function converge(
  state: LabState,
  plan: LabPlan,
  timeoutMs: number,
  out: (text: string) => void,
): Promise<Matrix | undefined> {
  const agents = plan.nodes.map((n) => ({
    node: n.name,
    pid: state.processes.find((p) => p.name === `margay-node ${n.name}`)?.pid,
  }));
  const routed = async (): Promise<boolean> => {
    for (const a of agents) {
      if (a.pid === undefined) return true; // nothing to read: leave it to the matrix
      const routes = await routesOfPid(a.pid);
      for (const p of state.pods) {
        const ip = p.ips.find((x) => x.includes('.'));
        if (p.node !== a.node && ip !== undefined && lookup(routes, ip)?.gateway === undefined) return false;
      }
    }
    return true;
  };
  const deadline = Date.now() + timeoutMs;
  try {
    if (state.pods.length > 1) await waitFor('every node to route every other node’s pods', routed, timeoutMs, 50);
    // A full round, then only the cells that were not as expected until they all are, then a full
    // round again: at 10 × 10 a full round is ≈ 22 000 probes, and repeating it back to back while
    // a few cells are still missing would load the machine more than the lab itself.
    let pending: Set<string> | undefined;
    let why = '';
    for (;;) {
      const only = pending;
      let bad: MatrixCell[] | undefined;
      try {
        const m = await matrixFor(state, plan, {
          timeoutMs: 1500,
          ...(only ? { pick: (src: ProbeEndpoint, dst: ProbeEndpoint) => only.has(`${src.label}\n${dst.label}`) } : {}),
        });
        bad = m.cells.filter((c) => !cellAsExpected(m, c));
        if (only === undefined && bad.length === 0) return m;
        pending = bad.length > 0 ? new Set(bad.map((c) => `${c.from}\n${c.to}`)) : undefined;
        why = `${bad.length} cell(s) still not`;
      } catch (err) {
        // A labnet that did not answer in time (a stalled moment): the next round asks again.
        if (!(err instanceof LabProcessError)) throw err;
        why = `last error: ${err.message}`;
      }
      if (Date.now() >= deadline)
        throw new LabTimeoutError(
          `timed out after ${timeoutMs} ms waiting for the matrix to be as the Kubernetes network model says (${why})`,
        );
      if (bad === undefined || pending !== undefined) await sleep(200);
    }
  } catch (err) {
    if (!(err instanceof LabTimeoutError)) throw err;
    out(err.message);
    return undefined;
  }
}

async function report(ctx: LabContext, state: LabState, plan: LabPlan, matrix?: Matrix): Promise<UpResult> {
  const r = await labReport(ctx, state, plan, matrix);
  ctx.out(section(`lab ${state.name}`));
  ctx.out(r.text);
  return { state, matrix: r.matrix, ok: r.ok };
}

function ms(start: number): string {
  return `${((performance.now() - start) / 1000).toFixed(1)} s`;
}
