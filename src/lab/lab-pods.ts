/**
 * Pods, made exactly as a container runtime and kubelet make them: the Pod object is written to the
 * datastore first (name, namespace, labels, spec.nodeName), then the runtime creates the sandbox's
 * network namespace and execs the CNI plugin binary in the node's namespace with CNI_COMMAND=ADD,
 * the CNI_* environment and the network config on stdin; removal runs DEL, then deletes the
 * namespace and the object. Each pod's namespace is served by its node's labnet (labnet.ts): registered
 * before ADD (it listens on the wildcard address), deregistered before DEL.
 */
import { execa } from 'execa';
import { applyManifests, type Datastore } from '../datastore/index.js';
import { LabProcessError } from './errors.js';
import { cniPlugin, labPaths, netconf, type LabContext } from './lab-context.js';
import type { LabPod } from './lab-plan.js';
import type { LabPodState, LabState } from './lab-state.js';
import { labnetAdd, labnetDel, labnetName, startLabnet } from './labnet.js';
import { nsName } from './topology-spec.js';

export interface CniRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Execs the CNI plugin inside the node's namespace, as the node's container runtime would. */
export async function runCni(
  ctx: LabContext,
  nodeNs: string,
  command: 'ADD' | 'DEL' | 'CHECK',
  pod: LabPodState,
  dualStack: boolean,
): Promise<CniRun> {
  const plugin = cniPlugin();
  const env = {
    PATH: ctx.env.PATH ?? '/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: command,
    CNI_CONTAINERID: pod.containerId,
    CNI_NETNS: `/run/netns/${pod.netns}`,
    CNI_IFNAME: 'eth0',
    CNI_PATH: `${plugin.dir}:/usr/lib/cni:/opt/cni/bin`,
    CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${pod.namespace};K8S_POD_NAME=${pod.name};K8S_POD_INFRA_CONTAINER_ID=${pod.containerId}`,
  };
  const r = await execa('ip', ['netns', 'exec', nodeNs, ...plugin.argv], {
    env,
    extendEnv: false,
    input: JSON.stringify(netconf(dualStack)),
    reject: false,
    timeout: 60_000,
  });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** The addresses (without prefix length) of a CNI ADD result. */
export function resultIps(stdout: string): string[] {
  const r = JSON.parse(stdout) as { ips?: { address?: string }[] };
  return (r.ips ?? []).map((i) => String(i.address ?? '').split('/')[0]!).filter((a) => a !== '');
}

export function podObject(p: Pick<LabPod, 'name' | 'namespace' | 'node'>): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: p.name, namespace: p.namespace, labels: { app: 'lab', pod: p.name, node: p.node } },
    spec: { nodeName: p.node },
  };
}

/**
 * Creates one pod: object, namespace (journaled first), registered with its node's labnet (started
 * first if that node has none yet, e.g. a node a test added), then CNI ADD. Throws with the
 * plugin's answer when ADD fails (the namespace stays journaled for `down`).
 */
export async function createPod(
  ctx: LabContext,
  state: LabState,
  store: Datastore,
  pod: LabPod,
  save: () => Promise<void>,
): Promise<LabPodState> {
  await applyManifests(store, [podObject(pod)]);
  const netns = nsName(state.prefix, pod.netnsNode);
  state.entries.push({ kind: 'netns', name: netns });
  await save();
  await ctx.runner.run(['ip', 'netns', 'add', netns]);
  await ctx.runner.run(['ip', '-n', netns, 'link', 'set', 'lo', 'up']);
  const ps: LabPodState = {
    name: pod.name,
    namespace: pod.namespace,
    node: pod.node,
    containerId: pod.containerId,
    netns,
    ips: [],
  };
  state.pods.push(ps);
  await save();
  await ensureLabnet(ctx, state, pod.node, save);
  await labnetAdd(labPaths(ctx.dir).agentSocket(pod.node), pod.name, `/run/netns/${netns}`);
  const r = await runCni(ctx, nsName(state.prefix, pod.node), 'ADD', ps, state.options.dualStack);
  if (r.code !== 0) {
    throw new LabProcessError(
      `CNI ADD ${pod.namespace}/${pod.name}`,
      `the plugin exited ${r.code}: ${r.stdout.trim() || r.stderr.trim()}`,
    );
  }
  const ips = resultIps(r.stdout);
  if (ips.length === 0)
    throw new LabProcessError(
      `CNI ADD ${pod.namespace}/${pod.name}`,
      `the result has no addresses: ${r.stdout.trim()}`,
    );
  const done: LabPodState = { ...ps, ips };
  state.pods[state.pods.indexOf(ps)] = done;
  await save();
  return done;
}

/** Removes one pod the way the runtime does: DEL, namespace, then the API object. */
export async function deletePod(
  ctx: LabContext,
  state: LabState,
  store: Datastore,
  pod: LabPodState,
  save: () => Promise<void>,
): Promise<void> {
  if (state.processes.some((p) => p.name === labnetName(pod.node)))
    await labnetDel(labPaths(ctx.dir).agentSocket(pod.node), pod.name);
  const r = await runCni(ctx, nsName(state.prefix, pod.node), 'DEL', pod, state.options.dualStack);
  if (r.code !== 0)
    throw new LabProcessError(
      `CNI DEL ${pod.namespace}/${pod.name}`,
      `the plugin exited ${r.code}: ${r.stdout.trim() || r.stderr.trim()}`,
    );
  await ctx.runner.run(['ip', 'netns', 'del', pod.netns], { allowFailure: true });
  await store.delete('Pod', pod.name, pod.namespace).catch((err: unknown) => {
    ctx.log.warn({ err, pod: pod.name }, 'pod object already gone');
  });
  state.pods = state.pods.filter((p) => p !== pod);
  state.entries = state.entries.filter((e) => e.name !== pod.netns);
  await save();
}

/** Node names whose labnet is starting or started by this process (a node's pods share one). */
const starting = new Map<string, Promise<unknown>>();

/** Starts `node`'s labnet unless the lab state already has one. */
export async function ensureLabnet(
  ctx: LabContext,
  state: LabState,
  node: string,
  save: () => Promise<void>,
): Promise<void> {
  if (state.processes.some((p) => p.name === labnetName(node))) return;
  const key = `${state.prefix}/${node}`;
  let p = starting.get(key);
  if (p === undefined) {
    p = startLabnet(ctx, state, node, nsName(state.prefix, node), save).finally(() => starting.delete(key));
    starting.set(key, p);
  }
  await p;
}
