/**
 * CNI burst through a REAL margay-node: N ADDs started at once (then N DELs) against one agent
 * process on the embedded file datastore (IPAM service, calc graph, dataplane — everything an
 * operator runs), side by side with Debian's ptp + host-local bursts in the same run.
 *
 *   npm run build && scripts/in-sandbox.sh node dist/test/bench/cni-node.js [--burst 100] [--repeat 3]
 *     [--launcher spawn|node]
 *
 * Plugins are started as a runtime does (vfork + exec, through margay-spawn), both margay and ptp;
 * `--launcher node` forks the bench's Node process per call as earlier versions did (test/bench/cni-launch.ts).
 *
 * Each repeat: N margay ADDs at once (plugin exec'd as a runtime does, agentSocket → the agent's
 * socket), check 0 failures and N distinct addresses, N ptp ADDs at once, then the DELs of both.
 * MARGAY_CNI_IP_COPROCESSES (0..16, default 4) is passed through to the agent (0: one `ip` per ADD), as is
 * MARGAY_SPAWN_HELPER (`off`: the agent starts its processes by forking Node, as before margay-spawn).
 * MARGAY_BENCH_NODE_OPTIONS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p") is passed to the agent as NODE_OPTIONS.
 * Step times per ADD come from the agent's own log line ("CNI command done": steps + queue wait).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Cluster, PLUGIN } from '../agent/cluster.js';
import { createNetns, deleteNetns } from '../helpers/netns.js';
import { launchMode, PluginLauncher } from './cni-launch.js';

const { values } = parseArgs({
  options: {
    burst: { type: 'string', default: '100' },
    repeat: { type: 'string', default: '3' },
    launcher: { type: 'string', default: 'spawn' },
  },
});
const BURST = Number(values.burst);
const REPEAT = Number(values.repeat);
const CNI_BIN = '/usr/lib/cni';
const PATH = '/usr/sbin:/usr/bin:/sbin:/bin';
const launcher = new PluginLauncher(launchMode(values.launcher), PATH);

interface Stats {
  median: number;
  min: number;
  max: number;
  p90: number;
}
function stats(xs: number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { median: at(0.5), min: s[0] ?? NaN, max: s[s.length - 1] ?? NaN, p90: at(0.9) };
}
const fmt = (s: Stats) => `${s.median.toFixed(0)} | ${s.min.toFixed(0)}–${s.max.toFixed(0)} | ${s.p90.toFixed(0)}`;

async function loadavg(): Promise<string> {
  return (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
}

interface Call {
  ms: number;
  code: number;
  ip?: string;
  out: string;
}

async function call(bin: string, env: Record<string, string>, conf: string): Promise<Call> {
  const r = await launcher.call(bin, env, conf);
  let ip: string | undefined;
  if (r.code === 0 && r.stdout) {
    const o = JSON.parse(r.stdout) as { ips?: { address: string }[] };
    ip = o.ips?.[0]?.address.split('/')[0];
  }
  return { ms: r.ms, code: r.code, ...(ip !== undefined && { ip }), out: `${r.stdout} ${r.stderr}`.trim() };
}

async function burst(
  bin: string,
  cmd: string,
  conf: string,
  ids: string[],
  nses: string[],
): Promise<{ total: number; calls: Call[] }> {
  const t = performance.now();
  const calls = await Promise.all(
    ids.map((id, i) =>
      call(
        bin,
        {
          CNI_COMMAND: cmd,
          CNI_CONTAINERID: id,
          CNI_NETNS: `/run/netns/${nses[i]}`,
          CNI_IFNAME: 'eth0',
          CNI_PATH: CNI_BIN,
        },
        conf,
      ),
    ),
  );
  return { total: performance.now() - t, calls };
}

async function main(): Promise<void> {
  const cluster = new Cluster(97, '10.197.0.0/16');
  const nses: string[] = [];
  const rows: string[] = [];
  const stepLog: Record<string, number[]> = {};
  const totals = { mAdd: [] as number[], pAdd: [] as number[], mDel: [] as number[], pDel: [] as number[] };
  const perCall: number[] = [];
  let failures = 0;
  let duplicates = 0;
  const load0 = await loadavg();
  try {
    await cluster.setUp(1, { MARGAY_NETWORKING_BACKEND: 'none', MARGAY_LOG_LEVEL: 'info' });
    const node = cluster.nodes[0]!;
    const pass: Record<string, string> = {};
    for (const k of ['MARGAY_CNI_IP_COPROCESSES', 'MARGAY_SPAWN_HELPER'] as const)
      if (process.env[k] !== undefined) pass[k] = process.env[k];
    if (process.env.MARGAY_BENCH_NODE_OPTIONS) pass.NODE_OPTIONS = process.env.MARGAY_BENCH_NODE_OPTIONS;
    cluster.start(node, pass);
    await cluster.waitReady(node, 60_000);
    const margayConf = JSON.stringify({
      cniVersion: '1.0.0',
      name: 'k8s-pod-network',
      type: 'margay',
      ipam: { type: 'margay-ipam' },
      agentSocket: await cluster.cniSocket(node),
    });
    const ptpConf = JSON.stringify({
      cniVersion: '1.0.0',
      name: 'ptpnet',
      type: 'ptp',
      ipam: { type: 'host-local', subnet: '10.88.0.0/16', dataDir: join(cluster.dir, 'host-local') },
    });
    for (let i = 0; i < 2 * BURST; i++) nses.push(await createNetns('bn'));
    const mNs = nses.slice(0, BURST);
    const pNs = nses.slice(BURST);
    // Warm-up: one ADD/DEL (first block claim, page cache), not counted.
    const w = await burst(PLUGIN, 'ADD', margayConf, ['warm'], [mNs[0]!]);
    if (w.calls[0]!.code !== 0) throw new Error(`warm-up ADD failed: ${w.calls[0]!.out}`);
    await burst(PLUGIN, 'DEL', margayConf, ['warm'], [mNs[0]!]);
    for (let r = 0; r < REPEAT; r++) {
      const mIds = Array.from({ length: BURST }, (_, i) => `m${r}x${i}`);
      const pIds = Array.from({ length: BURST }, (_, i) => `p${r}x${i}`);
      const load = await loadavg();
      const ma = await burst(PLUGIN, 'ADD', margayConf, mIds, mNs);
      const pa = await burst(`${CNI_BIN}/ptp`, 'ADD', ptpConf, pIds, pNs);
      const bad = ma.calls.filter((c) => c.code !== 0);
      failures += bad.length;
      if (bad.length > 0)
        process.stderr.write(
          `margay ADD failures: ${bad
            .slice(0, 3)
            .map((c) => c.out)
            .join('\n')}\n`,
        );
      const ips = ma.calls.flatMap((c) => (c.ip ? [c.ip] : []));
      duplicates += ips.length - new Set(ips).size;
      perCall.push(...ma.calls.map((c) => c.ms));
      const md = await burst(PLUGIN, 'DEL', margayConf, mIds, mNs);
      const pd = await burst(`${CNI_BIN}/ptp`, 'DEL', ptpConf, pIds, pNs);
      failures += md.calls.filter((c) => c.code !== 0).length;
      totals.mAdd.push(ma.total);
      totals.pAdd.push(pa.total);
      totals.mDel.push(md.total);
      totals.pDel.push(pd.total);
      rows.push(
        `| ${r + 1} | ${load} | ${ma.total.toFixed(0)} | ${pa.total.toFixed(0)} | ${(ma.total / pa.total).toFixed(2)}× | ${md.total.toFixed(0)} | ${pd.total.toFixed(0)} | ${bad.length} | ${ips.length - new Set(ips).size} |`,
      );
    }
    await cluster.stopAgent(node, 'SIGTERM'); // a clean exit (writes a --cpu-prof if asked for)
    const log = await readFile(node.log, 'utf8');
    for (const line of log.split('\n')) {
      if (!line.includes('"CNI command done"') || !line.includes('"steps"')) continue;
      const o = JSON.parse(line) as { ms: number; queuedMs: number; steps: Record<string, number> };
      if (Object.keys(o.steps).length === 0) continue; // a DEL
      (stepLog['whole command (agent)'] ??= []).push(o.ms);
      (stepLog['queue wait (server)'] ??= []).push(o.queuedMs);
      for (const [k, v] of Object.entries(o.steps)) (stepLog[k] ??= []).push(v);
    }
  } finally {
    launcher.close();
    await cluster.stop();
    for (const n of nses) await deleteNetns(n);
  }
  const load1 = await loadavg();
  const out = [
    `CNI burst through margay-node (file datastore, MARGAY_CNI_IP_COPROCESSES=${process.env.MARGAY_CNI_IP_COPROCESSES ?? 'default'}, MARGAY_SPAWN_HELPER=${process.env.MARGAY_SPAWN_HELPER ?? 'default'}, plugins started by ${launcher.mode === 'spawn' ? 'margay-spawn (vfork+exec, as a Go runtime)' : "forks of the bench's Node process"}): ${REPEAT} × (${BURST} ADDs at once, then ${BURST} DELs); load average before ${load0}, after ${load1}; ${new Date().toISOString()}`,
    '',
    '| repeat | load before | margay ADD ms | ptp ADD ms | margay / ptp | margay DEL ms | ptp DEL ms | margay failures | duplicate IPs |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    `| burst (${REPEAT} runs) | median ms | min–max ms | p90 ms |`,
    '| --- | --- | --- | --- |',
    `| ${BURST} × ADD margay | ${fmt(stats(totals.mAdd))} |`,
    `| ${BURST} × ADD ptp + host-local | ${fmt(stats(totals.pAdd))} |`,
    `| ${BURST} × DEL margay | ${fmt(stats(totals.mDel))} |`,
    `| ${BURST} × DEL ptp + host-local | ${fmt(stats(totals.pDel))} |`,
    `| one margay ADD inside a burst (plugin exec to answer) | ${fmt(stats(perCall))} |`,
    '',
    `failures: ${failures}, duplicate addresses: ${duplicates}`,
    '',
    '| margay ADD step in the burst (agent log) | median ms | min–max ms | p90 ms |',
    '| --- | --- | --- | --- |',
    ...Object.entries(stepLog).map(([k, v]) => `| ${k} | ${fmt(stats(v))} |`),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  if (failures > 0 || duplicates > 0) process.exitCode = 1;
}

await main();
