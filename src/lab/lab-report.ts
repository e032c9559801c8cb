/**
 * What `lab up`, `status` and `probe` print, read from the real system each time: the ToR's own
 * session table, each node's established BGP connections (ss), the pod routes in every kernel, the
 * pods with the addresses CNI ADD gave them, and the reachability matrix.
 */
import type { CommandResult } from '../kernel/index.js';
import { labPaths, section, type LabContext } from './lab-context.js';
import { OUTSIDE_IP, type LabPlan } from './lab-plan.js';
import type { LabState } from './lab-state.js';
import { diagnoseMatrix } from './lab-diagnose.js';
import { formatMatrix, runMatrix, type Matrix, type MatrixCell, type ProbeEndpoint } from './probe.js';
import { torSessionsCommand } from './tor.js';
import { nsName } from './topology-spec.js';

/** Sources and destinations of the matrix: pods (and nodes as sources, the outside as destination). */
export function endpoints(
  state: LabState,
  plan: LabPlan,
  dir: string,
  podsOnly: boolean,
): { sources: ProbeEndpoint[]; destinations: ProbeEndpoint[] } {
  const sock = labPaths(dir).agentSocket;
  const pods: ProbeEndpoint[] = state.pods
    .filter((p) => p.ips.length > 0)
    .map((p) => ({
      label: p.name,
      kind: 'pod',
      node: p.node,
      ips: p.ips,
      agent: { socket: sock(p.node), label: p.name },
    }));
  if (podsOnly) return { sources: pods, destinations: pods };
  const nodes: ProbeEndpoint[] = plan.nodes.map((n) => ({
    label: n.name,
    kind: 'node',
    node: n.name,
    ips: [n.ip, ...(n.ip6 ? [n.ip6] : [])],
    agent: { socket: sock(n.name), label: n.name },
  }));
  // The outside is probed over IPv4 only: the IPv6 pool has no NAT-outgoing and the outside has no
  // route to pod addresses, so IPv6 to it fails by design.
  const outside: ProbeEndpoint = {
    label: 'outside',
    kind: 'outside',
    ips: [OUTSIDE_IP],
    agent: { socket: sock('outside'), label: 'outside' },
  };
  return { sources: [...pods, ...nodes], destinations: [...pods, outside] };
}

export async function matrixFor(
  state: LabState,
  plan: LabPlan,
  opts: {
    readonly podsOnly?: boolean;
    readonly timeoutMs?: number;
    readonly pick?: (src: ProbeEndpoint, dst: ProbeEndpoint) => boolean;
  } = {},
): Promise<Matrix> {
  const { sources, destinations } = endpoints(state, plan, state.dir, opts.podsOnly ?? false);
  return runMatrix(sources, destinations, {
    families: plan.options.dualStack ? [4, 6] : [4],
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    ...(opts.pick !== undefined ? { pick: opts.pick } : {}),
  });
}

/** True when the matrix is as the Kubernetes network model says: pods ↔ pods and node → own pods without NAT, pods → outside with NAT. */
export function matrixAsExpected(m: Matrix): boolean {
  return m.cells.every((c) => cellAsExpected(m, c));
}

/** One cell of matrixAsExpected. */
export function cellAsExpected(m: Matrix, c: MatrixCell): boolean {
  if (c.verdict === 'self') return true;
  const src = m.sources.find((s) => s.label === c.from)!;
  const dst = m.destinations.find((d) => d.label === c.to)!;
  if (dst.kind === 'outside') return src.kind === 'pod' ? c.verdict === 'nat' : c.verdict === 'ok';
  if (src.kind === 'node') return dst.node !== src.node || c.verdict === 'ok';
  return c.verdict === 'ok';
}

async function tryRun(ctx: LabContext, argv: string[], netns?: string): Promise<string> {
  const r: CommandResult = await ctx.runner.run(argv, {
    allowFailure: true,
    ...(netns !== undefined ? { netns } : {}),
  });
  return r.exitCode === 0 ? r.stdout.trimEnd() : `(${argv[0]} failed: ${(r.stderr || r.stdout).trim()})`;
}

export async function sessionsText(ctx: LabContext, state: LabState, plan: LabPlan): Promise<string> {
  // Read in parallel (one process each; at 10 nodes one after another costs seconds on a loaded machine).
  const [tor, ...perNode] = await Promise.all([
    tryRun(ctx, torSessionsCommand(plan.options.tor, labPaths(ctx.dir).tor)),
    ...plan.nodes.map((n) =>
      tryRun(
        ctx,
        ['ss', '-Htn', 'state', 'established', '( sport = :179 or dport = :179 )'],
        nsName(state.prefix, n.name),
      ),
    ),
  ]);
  const lines = [`ToR (${plan.options.tor}, AS ${plan.tor.asn}):`, tor!];
  if (plan.options.mode === 'host-gw') lines.push('(BGP off: host-gw mode; routes come from block affinities)');
  plan.nodes.forEach((n, i) => {
    const peers = perNode[i]!.split('\n')
      .filter(Boolean)
      .map((l) => l.trim().split(/\s+/).slice(-2).join(' -> '));
    lines.push(
      `${n.name} (AS ${n.asn}${n.routeReflector ? ', route reflector' : ''}): ${peers.length} BGP connection(s) established${peers.length ? `: ${peers.join(', ')}` : ''}`,
    );
  });
  return lines.join('\n');
}

export async function routesText(ctx: LabContext, state: LabState, plan: LabPlan): Promise<string> {
  const names = ['tor', ...plan.nodes.map((n) => n.name)];
  const per = await Promise.all(
    names.map(async (name) => {
      const ns = nsName(state.prefix, name);
      const [v4, v6] = await Promise.all([
        tryRun(ctx, ['ip', '-4', 'route', 'show', 'root', '10.244.0.0/16'], ns),
        plan.options.dualStack ? tryRun(ctx, ['ip', '-6', 'route', 'show', 'root', 'fd00:244::/48'], ns) : '',
      ]);
      const routes = [...v4.split('\n'), ...v6.split('\n')].filter(Boolean);
      return [`${name}:${routes.length ? '' : ' (no pod routes)'}`, ...routes.map((r) => `  ${r}`)];
    }),
  );
  return per.flat().join('\n');
}

/**
 * The report. `measured`: a full matrix probed moments ago (the one `up` converged on) is printed
 * as it is; without it the matrix is probed now.
 */
export async function labReport(
  ctx: LabContext,
  state: LabState,
  plan: LabPlan,
  measured?: Matrix,
): Promise<{ text: string; matrix: Matrix | undefined; ok: boolean }> {
  const nodes = plan.nodes.map(
    (n) =>
      `${n.name.padEnd(9)} ns ${nsName(state.prefix, n.name).padEnd(22)} ${n.ip}${n.ip6 ? ` ${n.ip6}` : ''}  AS ${n.asn}${n.routeReflector ? '  route reflector' : ''}`,
  );
  const pods = state.pods.map(
    (p) =>
      `${`${p.namespace}/${p.name}`.padEnd(16)} on ${p.node.padEnd(8)} ${p.ips.join(', ') || '(no address: CNI ADD did not finish)'}`,
  );
  let matrix: Matrix | undefined;
  let matrixText: string;
  try {
    matrix = measured ?? (await matrixFor(state, plan));
    matrixText = formatMatrix(matrix);
  } catch (err) {
    matrixText = `(probe failed: ${(err as Error).message})`;
  }
  const ok = matrix !== undefined && matrixAsExpected(matrix);
  let diagnosis: string[] = [];
  if (matrix !== undefined && !ok) {
    const m = matrix;
    const bad = new Set(m.cells.filter((c) => !cellAsExpected(m, c)).map((c) => `${c.from}\n${c.to}`));
    diagnosis = [
      section('diagnosis: pods in failing cells'),
      await diagnoseMatrix(ctx.runner, state, m, (from, to) => bad.has(`${from}\n${to}`)),
    ];
  }
  const [sessions, routes] = await Promise.all([sessionsText(ctx, state, plan), routesText(ctx, state, plan)]);
  const text = [
    `mode ${plan.options.mode}, ToR ${plan.options.tor}, ${plan.options.dualStack ? 'dual stack' : 'IPv4'}; lab dir ${state.dir}`,
    ...nodes,
    section('BGP sessions'),
    sessions,
    section('pod routes in each kernel'),
    routes,
    section('pods'),
    ...(pods.length ? pods : ['(none)']),
    section('reachability (TCP+UDP, real sockets)'),
    matrixText,
    ...diagnosis,
    '',
    ok ? 'RESULT: the matrix is as the Kubernetes network model says' : 'RESULT: the matrix is NOT as expected',
  ].join('\n');
  return { text, matrix, ok };
}
