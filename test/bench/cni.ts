/**
 * CNI ADD/DEL latency: margay (compiled forwarder → margay-node's CNI server → IPAM + veth) side by
 * side with Debian's ptp + host-local in the same run, interleaved call by call so both see the
 * same machine load. Also the cost of each step of a margay ADD and of the plugin start itself.
 *
 *   npm run build && scripts/in-sandbox.sh node dist/test/bench/cni.js [--rounds 30] [--burst 100]
 *
 * --burst N: N ADDs started at once (then N DELs), margay and then ptp + host-local (0: skip).
 * --launcher spawn|node: plugins started through margay-spawn (vfork + exec, as a Go runtime; default)
 * or by forking this Node process per call, as earlier versions did (test/bench/cni-launch.ts).
 *
 * The agent side runs in this process (the sandbox namespace plays the node) with the real IPAM
 * service over an in-memory datastore; the plugins are exec'd exactly as a runtime does.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { launchMode, PluginLauncher } from './cni-launch.js';
import { CniServer } from '../../agent/cni/index.js';
import { MapPods, MemoryIpam, RecordingEndpoints } from '../../agent/cni/testing/fakes.js';
import { silentLogger } from '../../src/log.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '30' },
    burst: { type: 'string', default: '100' },
    launcher: { type: 'string', default: 'spawn' },
  },
});
const ROUNDS = Number(values.rounds);
const BURST = Number(values.burst);
const PLUGIN = new URL('../../cni/margay', import.meta.url).pathname;
const NODE_PLUGIN = new URL('../../cni/main.js', import.meta.url).pathname;
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
  return { median: at(0.5), min: s[0]!, max: s[s.length - 1]!, p90: at(0.9) };
}
const fmt = (s: Stats) => `${s.median.toFixed(1)} | ${s.min.toFixed(1)}–${s.max.toFixed(1)} | ${s.p90.toFixed(1)}`;

async function timed(bin: string, args: string[], env: Record<string, string>, stdin: string): Promise<number> {
  if (args.length > 0) {
    // the Node fallback plugin (`node cni/main.js`): started from this process either way
    const t = performance.now();
    const r = await execa(bin, args, { env: { PATH, ...env }, extendEnv: false, input: stdin, reject: false });
    if (r.exitCode !== 0) throw new Error(`${bin} ${env.CNI_COMMAND} failed: ${r.stdout} ${r.stderr}`);
    return performance.now() - t;
  }
  const r = await launcher.call(bin, env, stdin);
  if (r.code !== 0) throw new Error(`${bin} ${env.CNI_COMMAND} failed: ${r.stdout} ${r.stderr}`);
  return r.ms;
}

async function loadavg(): Promise<string> {
  return (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mgy-cni-bench-'));
  const steps: Record<string, number[]> = {};
  const server = new CniServer({
    nodeName: 'bench',
    ipam: new MemoryIpam('10.244.0.', 250),
    endpoints: new RecordingEndpoints(),
    pods: new MapPods(),
    log: silentLogger(),
    socketPath: join(dir, 'cni.sock'),
    stateDir: join(dir, 'state'),
    onSteps: (s) => {
      for (const [k, v] of Object.entries(s)) (steps[k] ??= []).push(v);
    },
  });
  await server.start();
  const netns: string[] = [];
  try {
    const margayConf = JSON.stringify({
      cniVersion: '1.0.0',
      name: 'k8s-pod-network',
      type: 'margay',
      ipam: { type: 'margay-ipam' },
      agentSocket: server.socketPath,
    });
    const ptpConf = JSON.stringify({
      cniVersion: '1.0.0',
      name: 'ptpnet',
      type: 'ptp',
      ipam: { type: 'host-local', subnet: '10.88.0.0/16', dataDir: join(dir, 'host-local') },
    });
    for (let i = 0; i < 2 * ROUNDS; i++) {
      const n = `mgybench${i}`;
      await execa('ip', ['netns', 'add', n]);
      netns.push(n);
    }
    const env = (cmd: string, i: number) => ({
      CNI_COMMAND: cmd,
      CNI_CONTAINERID: `bench${i}`,
      CNI_NETNS: `/run/netns/${netns[i]}`,
      CNI_IFNAME: 'eth0',
      CNI_PATH: CNI_BIN,
    });
    const load0 = await loadavg();
    const add = { margay: [] as number[], ptp: [] as number[] };
    const del = { margay: [] as number[], ptp: [] as number[] };
    // Warm-up (page cache, first socket connection): not counted.
    await timed(PLUGIN, [], { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}');
    for (let r = 0; r < ROUNDS; r++) {
      add.margay.push(await timed(PLUGIN, [], env('ADD', r), margayConf));
      add.ptp.push(await timed(`${CNI_BIN}/ptp`, [], env('ADD', ROUNDS + r), ptpConf));
    }
    for (let r = 0; r < ROUNDS; r++) {
      del.margay.push(await timed(PLUGIN, [], env('DEL', r), margayConf));
      del.ptp.push(await timed(`${CNI_BIN}/ptp`, [], env('DEL', ROUNDS + r), ptpConf));
    }
    const version = { forwarder: [] as number[], node: [] as number[], status: [] as number[] };
    const statusConf = margayConf.replace('"1.0.0"', '"1.1.0"');
    for (let r = 0; r < Math.min(ROUNDS, 15); r++) {
      version.forwarder.push(await timed(PLUGIN, [], { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}'));
      version.node.push(
        await timed(process.execPath, [NODE_PLUGIN], { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}'),
      );
      version.status.push(await timed(PLUGIN, [], { CNI_COMMAND: 'STATUS' }, statusConf));
    }
    const burst = { margay: 0, ptp: 0, margayDel: 0, ptpDel: 0, load: '' };
    if (BURST > 0) {
      const bns: string[] = [];
      for (let i = 0; i < 2 * BURST; i++) {
        const n = `mgyburst${i}`;
        await execa('ip', ['netns', 'add', n]);
        netns.push(n);
        bns.push(n);
      }
      const benv = (cmd: string, i: number) => ({
        CNI_COMMAND: cmd,
        CNI_CONTAINERID: `burst${i}`,
        CNI_NETNS: `/run/netns/${bns[i]}`,
        CNI_IFNAME: 'eth0',
        CNI_PATH: CNI_BIN,
      });
      const all = async (bin: string, cmd: string, from: number, conf: string): Promise<number> => {
        const t = performance.now();
        await Promise.all(Array.from({ length: BURST }, (_, i) => timed(bin, [], benv(cmd, from + i), conf)));
        return performance.now() - t;
      };
      burst.load = await loadavg();
      burst.margay = await all(PLUGIN, 'ADD', 0, margayConf);
      burst.ptp = await all(`${CNI_BIN}/ptp`, 'ADD', BURST, ptpConf);
      burst.margayDel = await all(PLUGIN, 'DEL', 0, margayConf);
      burst.ptpDel = await all(`${CNI_BIN}/ptp`, 'DEL', BURST, ptpConf);
    }
    const load1 = await loadavg();
    const a = { m: stats(add.margay), p: stats(add.ptp) };
    const d = { m: stats(del.margay), p: stats(del.ptp) };
    const lines = [
      `CNI bench: ${ROUNDS} ADDs then ${ROUNDS} DELs each, interleaved, plugins started by ${launcher.mode === 'spawn' ? 'margay-spawn' : 'forks of this Node process'}; load average before ${load0}, after ${load1}; ${new Date().toISOString()}`,
      '',
      '| call | median ms | min–max ms | p90 ms | margay / ptp (median) |',
      '| --- | --- | --- | --- | --- |',
      `| ADD margay | ${fmt(a.m)} | ${(a.m.median / a.p.median).toFixed(2)}× |`,
      `| ADD ptp + host-local | ${fmt(a.p)} | |`,
      `| DEL margay | ${fmt(d.m)} | ${(d.m.median / d.p.median).toFixed(2)}× |`,
      `| DEL ptp + host-local | ${fmt(d.p)} | |`,
      `| VERSION, compiled forwarder (process start) | ${fmt(stats(version.forwarder))} | |`,
      `| VERSION, Node fallback (process start) | ${fmt(stats(version.node))} | |`,
      `| STATUS, forwarder → agent round trip | ${fmt(stats(version.status))} | |`,
      ...(BURST > 0
        ? [
            '',
            `${BURST} ADDs started at once, then ${BURST} DELs (load average before: ${burst.load}):`,
            '',
            '| burst | margay ms | ptp + host-local ms | margay / ptp |',
            '| --- | --- | --- | --- |',
            `| ${BURST} × ADD | ${burst.margay.toFixed(0)} | ${burst.ptp.toFixed(0)} | ${(burst.margay / burst.ptp).toFixed(2)}× |`,
            `| ${BURST} × DEL | ${burst.margayDel.toFixed(0)} | ${burst.ptpDel.toFixed(0)} | ${(burst.margayDel / burst.ptpDel).toFixed(2)}× |`,
          ]
        : []),
      '',
      '| margay ADD step (agent side) | median ms | min–max ms | p90 ms |',
      '| --- | --- | --- | --- |',
      ...Object.entries(steps).map(([k, v]) => `| ${k} | ${fmt(stats(v))} |`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    launcher.close();
    await server.stop();
    for (const n of netns) await execa('ip', ['netns', 'del', n], { reject: false });
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
