/**
 * A namespace's IPv4 main routing table read from /proc/<pid>/net/route, where <pid> is any process
 * inside that namespace (its agent, its BIRD). No process is spawned, so benchmarks can poll every
 * few milliseconds without loading the machine they measure.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

export interface KernelRoute4 {
  /** `10.244.1.0/26` */
  readonly dst: string;
  /** Next hop, or undefined for a link-scope / blackhole route. */
  readonly gateway: string | undefined;
  readonly dev: string;
}

/** /proc/net/route stores addresses as little-endian hex: `0001F40A` → 10.244.1.0. */
function hexAddr(hex: string): string {
  const n = Number.parseInt(hex, 16);
  return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255].join('.');
}

function maskLen(hex: string): number {
  let n = Number.parseInt(hex, 16) >>> 0;
  let len = 0;
  while (n) {
    len += n & 1;
    n >>>= 1;
  }
  return len;
}

/** Parses /proc/net/route text (pure). Lines that do not have its 11 columns are skipped. */
export function parseProcRoutes(text: string): KernelRoute4[] {
  const out: KernelRoute4[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 11 || !/^[0-9A-Fa-f]{8}$/.test(f[1]!) || !/^[0-9A-Fa-f]{8}$/.test(f[7]!)) continue;
    const gw = hexAddr(f[2]!);
    out.push({ dst: `${hexAddr(f[1]!)}/${maskLen(f[7]!)}`, gateway: gw === '0.0.0.0' ? undefined : gw, dev: f[0]! });
  }
  return out;
}

/** The IPv4 routes of the namespace `pid` runs in. */
export async function routesOfPid(pid: number): Promise<KernelRoute4[]> {
  return parseProcRoutes(await readFile(`/proc/${pid}/net/route`, 'utf8'));
}

/**
 * The same, read synchronously: one small /proc read (tens of µs) instead of several thread-pool round
 * trips, whose latency on a busy machine would be part of what a latency benchmark measures.
 */
export function routesOfPidSync(pid: number): KernelRoute4[] {
  return parseProcRoutes(readFileSync(`/proc/${pid}/net/route`, 'utf8'));
}

const isGatewayRoute = (cidr: string) => (r: KernelRoute4) => r.dst === cidr && r.gateway !== undefined;

/** Whether the namespace of `pid` has a route to exactly `cidr` through a gateway (a BGP-learned route). */
export async function hasGatewayRoute(pid: number, cidr: string): Promise<boolean> {
  return (await routesOfPid(pid)).some(isGatewayRoute(cidr));
}

/** hasGatewayRoute, read synchronously (routesOfPidSync): for benchmarks that poll. */
export function hasGatewayRouteSync(pid: number, cidr: string): boolean {
  return routesOfPidSync(pid).some(isGatewayRoute(cidr));
}

const v4 = (ip: string): number => ip.split('.').reduce((x, o) => x * 256 + Number(o), 0);

/** The longest-prefix match for an IPv4 address among `routes` (pure); undefined when none. */
export function lookup(routes: readonly KernelRoute4[], ip: string): KernelRoute4 | undefined {
  const a = v4(ip);
  let best: KernelRoute4 | undefined;
  let bestLen = -1;
  for (const r of routes) {
    const [net, lenText] = r.dst.split('/');
    const len = Number(lenText);
    const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    if ((a & mask) >>> 0 === (v4(net!) & mask) >>> 0 && len > bestLen) {
      best = r;
      bestLen = len;
    }
  }
  return best;
}

/** Whether the namespace of `pid` listens on TCP `port` (IPv4 or IPv6), from /proc/<pid>/net/tcp{,6}. */
export async function listensOn(pid: number, port: number): Promise<boolean> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const f of ['tcp', 'tcp6']) {
    const text = await readFile(`/proc/${pid}/net/${f}`, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return '';
      throw err;
    });
    for (const line of text.split('\n').slice(1)) {
      const c = line.trim().split(/\s+/);
      if (c[3] === '0A' && c[1]?.endsWith(`:${hexPort}`)) return true;
    }
  }
  return false;
}
