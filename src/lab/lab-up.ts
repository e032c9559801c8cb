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
import { applyManifests, openDatastore, type Datastore } from '../datastore/index.js';
import { LabProcessError, LabStateError, LabTimeoutError } from './errors.js';
import { lookup, routesOfPid } from './kernel-routes.js';
import { CNI_DIR, labPaths, section, type LabContext } from './lab-context.js';
import { labDown } from './lab-down.js';
import { planLab, validateOptions, type LabNode, type LabOptions, type LabPlan, type LabPod } from './lab-plan.js';
import { createPod } from './lab-pods.js';
import { askAgentHttp, startLabnet } from './labnet.js';
import { labReport, matrixFor } from './lab-report.js';
import { lockLab, readState, writeState, type LabState } from './lab-state.js';
import { startMargayNode, type NodeAgent } from './margay-processes.js';
import { isRunning, toRecord } from './processes.js';
import type { Matrix, ProbeEndpoint } from './probe.js';
import { startTor } from './tor.js';
import { upTopology } from './topology.js';
import { nsName } from './topology-spec.js';
import { waitFor } from './wait.js';

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
        store = await openDatastore(`file:${paths.datastore}`, { log: ctx.log });
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
    ctx.out(`lab ${options.name}: ${converged ? 'every pod reaches every pod' : 'NOT converged'} after ${ms(started)}`);
    return await report(ctx, state, plan);
  } catch (err) {
    state.phase = 'failed';
    await save();
    throw err;
  } finally {
    await store?.close();
  }
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
 * Waits until every pod reaches every other pod (TCP and UDP, no NAT); false on timeout. The cheap
 * check first: every node's kernel routes every other node's pod addresses through a gateway
 * (read from /proc/<agent pid>/net/route, nothing spawned); only then the matrix (one round costs
 * pods² probes, which at 10 × 10 would load the machine more than the lab itself).
 */
async function converge(
  state: LabState,
  plan: LabPlan,
  timeoutMs: number,
  out: (text: string) => void,
): Promise<boolean> {
  if (state.pods.length < 2) return true;
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
    await waitFor('every node to route every other node’s pods', routed, timeoutMs, 50);
    // Big labs: sampled rounds first (each pod to one pod on every node, a different one each
    // round), then full rounds; a round is pods × nodes probes instead of pods².
    const sample = state.pods.length > SAMPLE_ABOVE_PODS;
    let round = 0;
    await waitFor(
      'every pod to reach every other pod',
      async () => {
        const pick = sample && round >= 0 ? samplePick(state, round++) : undefined;
        const m = await matrixFor(state, plan, { podsOnly: true, timeoutMs: 1500, ...(pick ? { pick } : {}) });
        const ok = m.cells.every((c) => c.verdict === 'ok' || c.verdict === 'self');
        if (!ok || pick === undefined) return ok;
        round = -1; // the sample is all ok: from now on the full matrix
        return false;
      },
      Math.max(1000, deadline - Date.now()),
      200,
    );
    return true;
  } catch (err) {
    if (!(err instanceof LabTimeoutError)) throw err;
    out(err.message);
    return false;
  }
}

/** Above this many pods the convergence wait samples pairs before it probes every pair. */
const SAMPLE_ABOVE_PODS = 16;

/** Round `round`'s sample: each pod to the ((its index + round) mod n)-th pod of every node. */
function samplePick(state: LabState, round: number): (src: ProbeEndpoint, dst: ProbeEndpoint) => boolean {
  const byNode = new Map<string, string[]>();
  for (const p of state.pods) byNode.set(p.node, [...(byNode.get(p.node) ?? []), p.name]);
  const index = new Map(state.pods.map((p, i) => [p.name, i]));
  const chosen = new Set<string>();
  for (const p of state.pods) {
    const i = index.get(p.name)!;
    for (const names of byNode.values()) {
      const others = names.filter((n) => n !== p.name);
      if (others.length > 0) chosen.add(`${p.name}\n${others[(i + round) % others.length]!}`);
    }
  }
  return (src, dst) => chosen.has(`${src.label}\n${dst.label}`);
}

async function report(ctx: LabContext, state: LabState, plan: LabPlan): Promise<UpResult> {
  const { text, matrix, ok } = await labReport(ctx, state, plan);
  ctx.out(section(`lab ${state.name}`));
  ctx.out(text);
  return { state, matrix, ok };
}

function ms(start: number): string {
  return `${((performance.now() - start) / 1000).toFixed(1)} s`;
}
