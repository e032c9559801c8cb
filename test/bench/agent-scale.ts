/**
 * margay-node at scale: 250 local endpoints (pods made through the CNI plugin) and 5000 remote
 * blocks learned over BGP from a margay-bgpd "top of rack" (iBGP, one session). Measures, per run,
 * a fresh start of the agent against an emptied dataplane (routes, iptables, ipsets flushed; the pods'
 * veths stay, as after a node reboot of the agent's state): in-sync → first full programming
 * (`margay_first_programming_seconds`), process start → ready, the time until all 5250 routes are in
 * the kernel, and the agent's RSS (VmRSS once ready, VmHWM peak). Reference in the same run: the same
 * 5250 routes written by one plain `ip -batch` into an empty namespace.
 *
 *   npm run build && scripts/in-sandbox.sh node dist/test/bench/agent-scale.js [--pods 250] [--blocks 5000] [--runs 3] [--untuned]
 *
 * `--untuned` starts every run with MARGAY_NODE_TUNED=0 (no memory-settings re-exec, agent/main.ts);
 * `--compare` alternates tuned and untuned runs on the same setup and reports both.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { ControlClient } from '../../bgp/index.js';
import { Cluster, httpGet, REPO, sleep, waitFor, type AgentNode } from '../agent/cluster.js';
import { createNetns, deleteNetns, run } from '../helpers/netns.js';

const { values } = parseArgs({
  options: {
    pods: { type: 'string', default: '250' },
    blocks: { type: 'string', default: '5000' },
    runs: { type: 'string', default: '3' },
    untuned: { type: 'boolean', default: false },
    compare: { type: 'boolean', default: false },
  },
});
const PODS = Number(values.pods);
const BLOCKS = Number(values.blocks);
const RUNS = Number(values.runs);

function blockPrefix(i: number): string {
  return `10.${100 + (i >> 10)}.${(i >> 2) & 255}.${(i & 3) * 64}/26`;
}

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const med = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return `${med.toFixed(3)} (${s[0]!.toFixed(3)}–${s.at(-1)!.toFixed(3)})`;
}

async function metric(n: AgentNode, c: Cluster, name: string): Promise<number | undefined> {
  const body = (await httpGet(c.url(n, '/metrics', 9091))).body;
  const m = new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(body);
  return m ? Number(m[1]) : undefined;
}

async function countRoutes(ns: string, proto: number): Promise<number> {
  const r = await execa('ip', ['-n', ns, 'route', 'show', 'proto', String(proto)]);
  return r.stdout === '' ? 0 : r.stdout.split('\n').length;
}

async function startTor(c: Cluster): Promise<{ ns: string; socket: string; stop(): Promise<void> }> {
  const ns = await createNetns('tor');
  const host = `${c.bridge}t`;
  await run('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', `${host}p`]);
  await run('ip', ['link', 'set', `${host}p`, 'netns', ns]);
  await run('ip', ['-n', ns, 'link', 'set', `${host}p`, 'name', 'eth0']);
  await run('ip', ['-n', ns, 'addr', 'add', `10.${c.subnet}.0.250/24`, 'dev', 'eth0']);
  await run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
  await run('ip', ['link', 'set', host, 'master', c.bridge]);
  await run('ip', ['link', 'set', host, 'up']);
  const socket = join(c.dir, 'tor.sock');
  const cfg = join(c.dir, 'tor.yaml');
  await writeFile(
    cfg,
    [
      `routerId: 10.${c.subnet}.0.250`,
      'asn: 64512',
      `listen: { addresses: ["10.${c.subnet}.0.250"], port: 179 }`,
      `peers: [{ address: "10.${c.subnet}.0.1", asn: internal }]`,
      `control: { socket: "${socket}" }`,
    ].join('\n'),
  );
  const p = execa(
    'ip',
    ['netns', 'exec', ns, process.execPath, join(REPO, 'dist/bgp/main.js'), '--config', cfg, '--log-level', 'warn'],
    { reject: false },
  );
  await waitFor(
    'margay-bgpd control socket',
    async () => (await new ControlClient(socket).peers()).length === 1,
    20_000,
  );
  return {
    ns,
    socket,
    async stop() {
      p.kill('SIGKILL');
      await p;
      await deleteNetns(ns);
    },
  };
}

async function flushDataplane(ns: string): Promise<void> {
  for (const proto of [109, 110, 111])
    await execa('ip', ['-n', ns, 'route', 'flush', 'proto', String(proto)], { reject: false });
  for (const t of ['filter', 'nat', 'mangle', 'raw']) {
    await execa('ip', ['netns', 'exec', ns, 'iptables', '-t', t, '-F'], { reject: false });
    await execa('ip', ['netns', 'exec', ns, 'iptables', '-t', t, '-X'], { reject: false });
  }
  await execa('ip', ['netns', 'exec', ns, 'ipset', 'destroy'], { reject: false });
}

async function ipBatchReference(routes: number): Promise<number> {
  const ns = await createNetns('ref');
  try {
    await run('ip', ['-n', ns, 'link', 'add', 'r0', 'type', 'dummy']).catch(async () => {
      await run('ip', ['-n', ns, 'link', 'add', 'r0', 'type', 'veth', 'peer', 'name', 'r1']);
    });
    await run('ip', ['-n', ns, 'addr', 'add', '10.250.0.1/24', 'dev', 'r0']);
    await run('ip', ['-n', ns, 'link', 'set', 'r0', 'up']);
    const lines = Array.from(
      { length: routes },
      (_, i) => `route replace ${blockPrefix(i)} via 10.250.0.254 proto 110`,
    );
    const t = performance.now();
    await execa('ip', ['-n', ns, '-batch', '-'], { input: `${lines.join('\n')}\n` });
    return (performance.now() - t) / 1000;
  } finally {
    await deleteNetns(ns);
  }
}

async function main(): Promise<void> {
  const c = await new Cluster(85, '10.185.0.0/16').setUp(1, {
    MARGAY_LOG_LEVEL: 'warn',
    MARGAY_DATASTORE_RETRY_MAX_MS: '1000',
  });
  const n = c.nodes[0]!;
  const tor = await startTor(c);
  try {
    await mkdir(join(c.dir, 'datastore'), { recursive: true });
    await writeFile(
      join(c.dir, 'datastore', 'bgp.yaml'),
      [
        'apiVersion: margay.dev/v1',
        'kind: BGPConfiguration',
        'metadata: { name: default }',
        'spec: { nodeToNodeMeshEnabled: false }',
        '---',
        'apiVersion: margay.dev/v1',
        'kind: BGPPeer',
        'metadata: { name: tor }',
        `spec: { peerIP: "10.${c.subnet}.0.250", asNumber: 64512 }`,
        '',
      ].join('\n'),
    );
    const prefixes = Array.from({ length: BLOCKS }, (_, i) => blockPrefix(i));
    await new ControlClient(tor.socket).announce({ prefixes, nextHop: `10.${c.subnet}.0.250` });
    c.start(n);
    await c.waitReady(n, 60_000);
    const t0 = performance.now();
    for (let i = 0; i < PODS; i += 4)
      await Promise.all(Array.from({ length: Math.min(4, PODS - i) }, (_, j) => c.addPod(n, `bench-${i + j}`)));
    process.stderr.write(`setup: ${PODS} pods in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    await waitFor(
      'all routes',
      async () => (await countRoutes(n.ns, 110)) >= BLOCKS && (await countRoutes(n.ns, 109)) >= PODS,
      120_000,
      500,
    );

    type Row = {
      first: number;
      ready: number;
      routes: number;
      rss: number;
      hwm: number;
      load: number;
      untuned: boolean;
    };
    const rows: Row[] = [];
    for (let r = 0; r < RUNS * (values.compare ? 2 : 1); r++) {
      const untuned = values.untuned || (values.compare && r % 2 === 1);
      await c.stopAgent(n, 'SIGTERM');
      await flushDataplane(n.ns);
      await sleep(500);
      const load = loadavg()[0]!;
      const t = performance.now();
      c.start(n, untuned ? { MARGAY_NODE_TUNED: '0' } : {});
      const pid = n.proc!.pid!;
      await waitFor(
        'all routes back',
        async () => (await countRoutes(n.ns, 110)) >= BLOCKS && (await countRoutes(n.ns, 109)) >= PODS,
        120_000,
        100,
      );
      const routes = (performance.now() - t) / 1000;
      await c.waitReady(n, 60_000);
      const ready = (performance.now() - t) / 1000;
      const first = (await metric(n, c, 'margay_first_programming_seconds')) ?? Number.NaN;
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
      rows.push({ first, ready, routes, rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024, load, untuned });
      process.stderr.write(`run ${r + 1}: ${JSON.stringify(rows.at(-1))}\n`);
    }
    const ref = [
      await ipBatchReference(BLOCKS + PODS),
      await ipBatchReference(BLOCKS + PODS),
      await ipBatchReference(BLOCKS + PODS),
    ];
    const lines: string[] = [];
    const refMed = [...ref].sort((a, b) => a - b)[1]!;
    for (const group of [false, true]) {
      const rs = rows.filter((x) => x.untuned === group);
      if (rs.length === 0) continue;
      const routesMed = rs.map((x) => x.routes).sort((a, b) => a - b)[Math.floor(rs.length / 2)]!;
      lines.push(
        `margay-node scale bench: ${PODS} local endpoints, ${BLOCKS} remote blocks over BGP, ${rs.length} runs, ${group ? 'untuned (MARGAY_NODE_TUNED=0)' : 'as shipped (tuned)'} (median (min–max))`,
        `  load average at start of runs: ${rs.map((x) => x.load.toFixed(1)).join(', ')}`,
        `  in-sync → first full programming (s):  ${stats(rs.map((x) => x.first))}`,
        `  process start → all ${BLOCKS + PODS} routes in kernel (s): ${stats(rs.map((x) => x.routes))}`,
        `  process start → ready (s):             ${stats(rs.map((x) => x.ready))}`,
        `  RSS when ready (MB):                   ${stats(rs.map((x) => x.rss))}`,
        `  peak RSS, VmHWM (MB):                  ${stats(rs.map((x) => x.hwm))}`,
        `  reference: ip -batch of ${BLOCKS + PODS} routes (s): ${stats(ref)}; start→routes / ip -batch = ${(routesMed / refMed).toFixed(1)}×`,
      );
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await tor.stop();
    await c.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`agent-scale: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
