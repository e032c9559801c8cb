/**
 * The reachability matrix: every source (pods, nodes) asks its pod-agent to reach every destination
 * (pods, the outside) over TCP and UDP with real sockets; the destination answers with the address it
 * saw. A cell says whether both protocols got through and whether the source address survived (no
 * NAT) or was translated (NAT-outgoing: the outside sees the node's address).
 */
import { connect } from 'node:net';
import { LabProcessError } from './errors.js';
import type { ProbeResult, ProbeTarget } from './pod-agent.js';

export interface ProbeEndpoint {
  readonly label: string;
  readonly kind: 'pod' | 'node' | 'outside';
  /** The node a pod runs on (its own name for a node). */
  readonly node?: string;
  readonly ips: readonly string[];
  /** The pod-agent's control socket (undefined: destination only, e.g. a pod with no agent). */
  readonly control: string;
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

/** Sends one request line to a pod-agent's control socket and reads its one-line answer. */
export function askAgent(socket: string, targets: readonly ProbeTarget[], timeoutMs: number): Promise<ProbeResult[]> {
  return new Promise((resolve, reject) => {
    const s = connect(socket);
    let buf = '';
    // The agent probes every target at once; a big fan-out on a loaded machine takes longer than
    // one probe's timeout, so the deadline grows with the number of targets.
    const deadline = timeoutMs + 5000 + 50 * targets.length;
    const timer = setTimeout(() => {
      s.destroy();
      reject(new LabProcessError('pod-agent', `${socket} did not answer within ${deadline} ms`));
    }, deadline);
    s.setEncoding('utf8');
    s.on('connect', () => s.write(`${JSON.stringify({ probe: targets, timeoutMs })}\n`));
    s.on('data', (d: string) => {
      buf += d;
    });
    s.on('end', () => {
      clearTimeout(timer);
      try {
        const r = JSON.parse(buf) as { results?: ProbeResult[]; error?: string };
        if (r.error !== undefined || !Array.isArray(r.results))
          reject(new LabProcessError('pod-agent', `${socket}: ${r.error ?? 'no results'}`));
        else resolve(r.results);
      } catch (err) {
        reject(
          new LabProcessError('pod-agent', `${socket} answered something that is not JSON: ${buf.slice(0, 200)}`, '', {
            cause: err,
          }),
        );
      }
    });
    s.on('error', (err) => {
      clearTimeout(timer);
      reject(new LabProcessError('pod-agent', `${socket}: ${err.message}`, '', { cause: err }));
    });
  });
}

/** GET 127.0.0.1:PORT/PATH inside a pod-agent's namespace, through its control socket: the HTTP status (0: failed). */
export function askAgentHttp(socket: string, port: number, path: string, timeoutMs = 1500): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = connect(socket);
    let buf = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new LabProcessError('pod-agent', `${socket} did not answer within ${timeoutMs + 5000} ms`));
    }, timeoutMs + 5000);
    s.setEncoding('utf8');
    s.on('connect', () => s.write(`${JSON.stringify({ http: { port, path }, timeoutMs })}\n`));
    s.on('data', (d: string) => {
      buf += d;
    });
    s.on('end', () => {
      clearTimeout(timer);
      try {
        const r = JSON.parse(buf) as { status?: number; error?: string };
        if (typeof r.status !== 'number')
          reject(new LabProcessError('pod-agent', `${socket}: ${r.error ?? 'no status'}`));
        else resolve(r.status);
      } catch (err) {
        reject(
          new LabProcessError('pod-agent', `${socket} answered something that is not JSON: ${buf.slice(0, 200)}`, '', {
            cause: err,
          }),
        );
      }
    });
    s.on('error', (err) => {
      clearTimeout(timer);
      reject(new LabProcessError('pod-agent', `${socket}: ${err.message}`, '', { cause: err }));
    });
  });
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
  opts: { readonly timeoutMs?: number; readonly families?: readonly (4 | 6)[] } = {},
): Promise<Matrix> {
  const timeoutMs = opts.timeoutMs ?? 1500;
  const families = opts.families ?? [4];
  const fam = (ip: string): 4 | 6 => (ip.includes(':') ? 6 : 4);
  const perSource = await Promise.all(
    sources.map(async (src) => {
      const targets: ProbeTarget[] = [];
      for (const dst of destinations) {
        if (dst.label === src.label) continue;
        for (const ip of dst.ips)
          if (families.includes(fam(ip))) for (const proto of ['tcp', 'udp'] as const) targets.push({ ip, proto });
      }
      return askAgent(src.control, targets, timeoutMs);
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
      const mine = results.filter((r) => dst.ips.includes(r.ip));
      cells.push({ from: src.label, to: dst.label, verdict: verdict(src, mine), results: mine });
    }
  });
  return { sources, destinations, cells };
}

const MARK: Readonly<Record<CellVerdict, string>> = { ok: 'ok', nat: 'NAT', fail: 'XX', partial: 'part', self: '-' };

/** The matrix as a table: rows are sources, columns destinations. */
export function formatMatrix(m: Matrix): string {
  const w = Math.max(8, ...m.sources.map((s) => s.label.length));
  const cw = Math.max(5, ...m.destinations.map((d) => d.label.length));
  const head = `${'from \\ to'.padEnd(w)} ${m.destinations.map((d) => d.label.padStart(cw)).join(' ')}`;
  const rows = m.sources.map((s) => {
    const cells = m.destinations.map((d) =>
      MARK[m.cells.find((c) => c.from === s.label && c.to === d.label)?.verdict ?? 'fail'].padStart(cw),
    );
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
