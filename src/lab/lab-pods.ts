/**
 * Pods, made exactly as a container runtime and kubelet make them: the Pod object is written to the
 * datastore first (name, namespace, labels, spec.nodeName), then the runtime creates the sandbox's
 * network namespace and execs the CNI plugin binary in the node's namespace with CNI_COMMAND=ADD,
 * the CNI_* environment and the network config on stdin; removal runs DEL, then deletes the
 * namespace and the object. Each pod runs a pod-agent (probe.ts) in its namespace, started alongside ADD.
 */
import { mkdir } from 'node:fs/promises';
import { execa } from 'execa';
import { applyManifests, type Datastore } from '../datastore/index.js';
import { LabProcessError } from './errors.js';
import { cniPlugin, labPaths, netconf, podAgentScript, type LabContext } from './lab-context.js';
import type { LabPod } from './lab-plan.js';
import type { LabPodState, LabState } from './lab-state.js';
import { canConnect } from './margay-processes.js';
import { spawnDaemon, stopProcess, toRecord, type ProcessRecord } from './processes.js';
import { nsName } from './topology-spec.js';
import { waitFor } from './wait.js';

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

/** Starts the pod-agent in `ns` and waits for its control socket; the record goes to state at once. */
export async function startPodAgent(
  ctx: LabContext,
  state: LabState,
  label: string,
  ns: string,
  save: () => Promise<void>,
): Promise<ProcessRecord> {
  const socket = labPaths(ctx.dir).agentSocket(label);
  await mkdir(labPaths(ctx.dir).agents, { recursive: true });
  const proc = await spawnDaemon({
    name: `pod-agent ${label}`,
    file: `agent-${label}`,
    ns,
    workdir: labPaths(ctx.dir).agents,
    argv: [process.execPath, '--max-old-space-size=32', podAgentScript(), '--control', socket],
    env: ctx.env,
  });
  const rec = toRecord(proc);
  state.processes.push(rec);
  await save();
  await waitFor(
    `pod-agent ${label} control socket`,
    async () => {
      if (proc.hasExited()) throw new LabProcessError(`pod-agent ${label}`, 'exited during start');
      return canConnect(socket);
    },
    20_000,
    50,
  );
  return rec;
}

/**
 * Creates one pod: object, namespace (journaled first), then CNI ADD and the pod-agent together. Throws with the
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
  // The pod-agent listens on the wildcard address, so it starts alongside ADD (its node process
  // start-up is not on the pod's critical path); it is in state at once either way.
  const agent = startPodAgent(ctx, state, pod.name, netns, save);
  agent.catch(() => undefined); // awaited below; keep a failure while ADD runs from being unhandled
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
  await agent;
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
  const agent = state.processes.find((p) => p.name === `pod-agent ${pod.name}`);
  if (agent) {
    await stopProcess(agent);
    state.processes = state.processes.filter((p) => p !== agent);
    await save();
  }
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
