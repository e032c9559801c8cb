#!/usr/bin/env node
/**
 * The lab's workload: one small process inside each pod's (and each node's, and the outside's)
 * network namespace. It
 *  - answers TCP and UDP on PORT (IPv4 and IPv6) with the address it saw the request come from, so a
 *    probe proves both reachability and "no NAT" (the receiver sees the sender's pod IP);
 *  - on its control socket (a unix socket in the lab dir: reachable from any namespace) takes one JSON
 *    line `{"probe":[{"ip":"10.244.1.2","proto":"tcp"},...],"timeoutMs":1500}` and probes every
 *    target from inside its namespace with real sockets, answering one JSON line of results;
 *  - on the same socket takes `{"http":{"port":9099,"path":"/readiness"}}` and answers
 *    `{"status":200}`: a GET on this namespace's loopback (the lab polls margay-node's readiness
 *    this way, without spawning a process per poll).
 *
 *   node dist/src/lab/pod-agent.js --control /path/pod-1-1.sock [--port 7000]
 */
import { createSocket } from 'node:dgram';
import { realpathSync, rmSync } from 'node:fs';
import { connect, createServer, isIPv6 } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LabProcessError } from './errors.js';

export const PROBE_PORT = 7000;
const MAX_REQUEST = 1 << 20;
const MAX_TARGETS = 10_000;

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

/** '::ffff:10.0.0.1' → '10.0.0.1'. */
export function plainAddress(a: string | undefined): string {
  if (a === undefined) return '';
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

function probeTcp(t: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  const start = performance.now();
  return new Promise((resolve) => {
    const s = connect({ host: t.ip, port: t.port ?? PROBE_PORT });
    let data = '';
    const done = (r: Omit<ProbeResult, 'ip' | 'proto' | 'ms'>): void => {
      clearTimeout(timer);
      s.destroy();
      resolve({ ip: t.ip, proto: 'tcp', ms: Math.round(performance.now() - start), ...r });
    };
    const timer = setTimeout(() => done({ ok: false, error: 'timeout' }), timeoutMs);
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      data += d;
      if (data.length > 100) done({ ok: false, error: 'oversized reply' });
    });
    s.on('end', () => done({ ok: data.trim() !== '', seen: data.trim() }));
    s.on('error', (err: NodeJS.ErrnoException) => done({ ok: false, error: err.code ?? err.message }));
  });
}

function probeUdp(t: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  const start = performance.now();
  return new Promise((resolve) => {
    const s = createSocket(isIPv6(t.ip) ? 'udp6' : 'udp4');
    let resend: NodeJS.Timeout | undefined;
    const done = (r: Omit<ProbeResult, 'ip' | 'proto' | 'ms'>): void => {
      clearTimeout(timer);
      clearInterval(resend);
      s.close();
      resolve({ ip: t.ip, proto: 'udp', ms: Math.round(performance.now() - start), ...r });
    };
    const timer = setTimeout(() => done({ ok: false, error: 'timeout' }), timeoutMs);
    s.on('message', (msg) => done({ ok: true, seen: msg.toString('utf8').trim() }));
    s.on('error', (err: NodeJS.ErrnoException) => done({ ok: false, error: err.code ?? err.message }));
    const send = (): void => s.send('probe\n', t.port ?? PROBE_PORT, t.ip);
    send();
    // UDP may lose the first datagram while neighbours resolve: resend a few times.
    resend = setInterval(send, Math.max(100, Math.floor(timeoutMs / 5)));
  });
}

export function probe(targets: readonly ProbeTarget[], timeoutMs: number): Promise<ProbeResult[]> {
  return Promise.all(targets.map((t) => (t.proto === 'tcp' ? probeTcp(t, timeoutMs) : probeUdp(t, timeoutMs))));
}

function parseRequest(line: string): { targets: ProbeTarget[]; timeoutMs: number } {
  const req = JSON.parse(line) as { probe?: unknown; timeoutMs?: unknown };
  if (!Array.isArray(req.probe) || req.probe.length > MAX_TARGETS)
    throw new LabProcessError('pod-agent', `"probe" must be an array of at most ${MAX_TARGETS} targets`);
  const targets = req.probe.map((t: { ip?: unknown; proto?: unknown; port?: unknown }, i) => {
    if (typeof t.ip !== 'string' || (t.proto !== 'tcp' && t.proto !== 'udp'))
      throw new LabProcessError('pod-agent', `probe[${i}] needs "ip" and "proto" (tcp|udp)`);
    const port = t.port === undefined ? PROBE_PORT : Number(t.port);
    if (!Number.isInteger(port) || port < 1 || port > 65_535)
      throw new LabProcessError('pod-agent', `probe[${i}].port must be 1..65535`);
    return { ip: t.ip, proto: t.proto, port } as ProbeTarget;
  });
  const timeoutMs =
    typeof req.timeoutMs === 'number' && req.timeoutMs >= 50 && req.timeoutMs <= 30_000 ? req.timeoutMs : 1500;
  return { targets, timeoutMs };
}

/** GET http://127.0.0.1:PORT/PATH from inside this namespace: the status (0 when it failed). */
async function httpStatus(port: number, path: string, timeoutMs: number): Promise<{ status: number; error?: string }> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
    await r.arrayBuffer();
    return { status: r.status };
  } catch (err) {
    return { status: 0, error: (err as Error).message };
  }
}

function parseHttp(line: string): { port: number; path: string; timeoutMs: number } | undefined {
  const req = JSON.parse(line) as { http?: { port?: unknown; path?: unknown }; timeoutMs?: unknown };
  if (req.http === undefined) return undefined;
  const port = Number(req.http.port);
  const path = req.http.path;
  if (
    !Number.isInteger(port) ||
    port < 1 ||
    port > 65_535 ||
    typeof path !== 'string' ||
    !/^\/[\w./-]{0,200}$/.test(path)
  )
    throw new LabProcessError('pod-agent', '"http" needs a port 1..65535 and an absolute path');
  const timeoutMs =
    typeof req.timeoutMs === 'number' && req.timeoutMs >= 50 && req.timeoutMs <= 30_000 ? req.timeoutMs : 1500;
  return { port, path, timeoutMs };
}

function main(): void {
  const { values } = parseArgs({
    options: { control: { type: 'string' }, port: { type: 'string', default: String(PROBE_PORT) } },
  });
  const port = Number(values.port);
  if (!values.control || !Number.isInteger(port)) {
    process.stderr.write('usage: pod-agent --control SOCKET [--port N]\n');
    process.exit(2);
  }
  const control = values.control;
  // TCP: answer with the peer's address and close.
  createServer((c) => {
    c.on('error', () => c.destroy());
    c.end(`${plainAddress(c.remoteAddress)}\n`);
  }).listen({ port, host: '::', ipv6Only: false });
  // UDP: one socket for both families (v4-mapped).
  const udp = createSocket({ type: 'udp6', ipv6Only: false });
  udp.on('message', (_msg, rinfo) => udp.send(`${plainAddress(rinfo.address)}\n`, rinfo.port, rinfo.address));
  udp.on('error', (err) => process.stderr.write(`pod-agent: udp: ${err.message}\n`));
  udp.bind(port, '::');
  rmSync(control, { force: true });
  createServer((c) => {
    let buf = '';
    c.setEncoding('utf8');
    c.on('error', () => c.destroy());
    c.on('data', (d: string) => {
      buf += d;
      if (buf.length > MAX_REQUEST) {
        c.end(`${JSON.stringify({ error: 'request too large' })}\n`);
        return;
      }
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      let req: ReturnType<typeof parseRequest>;
      try {
        const http = parseHttp(buf.slice(0, nl));
        if (http) {
          void httpStatus(http.port, http.path, http.timeoutMs).then((r) => c.end(`${JSON.stringify(r)}\n`));
          return;
        }
        req = parseRequest(buf.slice(0, nl));
      } catch (err) {
        c.end(`${JSON.stringify({ error: (err as Error).message })}\n`);
        return;
      }
      void probe(req.targets, req.timeoutMs).then((results) => c.end(`${JSON.stringify({ results })}\n`));
    });
  }).listen(control);
  process.on('SIGTERM', () => {
    rmSync(control, { force: true });
    process.exit(0);
  });
}

function isMain(): boolean {
  const arg = process.argv[1];
  if (arg === undefined) return false;
  try {
    return realpathSync(arg) === realpathSync(fileURLToPath(import.meta.url));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

if (isMain()) main();
