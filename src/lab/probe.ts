/**
 * The reachability matrix: every source (pods, nodes) asks its labnet (labnet.ts) to reach every destination
 * (pods, the outside) over TCP and UDP with real sockets; the destination answers with the address it
 * saw. A cell says whether both protocols got through and whether the source address survived (no
 * NAT) or was translated (NAT-outgoing: the outside sees the node's address).
 */
import { askAgent, type AgentRef, type ProbeResult, type ProbeTarget } from './labnet.js';

export interface ProbeEndpoint {
  readonly label: string;
  readonly kind: 'pod' | 'node' | 'outside';
  /** The node a pod runs on (its own name for a node). */
  readonly node?: string;
  readonly ips: readonly string[];
  /** Where its probes start: the labnet serving its namespace, and its label there. */
  readonly agent: AgentRef;
}

export type CellVerdict = 'ok' | 'nat' | 'fail' | 'partial' | 'self';

export interface MatrixCell {
  readonly from: string;
  readonly to: string;
  readonly verdict: CellVerdict;
  readonly results: readonly ProbeResult[];
}

export interface Matrix {
  readonly sources: readonly ProbeEndpoint[];
  readonly destinations: readonly ProbeEndpoint[];
  readonly cells: readonly MatrixCell[];
}

/** Judges one source→destination cell from its probe results (pure). */
export function verdict(src: ProbeEndpoint, results: readonly ProbeResult[]): CellVerdict {
  if (results.length === 0) return 'fail';
  const reached = results.filter((r) => r.ok);
  if (reached.length === 0) return 'fail';
  if (reached.length < results.length) return 'partial';
  return reached.every((r) => r.seen !== undefined && src.ips.includes(r.seen)) ? 'ok' : 'nat';
}

export async function runMatrix(
  sources: readonly ProbeEndpoint[],
  destinations: readonly ProbeEndpoint[],
  opts: {
    readonly timeoutMs?: number;
    readonly families?: readonly (4 | 6)[];
    /** Probe only these pairs (a sample); cells of the others are left out. Default: every pair. */
    readonly pick?: (src: ProbeEndpoint, dst: ProbeEndpoint) => boolean;
    /** Probes that failed are asked again this many times, with twice the timeout (default 1). */
    readonly retries?: number;
  } = {},
): Promise<Matrix> {
  const pick = opts.pick ?? (() => true);
  const timeoutMs = opts.timeoutMs ?? 1500;
  const families = opts.families ?? [4];
  const fam = (ip: string): 4 | 6 => (ip.includes(':') ? 6 : 4);
  const perSource = await Promise.all(
    sources.map(async (src) => {
      const targets: ProbeTarget[] = [];
      for (const dst of destinations) {
        if (dst.label === src.label || !pick(src, dst)) continue;
        for (const ip of dst.ips)
          if (families.includes(fam(ip))) for (const proto of ['tcp', 'udp'] as const) targets.push({ ip, proto });
      }
      return askWithRetries(src.agent, targets, timeoutMs, opts.retries ?? 1);
    }),
  );
  const cells: MatrixCell[] = [];
  sources.forEach((src, i) => {
    const results = perSource[i]!;
    for (const dst of destinations) {
      if (dst.label === src.label) {
        cells.push({ from: src.label, to: dst.label, verdict: 'self', results: [] });
        continue;
      }
      if (!pick(src, dst)) continue;
      const mine = results.filter((r) => dst.ips.includes(r.ip));
      cells.push({ from: src.label, to: dst.label, verdict: verdict(src, mine), results: mine });
    }
  });
  return { sources, destinations, cells };
}

/**
 * Probes `targets`, then asks again for those that failed (`retries` times, each with twice the
 * timeout): on a machine loaded far past its cores a source or destination process can stall past
 * one timeout, and one lost answer is not unreachability. A real failure fails every time; its
 * result is the last attempt's.
 */
export async function askWithRetries(
  agent: AgentRef,
  targets: readonly ProbeTarget[],
  timeoutMs: number,
  retries: number,
  ask: typeof askAgent = askAgent,
): Promise<ProbeResult[]> {
  const results = await ask(agent, targets, timeoutMs);
  for (let i = 0; i < retries; i++) {
    const failed = results.flatMap((r, idx) => (r.ok ? [] : [idx]));
    if (failed.length === 0) break;
    const again = await ask(
      agent,
      failed.map((idx) => targets[idx]!),
      timeoutMs * 2,
    );
    failed.forEach((idx, j) => {
      results[idx] = again[j]!;
    });
  }
  return results;
}

const MARK: Readonly<Record<CellVerdict, string>> = { ok: 'ok', nat: 'NAT', fail: 'XX', partial: 'part', self: '-' };

/** The matrix as a table: rows are sources, columns destinations. */
export function formatMatrix(m: Matrix): string {
  const w = Math.max(8, ...m.sources.map((s) => s.label.length));
  const cw = Math.max(5, ...m.destinations.map((d) => d.label.length));
  const head = `${'from \\ to'.padEnd(w)} ${m.destinations.map((d) => d.label.padStart(cw)).join(' ')}`;
  const byPair = new Map(m.cells.map((c) => [`${c.from}\n${c.to}`, c.verdict]));
  const rows = m.sources.map((s) => {
    const cells = m.destinations.map((d) => MARK[byPair.get(`${s.label}\n${d.label}`) ?? 'fail'].padStart(cw));
    return `${s.label.padEnd(w)} ${cells.join(' ')}`;
  });
  const failed = m.cells.filter((c) => c.verdict === 'fail' || c.verdict === 'partial');
  const detail = failed.slice(0, 10).map(
    (c) =>
      `  ${c.from} -> ${c.to}: ${c.results
        .filter((r) => !r.ok)
        .map((r) => `${r.proto} ${r.ip} ${r.error ?? ''}`)
        .join(', ')}`,
  );
  return [
    head,
    ...rows,
    "ok: TCP and UDP reached, the receiver saw the sender's own address (no NAT); NAT: reached, source translated; XX: unreachable",
    ...(failed.length > 0 ? [`${failed.length} cell(s) failing:`, ...detail] : []),
  ].join('\n');
}
