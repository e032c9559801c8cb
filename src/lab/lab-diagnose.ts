/**
 * When the matrix is not as expected: for each pod whose cells fail, what the kernel and the node's
 * agent say about it, read from the real system — so one failure in CI names its cause.
 *
 *  - host side (the pod's node): the route to the pod, its veth (state, counters), `ip neigh` on the
 *    veth, the veth's proxy_arp / forwarding sysctls;
 *  - pod side: eth0 (state, counters), addresses, routes, neighbours;
 *  - the node's iptables rules that name the veth (with packet counters: `iptables-save -c`), and
 *    the built-in chains' hooks into Margay's chains;
 *  - the last warn/error lines (pino level >= 40) of the node's margay-node log.
 */
import type { CommandRunner } from '../kernel/index.js';
import type { LabPodState, LabState } from './lab-state.js';
import type { Matrix } from './probe.js';
import { logTail } from './processes.js';
import { nsName } from './topology-spec.js';

/** Pods that appear in a cell that is not as expected (as source or destination), in most such cells first. */
export function failingPods(m: Matrix, isBad: (from: string, to: string) => boolean): { pod: string; cells: number }[] {
  const count = new Map<string, number>();
  const pods = new Set([...m.sources, ...m.destinations].filter((e) => e.kind === 'pod').map((e) => e.label));
  for (const c of m.cells) {
    if (!isBad(c.from, c.to)) continue;
    for (const p of [c.from, c.to]) if (pods.has(p)) count.set(p, (count.get(p) ?? 0) + 1);
  }
  return [...count.entries()].sort((a, b) => b[1] - a[1]).map(([pod, cells]) => ({ pod, cells }));
}

/** The last `max` lines of a pino JSON log with level >= 40 (warn, error, fatal), as they are. */
export function warnLines(log: string, max: number): string[] {
  const out: string[] = [];
  for (const line of log.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const level = (JSON.parse(line) as { level?: unknown }).level;
      if (typeof level === 'number' && level >= 40) out.push(line.length > 600 ? `${line.slice(0, 600)}…` : line);
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err; // a line cut by the tail: not a log record
    }
  }
  return out.slice(-max);
}

/**
 * `iptables-save -c` lines that name `iface`, the workload dispatch chains (which interfaces the agent
 * has programmed), and the built-in chains' policies and Margay hooks.
 */
export function iptablesLinesFor(save: string, iface: string): string[] {
  const suffix = iface.replace(/^mgy/, '');
  return save
    .split('\n')
    .filter(
      (l) =>
        l.startsWith('*') ||
        /-A mgy-(from|to)-wl-dispatch /.test(l) ||
        l.includes(iface) ||
        (suffix.length >= 6 && l.includes(suffix)) ||
        /^\[\d+:\d+\] -A (INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) .*-j mgy-/.test(l) ||
        /^:(INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) /.test(l),
    );
}

async function run(runner: CommandRunner, argv: string[], netns: string): Promise<string> {
  const r = await runner.run(argv, { allowFailure: true, netns });
  const text = (
    r.exitCode === 0 ? r.stdout : `(${argv.join(' ')}: exit ${r.exitCode}: ${(r.stderr || r.stdout).trim()})`
  ).trimEnd();
  return text === '' ? '(empty)' : text;
}

const indent = (title: string, text: string): string[] => [`  ${title}:`, ...text.split('\n').map((l) => `    ${l}`)];

/** The diagnosis of one pod (see the module comment). */
export async function diagnosePod(runner: CommandRunner, state: LabState, pod: LabPodState): Promise<string> {
  const nodeNs = nsName(state.prefix, pod.node);
  const ip = pod.ips.find((a) => a.includes('.')) ?? pod.ips[0];
  const out: string[] = [`${pod.name} (${pod.ips.join(', ') || 'no address'}) on ${pod.node}, netns ${pod.netns}:`];
  // Host side: the route names the veth.
  let iface: string | undefined;
  if (ip !== undefined) {
    const route = await run(runner, ['ip', '-d', 'route', 'show', 'match', ip], nodeNs);
    out.push(...indent(`host: routes matching ${ip}`, route));
    iface = new RegExp(`^(?:unicast )?${ip.replaceAll('.', '\\.')} dev (\\S+)`, 'm').exec(route)?.[1];
  }
  if (iface !== undefined) {
    out.push(
      ...indent(`host: link ${iface}`, await run(runner, ['ip', '-s', '-d', 'link', 'show', 'dev', iface], nodeNs)),
    );
    out.push(
      ...indent(`host: ip neigh dev ${iface}`, await run(runner, ['ip', 'neigh', 'show', 'dev', iface], nodeNs)),
    );
    out.push(
      ...indent(
        'host: sysctls',
        await run(
          runner,
          [
            'sysctl',
            `net.ipv4.conf.${iface}.proxy_arp`,
            `net.ipv4.neigh.${iface}.proxy_delay`,
            `net.ipv4.conf.${iface}.forwarding`,
            `net.ipv4.conf.${iface}.rp_filter`,
            'net.ipv4.ip_forward',
          ],
          nodeNs,
        ),
      ),
    );
    const save = await run(runner, ['iptables-save', '-c'], nodeNs);
    out.push(
      ...indent(
        `host: iptables-save -c (lines for ${iface}, built-in hooks)`,
        iptablesLinesFor(save, iface).join('\n'),
      ),
    );
  } else {
    out.push(`  host: no route to ${ip ?? 'the pod'} names a device: the veth is unknown`);
  }
  // Pod side.
  out.push(...indent('pod: ip -s link', await run(runner, ['ip', '-s', '-d', 'link', 'show'], pod.netns)));
  out.push(...indent('pod: ip addr', await run(runner, ['ip', '-br', 'addr', 'show'], pod.netns)));
  out.push(...indent('pod: ip route', await run(runner, ['ip', 'route', 'show'], pod.netns)));
  out.push(...indent('pod: ip neigh', await run(runner, ['ip', 'neigh', 'show'], pod.netns)));
  // The node's agent.
  const agent = state.processes.find((p) => p.name === `margay-node ${pod.node}`);
  if (agent?.logFile !== undefined) {
    const lines = warnLines(await logTail(agent.logFile, 1 << 20).catch((err: Error) => `(${err.message})`), 15);
    out.push(...indent(`margay-node ${pod.node} log: last warn/error lines`, lines.join('\n') || '(none)'));
  }
  return out.join('\n');
}

/** Diagnoses up to `max` failing pods (the ones in most failing cells first). */
export async function diagnoseMatrix(
  runner: CommandRunner,
  state: LabState,
  m: Matrix,
  isBad: (from: string, to: string) => boolean,
  max = 4,
): Promise<string> {
  // A pod broken in every direction puts its peers into failing cells too: diagnose the pods in at
  // least half as many failing cells as the worst one, name the rest.
  const counts = failingPods(m, isBad);
  const names = counts.filter((c) => c.cells * 2 >= (counts[0]?.cells ?? 0)).map((c) => c.pod);
  const others = counts.filter((c) => !names.includes(c.pod)).map((c) => c.pod);
  if (names.length === 0) return '(no pod in a failing cell: the failures are nodes or the outside)';
  const parts: string[] = [];
  for (const name of names.slice(0, max)) {
    const pod = state.pods.find((p) => p.name === name);
    if (pod) parts.push(await diagnosePod(runner, state, pod));
  }
  const rest = [...names.slice(max), ...others];
  if (rest.length > 0) parts.push(`(also in failing cells, not diagnosed: ${rest.join(', ')})`);
  return parts.join('\n');
}
