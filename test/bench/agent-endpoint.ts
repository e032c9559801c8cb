/**
 * The agent's dataplane on its hot paths, in process, against a real kernel in a namespace of its own
 * (the bench process re-executes itself inside it, so the adapters work on their own namespace as
 * the agent does: no `ip netns exec`, sysctls as /proc files):
 *
 *  1. first full programming: N local endpoints + B remote blocks (learned routes) desired, then
 *     in-sync → every reconciler applied (the Dataplane's own `isProgrammed`), from a flushed dataplane;
 *  2. a new local pod: CNI registration (CalcGraph.registerEndpoint) → its route seen by
 *     `ip monitor route`, and → `waitForEndpoint` resolved (route, chains, dispatch chains, neighbour,
 *     sysctls, MTU written: their commands returned); reference: a plain `ip route add` process and a
 *     plain `iptables-restore --noflush` of two small chains;
 *  3. R routes by the route reconciler (one first apply into an empty table, including its read) vs
 *     one plain `ip -batch` of the same routes, alternating, same namespace;
 *  4. iptables-restore input bytes when one endpoint is added, next to 1 and next to N endpoints.
 *
 * Phases 1 and 2 run as shipped (processes started by the margay-spawn co-process, routes through
 * the persistent `ip -batch` co-process) and with processes forked from Node (ExecaCommandRunner, as
 * before margay-spawn; `ip` co-process too), alternating, so both are measured under the same load.
 * (The variable `coprocess` below means "as shipped".)
 *
 *   npm run build && scripts/in-sandbox.sh node dist/test/bench/agent-endpoint.js \
 *     [--pods 250] [--blocks 5000] [--new 20] [--routes 10000] [--runs 3]
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { CalcGraph } from '../../agent/calc/graph.js';
import type { WorkloadEndpointRegistration } from '../../agent/calc/types.js';
import { Dataplane } from '../../agent/dataplane/dataplane.js';
import { RouteReconciler } from '../../agent/dataplane/route-reconciler.js';
import { createKernelAdapters, type KernelAdapters } from '../../src/kernel/adapters.js';
import { ExecaCommandRunner } from '../../src/kernel/command-runner.js';
import { SpawnHelperRunner, spawnHelperPath } from '../../src/kernel/spawn-runner.js';
import { silentLogger } from '../../src/log.js';
import { createNetns, deleteNetns } from '../helpers/netns.js';

const { values } = parseArgs({
  options: {
    pods: { type: 'string', default: '250' },
    blocks: { type: 'string', default: '5000' },
    new: { type: 'string', default: '20' },
    routes: { type: 'string', default: '10000' },
    runs: { type: 'string', default: '3' },
    worker: { type: 'boolean', default: false },
  },
});
const PODS = Number(values.pods);
const BLOCKS = Number(values.blocks);
const NEW = Number(values.new);
const ROUTES = Number(values.routes);
const RUNS = Number(values.runs);
const NEXT_HOP = '10.250.0.254';
const log = silentLogger();

// ---- statistics ----

function sorted(xs: readonly number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}
function median(xs: readonly number[]): number {
  const s = sorted(xs);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}
function p90(xs: readonly number[]): number {
  const s = sorted(xs);
  return s[Math.min(s.length - 1, Math.ceil(0.9 * s.length) - 1)]!;
}
function fmt(xs: readonly number[], digits = 1): string {
  const s = sorted(xs);
  return `${median(s).toFixed(digits)} | ${p90(s).toFixed(digits)} | ${s[0]!.toFixed(digits)}–${s.at(-1)!.toFixed(digits)}`;
}
const load = (): string => loadavg()[0]!.toFixed(1);

// ---- kernel helpers (the worker's own namespace) ----

async function sh(cmd: string, args: string[], input?: string): Promise<string> {
  return (await execa(cmd, args, input === undefined ? {} : { input })).stdout;
}

function blockPrefix(i: number): string {
  return `10.${100 + (i >> 10)}.${(i >> 2) & 255}.${(i & 3) * 64}/26`;
}
function podIp(i: number): string {
  return `10.200.${i >> 8}.${i & 255}`;
}

interface Pod {
  readonly reg: WorkloadEndpointRegistration;
  readonly ip: string;
}

/** `count` veth pairs: host side `mgy…` (Margay's prefix), peer in the same namespace, both up. */
async function makePods(first: number, count: number): Promise<Pod[]> {
  const names = Array.from({ length: count }, () => `mgy${randomBytes(6).toString('hex').slice(0, 11)}`);
  const lines = names.flatMap((n, i) => [
    `link add ${n} type veth peer name q${first + i}`,
    `link set ${n} up`,
    `link set q${first + i} up`,
  ]);
  await sh('ip', ['-batch', '-'], `${lines.join('\n')}\n`);
  const links = JSON.parse(await sh('ip', ['-j', 'link', 'show'])) as { ifname: string; address: string }[];
  const mac = new Map(links.map((l) => [l.ifname, l.address]));
  return names.map((iface, i) => {
    const ip = podIp(first + i);
    return {
      ip,
      reg: {
        key: `bench/${iface}`,
        iface,
        mac: mac.get(`q${first + i}`)!,
        namespace: 'bench',
        pod: `pod-${first + i}`,
        ipv4Nets: [`${ip}/32`],
        ipv6Nets: [],
      },
    };
  });
}

async function flushDataplane(): Promise<void> {
  for (const proto of [109, 110, 111]) await execa('ip', ['route', 'flush', 'proto', String(proto)], { reject: false });
  for (const t of ['filter', 'nat']) {
    await execa('iptables', ['-t', t, '-F'], { reject: false });
    await execa('iptables', ['-t', t, '-X'], { reject: false });
  }
  await execa('ipset', ['destroy'], { reject: false });
}

async function countRoutes(proto: number): Promise<number> {
  const out = await sh('ip', ['route', 'show', 'proto', String(proto)]);
  return out === '' ? 0 : out.split('\n').length;
}

interface Node {
  readonly kernel: KernelAdapters;
  readonly dp: Dataplane;
  readonly graph: CalcGraph;
}

async function newNode(coprocess: boolean): Promise<Node> {
  const helper = spawnHelperPath();
  if (helper === undefined) throw new Error('dist/kernel/margay-spawn is not built (npm run build)');
  const runner = coprocess ? new SpawnHelperRunner(helper, log) : new ExecaCommandRunner(log);
  const kernel = await createKernelAdapters(runner, log, { coprocess: true });
  const dp = new Dataplane(kernel, log, { families: [4], refreshIntervalMs: 0 });
  const graph = new CalcGraph(
    { nodeName: 'bench-node', routingMode: 'bgp', ipv4: true, ipv6: false, hostMtu: 1500 },
    dp,
  );
  dp.start();
  return { kernel, dp, graph };
}

async function stopNode(n: Node): Promise<void> {
  await n.dp.stop();
  n.kernel.close?.();
}

async function programmed(dp: Dataplane, timeoutMs = 120_000): Promise<void> {
  const t0 = performance.now();
  for (;;) {
    await dp.whenIdle();
    if (dp.isProgrammed) return;
    if (performance.now() - t0 > timeoutMs) throw new Error(`dataplane not programmed within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Watches `ip monitor route`; `seen(ip)` resolves with the time the route to `ip` appeared. */
function routeMonitor(): { seen(ip: string): Promise<number>; stop(): void; ready: Promise<void> } {
  const p = execa('ip', ['monitor', 'route'], { reject: false, buffer: false });
  const waiters = new Map<string, (t: number) => void>();
  let partial = '';
  let readyResolve: () => void = () => undefined;
  const ready = new Promise<void>((r) => {
    readyResolve = r;
  });
  p.stdout!.setEncoding('utf8');
  p.stdout!.on('data', (d: string) => {
    const t = performance.now();
    const lines = (partial + d).split('\n');
    partial = lines.pop()!;
    for (const l of lines) {
      if (l.startsWith('10.254.254.254')) readyResolve();
      const dst = l.split(' ')[0]!;
      const w = waiters.get(dst);
      if (w !== undefined && !l.startsWith('Deleted')) {
        waiters.delete(dst);
        w(t);
      }
    }
  });
  return {
    ready,
    seen: (ip) => new Promise<number>((r) => waiters.set(ip, r)),
    stop: () => p.kill('SIGKILL'),
  };
}

// ---- phases ----

interface FirstRow {
  readonly coprocess: boolean;
  readonly ms: number;
  readonly load: string;
}
interface EndpointRow {
  readonly coprocess: boolean;
  readonly route: number[];
  readonly programmed: number[];
  readonly bytes: number[];
  readonly load: string;
}

async function firstProgramming(coprocess: boolean, pods: readonly Pod[]): Promise<{ row: FirstRow; node: Node }> {
  await flushDataplane();
  const node = await newNode(coprocess);
  node.graph.batch(() => {
    for (const p of pods) node.graph.registerEndpoint(p.reg);
    node.graph.learnedRoutesChanged(
      Array.from({ length: BLOCKS }, (_, i) => ({ prefix: blockPrefix(i), nextHops: [NEXT_HOP] })),
    );
  });
  const l = load();
  const t0 = performance.now();
  node.graph.batch(() => {
    node.graph.inSync();
    node.graph.learnedRoutesInSync();
  });
  await programmed(node.dp);
  const ms = performance.now() - t0;
  const got = (await countRoutes(110)) + (await countRoutes(109));
  if (got < BLOCKS + pods.length) throw new Error(`only ${got} of ${BLOCKS + pods.length} routes in the kernel`);
  return { row: { coprocess, ms, load: l }, node };
}

async function newEndpoints(node: Node, coprocess: boolean, pods: readonly Pod[]): Promise<EndpointRow> {
  const mon = routeMonitor();
  // The monitor is ready once it reports a route we add for the purpose.
  for (let i = 0; i < 50; i++) {
    await execa('ip', ['route', 'replace', 'blackhole', '10.254.254.254/32'], { reject: false });
    const ok = await Promise.race([mon.ready.then(() => true), new Promise((r) => setTimeout(() => r(false), 100))]);
    if (ok) break;
  }
  await execa('ip', ['route', 'del', 'blackhole', '10.254.254.254/32'], { reject: false });
  const route: number[] = [];
  const prog: number[] = [];
  const bytes: number[] = [];
  const l = load();
  try {
    for (const p of pods) {
      await programmed(node.dp);
      await new Promise((r) => setTimeout(r, 20));
      const seen = mon.seen(p.ip);
      const t0 = performance.now();
      node.graph.registerEndpoint(p.reg);
      await node.dp.waitForEndpoint(p.reg.key, { timeoutMs: 10_000 });
      prog.push(performance.now() - t0);
      route.push((await seen) - t0);
      bytes.push(node.dp.iptables[4]!.lastStats.bytes.filter);
    }
  } finally {
    mon.stop();
  }
  for (const p of pods) node.graph.unregisterEndpoint(p.reg.key);
  await programmed(node.dp);
  return { coprocess, route, programmed: prog, bytes, load: l };
}

/** Plain process starts for the same kernel objects: `ip route add` and a small `iptables-restore`. */
async function references(pods: readonly Pod[]): Promise<{ ipRoute: number[]; restore: number[] }> {
  const ipRoute: number[] = [];
  const restore: number[] = [];
  for (const [i, p] of pods.entries()) {
    let t = performance.now();
    await execa('ip', ['route', 'add', `${p.ip}/32`, 'dev', p.reg.iface, 'scope', 'link', 'proto', '99']);
    ipRoute.push(performance.now() - t);
    const input = [
      '*filter',
      `:mgy-ref-a${i} - [0:0]`,
      `:mgy-ref-b${i} - [0:0]`,
      `-A mgy-ref-a${i} -m comment --comment "mgy:ref" -j RETURN`,
      `-A mgy-ref-b${i} -m comment --comment "mgy:ref" -j RETURN`,
      'COMMIT',
      '',
    ].join('\n');
    t = performance.now();
    await execa('iptables-restore', ['--noflush', '--wait=10'], { input });
    restore.push(performance.now() - t);
  }
  await execa('ip', ['route', 'flush', 'proto', '99'], { reject: false });
  await execa('iptables', ['-F'], { reject: false });
  await execa('iptables', ['-X'], { reject: false });
  return { ipRoute, restore };
}

/** Bytes of iptables-restore input for adding one endpoint next to `existing` ones. */
async function restoreBytes(existing: readonly Pod[], added: Pod): Promise<number> {
  await flushDataplane();
  const node = await newNode(true);
  try {
    node.graph.batch(() => {
      for (const p of existing) node.graph.registerEndpoint(p.reg);
      node.graph.inSync();
      node.graph.learnedRoutesInSync();
    });
    await programmed(node.dp);
    node.graph.registerEndpoint(added.reg);
    await node.dp.waitForEndpoint(added.reg.key, { timeoutMs: 10_000 });
    return node.dp.iptables[4]!.lastStats.bytes.filter;
  } finally {
    await stopNode(node);
  }
}

async function routeReconciler(): Promise<{ reconciler: number[]; ipBatch: number[] }> {
  const reconciler: number[] = [];
  const ipBatch: number[] = [];
  const prefixes = Array.from({ length: ROUTES }, (_, i) => blockPrefix(i));
  const lines = prefixes.map((p) => `route replace ${p} via ${NEXT_HOP} proto 110`);
  for (let r = 0; r < RUNS; r++) {
    await execa('ip', ['route', 'flush', 'proto', '110'], { reject: false });
    const kernel = await createKernelAdapters(new ExecaCommandRunner(log), log, { iptablesMode: 'nft' });
    const rr = new RouteReconciler(kernel.routes);
    for (const p of prefixes) rr.setRoute({ kind: 'remote', dst: p, nextHops: [NEXT_HOP] });
    rr.learnedRoutesInSync();
    let t = performance.now();
    await rr.apply();
    reconciler.push(performance.now() - t);
    kernel.close?.();
    if ((await countRoutes(110)) !== ROUTES) throw new Error('route reconciler did not program every route');
    await execa('ip', ['route', 'flush', 'proto', '110'], { reject: false });
    t = performance.now();
    await execa('ip', ['-batch', '-'], { input: `${lines.join('\n')}\n` });
    ipBatch.push(performance.now() - t);
  }
  await execa('ip', ['route', 'flush', 'proto', '110'], { reject: false });
  return { reconciler, ipBatch };
}

// ---- worker (inside the namespace) ----

async function worker(): Promise<void> {
  await sh('ip', ['link', 'set', 'lo', 'up']);
  await sh('ip', ['link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'up1']);
  await sh('ip', ['addr', 'add', '10.250.0.1/24', 'dev', 'up0']);
  await sh('ip', ['link', 'set', 'up0', 'up']);
  await sh('ip', ['link', 'set', 'up1', 'up']);
  const t0 = performance.now();
  const pods = await makePods(0, PODS);
  const fresh = await makePods(PODS, NEW);
  process.stderr.write(`setup: ${PODS + NEW} veths in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);

  const firsts: FirstRow[] = [];
  const eps: EndpointRow[] = [];
  for (let r = 0; r < RUNS; r++) {
    for (const coprocess of r % 2 === 0 ? [true, false] : [false, true]) {
      const { row, node } = await firstProgramming(coprocess, pods);
      firsts.push(row);
      try {
        eps.push(await newEndpoints(node, coprocess, fresh));
      } finally {
        await stopNode(node);
      }
      process.stderr.write(
        `run ${r + 1} ${coprocess ? 'margay-spawn' : 'node fork'}: first ${row.ms.toFixed(0)} ms; new pod route ${median(eps.at(-1)!.route).toFixed(1)} ms, programmed ${median(eps.at(-1)!.programmed).toFixed(1)} ms (load ${row.load})\n`,
      );
    }
  }
  const refLoad = load();
  const ref = await references(fresh);
  const bytes1 = await restoreBytes(pods.slice(0, 1), fresh[0]!);
  const bytesN = await restoreBytes(pods, fresh[0]!);
  const rtLoad = load();
  const rt = await routeReconciler();

  const out: string[] = [];
  const cop = (c: boolean): string => (c ? 'margay-spawn (as shipped)' : 'forked from Node (before)');
  out.push(
    `## agent dataplane bench: ${PODS} endpoints, ${BLOCKS} remote blocks, ${NEW} new pods × ${RUNS} runs per mode, IPv4`,
    '',
    '| measurement | mode | median | p90 | min–max | load (1 min) |',
    '| --- | --- | --- | --- | --- | --- |',
  );
  for (const c of [true, false]) {
    const f = firsts.filter((x) => x.coprocess === c);
    out.push(
      `| in-sync → first full programming (ms) | ${cop(c)} | ${fmt(
        f.map((x) => x.ms),
        0,
      )} | ${f.map((x) => x.load).join(', ')} |`,
    );
  }
  for (const c of [true, false]) {
    const e = eps.filter((x) => x.coprocess === c);
    out.push(
      `| new pod: registration → route in kernel (ip monitor) (ms) | ${cop(c)} | ${fmt(e.flatMap((x) => x.route))} | ${e.map((x) => x.load).join(', ')} |`,
      `| new pod: registration → route + chains + neighbour + sysctls + MTU written (ms) | ${cop(c)} | ${fmt(e.flatMap((x) => x.programmed))} | ${e.map((x) => x.load).join(', ')} |`,
    );
  }
  out.push(
    `| reference: one \`ip route add\` process (ms) | | ${fmt(ref.ipRoute)} | ${refLoad} |`,
    `| reference: one \`iptables-restore --noflush\` of 2 chains (ms) | | ${fmt(ref.restore)} | ${refLoad} |`,
    `| ${ROUTES} routes: route reconciler, first apply (ms) | co-process | ${fmt(rt.reconciler, 0)} | ${rtLoad} |`,
    `| ${ROUTES} routes: one plain \`ip -batch\` (ms) | | ${fmt(rt.ipBatch, 0)} | ${rtLoad} |`,
    '',
    `- route reconciler / ip -batch (medians): ${(median(rt.reconciler) / median(rt.ipBatch)).toFixed(2)}×`,
    `- iptables-restore input when one endpoint is added: next to 1 endpoint ${bytes1} B, next to ${PODS} endpoints ${bytesN} B; per new pod in the runs above: ${fmt(
      eps.flatMap((x) => x.bytes),
      0,
    )} B (median | p90 | min–max)`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
}

async function main(): Promise<void> {
  if (values.worker) return worker();
  const ns = await createNetns('ab');
  try {
    await execa(
      'ip',
      ['netns', 'exec', ns, process.execPath, fileURLToPath(import.meta.url), '--worker', ...process.argv.slice(2)],
      { stdio: 'inherit' },
    );
  } finally {
    await deleteNetns(ns);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`agent-endpoint: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
