/**
 * In-process IPAM benchmark: allocations/s and releases/s of the Ipam service on the embedded
 * store (`file:<tmpdir>`) and, for reference, the memory store; and Debian's host-local IPAM plugin
 * (one exec per ADD/DEL, as a runtime calls it) in the same run, for a ratio against a real tool.
 *
 *   npm run build && node dist/test/bench/ipam.js [--count 2000] [--runs 3] [--nodes 1] [--concurrency 1,32]
 *     [--stores file,memory] [--host-local 200]
 *
 * Each run: a fresh store with one /16 pool (blockSize 26); `count` assigns spread over `nodes`
 * simulated nodes (one Ipam each), with `concurrency` requests in flight (1: the per-call cost; 32: a
 * burst of pods, where concurrent assigns share block writes), then `count` releases by handle. Prints the median rate with min–max over runs, and the load average.
 */
import { execFile } from 'node:child_process';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { openDatastore, type Datastore } from '../../src/datastore/index.js';
import { silentLogger } from '../../src/log.js';
import { Ipam } from '../../ipam/index.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '2000' },
    runs: { type: 'string', default: '3' },
    nodes: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '1,32' },
    stores: { type: 'string', default: 'file,memory' },
    'host-local': { type: 'string', default: '200' },
  },
});
const COUNT = Number(values.count),
  RUNS = Number(values.runs),
  NODES = Number(values.nodes);
const CONCURRENCY = values.concurrency.split(',').map(Number);
const HOST_LOCAL = '/usr/lib/cni/host-local';

/** Wall-clock rates, and assigns per second of this process's CPU time (less sensitive to a busy machine). */
interface Rates {
  assign: number;
  release: number;
  assignCpu?: number;
}

async function withStore<T>(kind: string, fn: (s: Datastore) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'mgy-ipam-bench-'));
  const store = await openDatastore(kind === 'file' ? `file:${dir}` : 'memory', { log: silentLogger() });
  try {
    return await fn(store);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function runMargay(kind: string, inFlight: number): Promise<Rates> {
  return withStore(kind, async (store) => {
    await store.create({
      apiVersion: 'margay.dev/v1',
      kind: 'IPPool',
      metadata: { name: 'bench' },
      spec: { cidr: '10.96.0.0/16', blockSize: 26 },
    });
    const ipams = Array.from({ length: NODES }, () => new Ipam({ store, log: silentLogger() }));
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    let next = 0;
    const lane = async () => {
      for (let i = next++; i < COUNT; i = next++) {
        await ipams[i % NODES]!.assign({
          network: 'bench',
          containerId: `c${i}`,
          node: `node-${i % NODES}`,
          pod: { namespace: 'bench', name: `p${i}` },
          podAnnotations: {},
          namespaceAnnotations: {},
        });
      }
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
    const t1 = performance.now();
    const c1 = process.cpuUsage(c0);
    next = 0;
    const releaseLane = async () => {
      for (let i = next++; i < COUNT; i = next++) await ipams[i % NODES]!.releaseByHandle(`bench.c${i}`);
    };
    await Promise.all(Array.from({ length: inFlight }, releaseLane));
    const t2 = performance.now();
    const report = await ipams[0]!.check();
    if (report.summary.allocations !== 0 || report.problems.length !== 0)
      throw new Error(`bench left state behind: ${JSON.stringify(report.summary)}`);
    return {
      assign: (COUNT * 1000) / (t1 - t0),
      release: (COUNT * 1000) / (t2 - t1),
      assignCpu: (COUNT * 1e6) / (c1.user + c1.system),
    };
  });
}

function hostLocal(cmd: 'ADD' | 'DEL', dataDir: string, id: string): Promise<void> {
  const conf = JSON.stringify({
    cniVersion: '1.0.0',
    name: 'bench',
    ipam: { type: 'host-local', ranges: [[{ subnet: '10.97.0.0/16' }]], dataDir },
  });
  return new Promise((resolve, reject) => {
    const p = execFile(
      HOST_LOCAL,
      [],
      {
        env: {
          CNI_COMMAND: cmd,
          CNI_CONTAINERID: id,
          CNI_NETNS: '/proc/self/ns/net',
          CNI_IFNAME: 'eth0',
          CNI_PATH: '/usr/lib/cni',
        },
      },
      (err, _out, stderr) => (err ? reject(new Error(`host-local ${cmd}: ${err.message} ${stderr}`)) : resolve()),
    );
    p.stdin!.end(conf);
  });
}

async function runHostLocal(n: number): Promise<Rates> {
  const dataDir = await mkdtemp(join(tmpdir(), 'mgy-hl-bench-'));
  try {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await hostLocal('ADD', dataDir, `c${i}`);
    const t1 = performance.now();
    for (let i = 0; i < n; i++) await hostLocal('DEL', dataDir, `c${i}`);
    const t2 = performance.now();
    return { assign: (n * 1000) / (t1 - t0), release: (n * 1000) / (t2 - t1) };
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

function summary(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const med = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return `${med.toFixed(0)}/s (min ${s[0]!.toFixed(0)}, max ${s[s.length - 1]!.toFixed(0)})`;
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
console.log(
  `IPAM bench: ${COUNT} assigns then ${COUNT} releases, ${NODES} node(s), ${RUNS} runs; load before: ${load()}`,
);
const rows: [string, Rates[]][] = [];
for (const kind of values.stores.split(',').filter(Boolean)) {
  for (const c of CONCURRENCY) {
    const rs: Rates[] = [];
    for (let r = 0; r < RUNS; r++) rs.push(await runMargay(kind, c));
    rows.push([`margay Ipam, ${kind} store, ${c} in flight`, rs]);
  }
}
const hl = Number(values['host-local']);
let hlAvailable = hl > 0;
try {
  await access(HOST_LOCAL);
} catch (err) {
  console.log(`host-local not run: ${HOST_LOCAL}: ${(err as NodeJS.ErrnoException).code}`);
  hlAvailable = false;
}
if (hlAvailable) {
  const rs: Rates[] = [];
  for (let r = 0; r < RUNS; r++) rs.push(await runHostLocal(hl));
  rows.push([`host-local plugin (${hl} exec ADD/DEL)`, rs]);
}
for (const [name, rs] of rows) {
  const cpu = rs.every((r) => r.assignCpu !== undefined)
    ? `  assign per CPU-second ${summary(rs.map((r) => r.assignCpu!))}`
    : '';
  console.log(
    `${name.padEnd(46)} assign ${summary(rs.map((r) => r.assign)).padEnd(34)} release ${summary(rs.map((r) => r.release)).padEnd(34)}${cpu}`,
  );
}
console.log(`load after: ${load()}`);
