/**
 * The lab's workload agent, client side. One `margay-labnet` process (src/lab/native/labnet.c, a
 * small C program: ~2 MB RSS) runs per lab node and one in the outside namespace; each serves any
 * number of network namespaces registered on its control socket — the node's own and each of its
 * pods'. For every namespace it answers TCP and UDP on PROBE_PORT with the source address it saw
 * (sockets made inside that namespace with setns), and on request probes targets from inside a
 * namespace with real sockets made there, or GETs an HTTP path on that namespace's loopback (the
 * lab polls margay-node's readiness this way, without spawning a process per poll).
 *
 * The control protocol is line based (see labnet.c); this module speaks it and parses the answers.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { connect, isIP } from 'node:net';
import { join } from 'node:path';
import { LabProcessError } from './errors.js';
import { labPaths, type LabContext } from './lab-context.js';
import type { LabState } from './lab-state.js';
import { canConnect, packageRoot } from './margay-processes.js';
import { spawnDaemon, toRecord, type ProcessRecord } from './processes.js';
import { waitFor } from './wait.js';

export const PROBE_PORT = 7000;
const LABEL = /^[\w.-]{1,63}$/;

export type ProbeProto = 'tcp' | 'udp';
export interface ProbeTarget {
  readonly ip: string;
  readonly proto: ProbeProto;
  readonly port?: number;
}
export interface ProbeResult {
  readonly ip: string;
  readonly proto: ProbeProto;
  readonly ok: boolean;
  /** The source address the destination saw (undefined when unreachable). */
  readonly seen?: string;
  readonly ms: number;
  readonly error?: string;
}

/** One namespace served by one labnet process: its control socket and the namespace's label there. */
export interface AgentRef {
  readonly socket: string;
  readonly label: string;
}

/** The built helper (npm run build:lab). */
export function labnetBinary(): string {
  return join(packageRoot(), 'dist/lab/margay-labnet');
}

/** The process record name of the labnet serving `host` (a node name or "outside"). */
export const labnetName = (host: string): string => `labnet ${host}`;

/** Sends one request and returns the whole answer (the helper closes the connection after it). */
export function labnetRequest(socket: string, request: string, deadlineMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(socket);
    let buf = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new LabProcessError('labnet', `${socket} did not answer within ${deadlineMs} ms`));
    }, deadlineMs);
    s.setEncoding('utf8');
    s.on('connect', () => s.write(request));
    s.on('data', (d: string) => {
      buf += d;
    });
    s.on('end', () => {
      clearTimeout(timer);
      if (buf.startsWith('error ')) reject(new LabProcessError('labnet', `${socket}: ${buf.slice(6).trim()}`));
      else resolve(buf);
    });
    s.on('error', (err) => {
      clearTimeout(timer);
      reject(new LabProcessError('labnet', `${socket}: ${err.message}`, '', { cause: err }));
    });
  });
}

function checkLabel(label: string): void {
  if (!LABEL.test(label))
    throw new LabProcessError('labnet', `label ${JSON.stringify(label)} is not [A-Za-z0-9_.-]{1,63}`);
}

/** Registers `label`'s namespace (its path, e.g. /run/netns/X) with the helper: it answers probes there at once. */
export async function labnetAdd(socket: string, label: string, nsPath: string): Promise<void> {
  checkLabel(label);
  if (/\s/.test(nsPath)) throw new LabProcessError('labnet', `namespace path ${JSON.stringify(nsPath)} has blanks`);
  const r = await labnetRequest(socket, `add ${label} ${nsPath}\n`, 10_000);
  if (r.trim() !== 'ok') throw new LabProcessError('labnet', `${socket}: add ${label}: ${r.trim()}`);
}

/** Closes `label`'s sockets (before its namespace goes: they would keep it alive). */
export async function labnetDel(socket: string, label: string): Promise<void> {
  checkLabel(label);
  await labnetRequest(socket, `del ${label}\n`, 10_000);
}

/** Parses the helper's probe answer lines ("tcp IP PORT ok SEEN MS" | "... fail ERROR MS", then "end"). */
export function parseProbeAnswer(text: string, expected: number): ProbeResult[] {
  const lines = text.split('\n').filter((l) => l !== '');
  if (lines.at(-1) !== 'end' || lines.length !== expected + 1)
    throw new LabProcessError(
      'labnet',
      `a probe answer with ${expected} results and "end" was expected: ${text.slice(0, 200)}`,
    );
  return lines.slice(0, -1).map((l) => {
    const [proto, ip, , status, what, ms] = l.split(' ');
    if ((proto !== 'tcp' && proto !== 'udp') || ip === undefined || (status !== 'ok' && status !== 'fail'))
      throw new LabProcessError('labnet', `bad probe answer line: ${l}`);
    const base = { ip, proto, ms: Number(ms) } as const;
    return status === 'ok' ? { ...base, ok: true, seen: what ?? '' } : { ...base, ok: false, error: what ?? '' };
  });
}

/** Probes every target from inside the agent's namespace (TCP and UDP, real sockets). */
export async function askAgent(
  agent: AgentRef,
  targets: readonly ProbeTarget[],
  timeoutMs: number,
): Promise<ProbeResult[]> {
  checkLabel(agent.label);
  for (const t of targets)
    if (isIP(t.ip) === 0)
      throw new LabProcessError('labnet', `probe target ${JSON.stringify(t.ip)} is not an IP address`);
  const body = targets.map((t) => `${t.proto} ${t.ip} ${t.port ?? PROBE_PORT}\n`).join('');
  // The helper runs at most 1024 probes at once; a big fan-out on a loaded machine takes longer
  // than one probe's timeout, so the deadline grows with the number of targets.
  const deadline = timeoutMs * (1 + Math.ceil(targets.length / 1024)) + 5000 + 5 * targets.length;
  const text = await labnetRequest(
    agent.socket,
    `probe ${agent.label} ${timeoutMs} ${targets.length}\n${body}`,
    deadline,
  );
  return parseProbeAnswer(text, targets.length);
}

/** GET 127.0.0.1:PORT/PATH inside the agent's namespace: the HTTP status (0: failed). */
export async function askAgentHttp(agent: AgentRef, port: number, path: string, timeoutMs = 1500): Promise<number> {
  checkLabel(agent.label);
  if (!/^\/[\w./-]{0,200}$/.test(path)) throw new LabProcessError('labnet', `bad HTTP path ${JSON.stringify(path)}`);
  const r = await labnetRequest(agent.socket, `http ${agent.label} ${port} ${path} ${timeoutMs}\n`, timeoutMs + 5000);
  const m = /^status (\d+)/.exec(r);
  if (!m) throw new LabProcessError('labnet', `${agent.socket}: not a status answer: ${r.slice(0, 200)}`);
  return Number(m[1]);
}

/**
 * Starts the labnet for `host` (a node or "outside") inside `ns`, waits for its control socket and
 * registers the host's own namespace under its name. The record goes to state before the wait.
 */
export async function startLabnet(
  ctx: LabContext,
  state: LabState,
  host: string,
  ns: string,
  save: () => Promise<void>,
): Promise<ProcessRecord> {
  const bin = labnetBinary();
  if (!existsSync(bin)) throw new LabProcessError(labnetName(host), `${bin} is missing: run npm run build`);
  const socket = labPaths(ctx.dir).agentSocket(host);
  await mkdir(labPaths(ctx.dir).agents, { recursive: true });
  const proc = await spawnDaemon({
    name: labnetName(host),
    file: `labnet-${host}`,
    ns,
    workdir: labPaths(ctx.dir).agents,
    argv: [bin, '--control', socket, '--port', String(PROBE_PORT)],
    env: ctx.env,
  });
  const rec = toRecord(proc);
  state.processes.push(rec);
  await save();
  await waitFor(
    `${labnetName(host)} control socket`,
    async () => {
      if (proc.hasExited()) throw new LabProcessError(labnetName(host), 'exited during start');
      return canConnect(socket);
    },
    20_000,
    20,
  );
  await labnetAdd(socket, host, `/run/netns/${ns}`);
  return rec;
}
