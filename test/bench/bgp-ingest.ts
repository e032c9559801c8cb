/**
 * BGP ingest benchmark: N IPv4 prefixes with realistic attributes, packed into full UPDATEs, over one
 * eBGP session into a target; time until the target holds all N in its RIB and until it has
 * re-advertised all N to a collector peer, and the target's peak RSS. Targets: margay-bgpd, BIRD,
 * FRR, GoBGP — same machine, same run, median of `--runs`.
 *
 *   npm run build && scripts/in-sandbox.sh node dist/test/bench/bgp-ingest.js \
 *     --sizes 100000,1000000 --targets margay,bird,frr,gobgp --runs 3 [--shuffle]
 *
 * `--shuffle` sends the same prefixes in a fixed pseudo-random order instead of address order.
 * `--per-update K` packs at most K prefixes per UPDATE (`--per-update 1`: one prefix per UPDATE).
 * `--peers P` (default 1): P injector sessions (10.0.1.2, .3, …; AS 65001, 65101, 65102, …), each
 *   announcing N distinct prefixes of its own, so the target holds and re-advertises P × N. Every
 *   target exports nothing to the injectors (BIRD `export none`, FRR route-map deny, margay-bgpd a
 *   reject-all policy), only to the collector; GoBGP's configuration here has no export policy (it
 *   also sends every route to every other injector), so its multi-peer figures are not comparable.
 * `--control-probe` (margay and BIRD): while the table arrives, one client sends status requests back to
 *   back on the target's control socket over one kept-open connection — margay-bgpd `GET /peers` (what
 *   `margayctl bgp peers` sends), BIRD `show protocols` on bird.ctl — and the latencies are reported (p50/p99/max), next to the same
 *   probe on the idle daemon just before; BIRD's figures are the reference for this machine's load.
 * margay-bgpd starts as shipped: the npm bin `dist/bin/margay-bgpd.js` run as a program (its `#!` line
 * starts Node with the memory settings; it loads the esbuild bundle with the compile cache on).
 * `--bgpd tsc` runs the unbundled tsc output instead (`node dist/bgp/main.js`, which re-executes itself
 * with the same settings; `MARGAY_BGPD_TUNED=0` in the environment then measures it without them).
 * Topology (inside the sandbox's private network namespace): the target runs in its own namespace
 * `T`; the injector (AS 65001, 10.0.1.2) and the collector (AS 65003, 10.0.2.2) are worker threads of
 * this process, each on its own veth into T (target: AS 65002, 10.0.1.1 / 10.0.2.1). The target's FIB
 * is off (BIRD: no kernel protocol; FRR: zebra + bgpd -n; GoBGP: no zebra; margay-bgpd: fib disabled).
 * RIB time is found by polling the target every 25 ms plus the poll's own latency (birdc ≈5 ms, vtysh ≈50 ms, gobgp ≈20 ms; margay-bgpd:
 * its control API from this process, ≈2 ms idle): it is an upper bound. The re-advertised time is exact (the collector sees the last prefix).
 */
import { Worker } from 'node:worker_threads';
import { readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { execa, type ResultPromise } from 'execa';
import { createNetns, deleteNetns, run } from '../helpers/netns.js';
import { peakRss, sleep, startBird, startFrr, startGobgp, waitFor, type DaemonHandle } from '../helpers/bgp-daemons.js';
import { ControlClient } from '../../bgp/control/client.js';
import { ipToU32 } from './bgp-wire.js';
import type { PeerSessionSpec } from './bgp-peer-worker.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

type TargetKind = 'margay' | 'bird' | 'frr' | 'gobgp';
interface Target {
  readonly handle: DaemonHandle;
  ribCount(): Promise<number>;
  /** margay only: one control API status request (what `margayctl bgp peers` sends). */
  probe?(): Promise<unknown>;
}
interface Probe {
  idle: number[];
  busy: number[];
}
interface RunResult {
  ribSeconds: number;
  advSeconds: number;
  peakRssMb: number;
  sendSeconds: number;
  /** Minor page faults of the target during the ingest (first touches of fresh memory: costly in a VM). */
  minorFaults: number;
  /** RSS of the target with its sessions up, before the first UPDATE (MB). */
  idleRssMb: number;
  /** RSS of the target once the whole table is re-advertised (MB). */
  endRssMb: number;
  /**
   * Of endRssMb: anonymous memory (heap, JIT code, malloc; RssAnon) and pages of mapped files (the
   * executable and libraries; RssFile, shared with other processes running them).
   */
  endAnonMb: number;
  endFileMb: number;
  probe?: Probe;
}

/** A kB field of /proc/PID/status (VmRSS, RssAnon, RssFile, …) now, bytes, summed over the given processes. */
async function statusBytes(pids: readonly number[], field = 'VmRSS'): Promise<number> {
  let n = 0;
  for (const pid of pids) {
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    n += Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  }
  return n;
}

/** Resident set size now (VmRSS), bytes, summed over the given processes. */
const currentRss = (pids: readonly number[]): Promise<number> => statusBytes(pids);

/** Profiling aid (BGP_BENCH_SMAPS=1): resident kB per mapping name, largest first. */
async function printSmaps(when: string, pids: readonly number[]): Promise<void> {
  for (const pid of pids) {
    const text = await readFile(`/proc/${pid}/smaps`, 'utf8');
    const byName = new Map<string, number>();
    let name = '';
    for (const line of text.split('\n')) {
      const m = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
      if (m) name = m[1] || '[anon]';
      else if (line.startsWith('Rss:')) byName.set(name, (byName.get(name) ?? 0) + Number(line.split(/\s+/)[1]));
    }
    const top = [...byName].sort((a, b) => b[1] - a[1]).slice(0, 6);
    console.log(`smaps ${when} pid ${pid}: ${top.map(([n, kb]) => `${n} ${(kb / 1024).toFixed(1)} MB`).join(', ')}`);
  }
}

/**
 * Profiling aid (BGP_BENCH_PAUSE_MS=N): hold the target N ms at idle (sessions up, before the first
 * UPDATE) and at the end (whole table re-advertised), printing its pids, so /proc/PID/smaps, pagemap or
 * a heap snapshot can be taken from outside. The figures of such a run are not comparable.
 */
async function pauseForInspection(when: string, kind: TargetKind, pids: readonly number[]): Promise<void> {
  const ms = Number(process.env.BGP_BENCH_PAUSE_MS ?? 0);
  if (!(ms > 0)) return;
  console.log(`pause ${when}: ${kind} pids ${pids.join(',')} for ${ms} ms`);
  await sleep(ms);
}

/** Minor page faults so far of the given processes (/proc/PID/stat field 10). */
async function minorFaults(pids: readonly number[]): Promise<number> {
  let n = 0;
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    n += Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7] ?? 0);
  }
  return n;
}

const TARGET_IP = { inj: '10.0.1.1', col: '10.0.2.1' };
const PEER_IP = { inj: '10.0.1.2', col: '10.0.2.2' };
const AS = { inj: 65001, target: 65002, col: 65003 };
const PEERS = Number(arg('peers', '1'));
/** Injector k: its address and AS (k = 0 is the single-injector bench's peer). */
const INJECTORS = Array.from({ length: PEERS }, (_, k) => ({
  name: k === 0 ? 'inj' : `inj${k}`,
  ip: `10.0.1.${2 + k}`,
  asn: k === 0 ? AS.inj : 65100 + k,
}));
const BASE = ipToU32('100.64.0.0'); // /32s from 100.64.0.0/10: room for 4M
const REPO = fileURLToPath(new URL('../../..', import.meta.url));

async function startTarget(kind: TargetKind, ns: string, workdir: string): Promise<Target> {
  switch (kind) {
    case 'bird': {
      const h = await startBird(
        ns,
        `router id ${TARGET_IP.inj};
protocol device {}
${INJECTORS.map((p) => `protocol bgp ${p.name} { local ${TARGET_IP.inj} as ${AS.target}; neighbor ${p.ip} as ${p.asn}; ipv4 { import all; export none; }; }`).join('\n')}
protocol bgp col { local ${TARGET_IP.col} as ${AS.target}; neighbor ${PEER_IP.col} as ${AS.col}; ipv4 { import none; export all; }; }`,
      );
      const ribCount =
        PEERS === 1
          ? () => h.importedCount('inj')
          : async () => {
              // One birdc for all protocols: "Routes: N imported" per protocol (the collector imports none).
              const out = await h.birdc('show', 'protocols', 'all');
              let n = 0;
              for (const m of out.matchAll(/Routes:\s+(\d+) imported/g)) n += Number(m[1]);
              return n;
            };
      return { handle: h, ribCount, probe: birdStatusProbe(join(h.workdir, 'bird.ctl')) };
    }
    case 'frr': {
      const h = await startFrr(
        ns,
        `frr defaults traditional
router bgp ${AS.target}
 bgp router-id ${TARGET_IP.inj}
 no bgp ebgp-requires-policy
 ${INJECTORS.map((p) => `neighbor ${p.ip} remote-as ${p.asn}`).join('\n ')}
 neighbor ${PEER_IP.col} remote-as ${AS.col}
 address-family ipv4 unicast
  ${INJECTORS.map((p) => `neighbor ${p.ip} route-map NONE out`).join('\n  ')}
 exit-address-family
!
route-map NONE deny 10`,
        { zebra: true, noKernel: true },
      );
      return {
        handle: h,
        ribCount: async () => {
          const peers = await h.peers();
          return INJECTORS.reduce((n, p) => n + (peers[p.ip]?.pfxRcd ?? 0), 0);
        },
      };
    }
    case 'gobgp': {
      const h = await startGobgp(
        ns,
        `[global.config]
  as = ${AS.target}
  router-id = "${TARGET_IP.inj}"
${INJECTORS.map(
  (p) => `[[neighbors]]
  [neighbors.config]
    neighbor-address = "${p.ip}"
    peer-as = ${p.asn}
`,
).join('')}[[neighbors]]
  [neighbors.config]
    neighbor-address = "${PEER_IP.col}"
    peer-as = ${AS.col}
`,
      );
      return {
        handle: h,
        ribCount: async () => {
          const out = await h.gobgp('global', 'rib', 'summary');
          const m = /Destination:\s*(\d+)/.exec(out);
          return m ? Number(m[1]) : 0;
        },
      };
    }
    case 'margay':
      return startMargay(ns, workdir);
  }
}

/**
 * BIRD's status request on its own control socket, without a birdc process per request: one connection,
 * `show protocols` (what `birdc show protocols` sends), the reply read up to its last line (a 4-digit
 * code followed by a space). The same kind of probe as margay's GET /peers, for a ratio in the same run.
 */
function birdStatusProbe(ctlPath: string): () => Promise<unknown> {
  let conn: Promise<{ sock: import('node:net').Socket; read: () => Promise<string> }> | undefined;
  const open = async () => {
    const { connect } = await import('node:net');
    const sock = connect(ctlPath);
    let buf = '';
    let wake: (() => void) | undefined;
    sock.on('data', (d: Buffer) => {
      buf += d.toString();
      wake?.();
    });
    sock.on('error', () => wake?.());
    const read = async (): Promise<string> => {
      for (;;) {
        const m = /(^|\n)\d{4} [^\n]*\n/.exec(buf);
        if (m) {
          const out = buf.slice(0, m.index + m[0].length);
          buf = buf.slice(m.index + m[0].length);
          return out;
        }
        if (sock.destroyed) throw new Error('BIRD control socket closed');
        await new Promise<void>((r) => (wake = r));
      }
    };
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    await read(); // "0001 BIRD x.y ready."
    return { sock, read };
  };
  return async () => {
    conn ??= open();
    const c = await conn;
    c.sock.write('show protocols\n');
    return c.read();
  };
}

/**
 * margay-bgpd's status request over one persistent HTTP/1.1 connection written by hand (like BIRD's
 * probe: no client library, no connection per request), response read by its content-length.
 */
function margayStatusProbe(socketPath: string): () => Promise<unknown> {
  let conn: Promise<{ sock: import('node:net').Socket; read: () => Promise<string> }> | undefined;
  const open = async () => {
    const { connect } = await import('node:net');
    const sock = connect(socketPath);
    let buf = Buffer.alloc(0);
    let wake: (() => void) | undefined;
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      wake?.();
    });
    sock.on('error', () => wake?.());
    const read = async (): Promise<string> => {
      for (;;) {
        const head = buf.indexOf('\r\n\r\n');
        if (head >= 0) {
          const m = /content-length: *(\d+)/i.exec(buf.subarray(0, head).toString());
          const end = head + 4 + Number(m?.[1] ?? 0);
          if (buf.length >= end) {
            const out = buf.subarray(head + 4, end).toString();
            buf = buf.subarray(end);
            return out;
          }
        }
        if (sock.destroyed) throw new Error('margay-bgpd control socket closed');
        await new Promise<void>((r) => (wake = r));
      }
    };
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    return { sock, read };
  };
  return async () => {
    conn ??= open();
    const c = await conn;
    c.sock.write('GET /peers HTTP/1.1\r\nHost: margay-bgpd\r\n\r\n');
    return c.read();
  };
}

/** margay-bgpd from the build, FIB off, RIB count from its control API. */
async function startMargay(ns: string, workdir: string): Promise<Target> {
  const conf = join(workdir, 'margay-bgpd.yaml');
  const socket = join(workdir, 'bgpd.sock');
  await writeFile(
    conf,
    `routerId: ${TARGET_IP.inj}
asn: ${AS.target}
ebgpRequiresPolicy: false
fib: { enabled: false }
control: { socket: ${socket} }
policies:
  none: { defaultAction: reject }
peers:
${INJECTORS.map((p) => `  - { address: ${p.ip}, asn: ${p.asn}, passive: true, export: none }\n`).join('')}  - { address: ${PEER_IP.col}, asn: ${AS.col}, passive: true }
`,
  );
  const program =
    BGPD_BUILD === 'tsc' ? [process.execPath, join(REPO, 'dist/bgp/main.js')] : [join(REPO, 'dist/bin/margay-bgpd.js')];
  const child: ResultPromise = execa('ip', ['netns', 'exec', ns, ...program, '--config', conf, '--log-level', 'warn'], {
    // The bin's #! line finds `node` on PATH: the one running this bench.
    env: { PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` },
    reject: false,
    detached: true,
    // Profiling aid: BGP_BENCH_TARGET_STDOUT=FILE keeps margay-bgpd's stdout (e.g. with --trace-gc in its #! line).
    stdio: [
      'ignore',
      process.env.BGP_BENCH_TARGET_STDOUT ? { file: process.env.BGP_BENCH_TARGET_STDOUT } : 'ignore',
      'pipe',
    ],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const pid = child.pid!;
  // The control API from this process (no margayctl process per poll: that cost ≈0.3 s of CPU each on
  // this 2-core machine, taken from the target under test).
  const client = new ControlClient(socket);
  await waitFor(
    'margay-bgpd control socket',
    async () => {
      if (child.exitCode !== null && child.exitCode !== undefined) throw new Error(`margay-bgpd exited: ${stderr}`);
      return client.peers().then(
        () => true,
        () => false,
      );
    },
    60_000, // start-up takes ≈ 0.5 s idle, but many seconds at a load average of 100 or more
    100,
  );
  return {
    handle: {
      kind: 'bird' as never,
      ns,
      workdir,
      pids: async () => [pid],
      log: async () => stderr,
      // SIGTERM (a clean stop, so `--cpu-prof` in NODE_OPTIONS writes its profile), SIGKILL after 5 s.
      stop: async () => {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          /* already gone */
        }
        const t = setTimeout(() => {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* already gone */
          }
        }, 5000);
        await child;
        clearTimeout(t);
      },
    },
    ribCount: async () => {
      const injectors = new Set(INJECTORS.map((p) => p.ip));
      let n = 0;
      for (const p of await client.peers()) {
        if (injectors.has(p.address)) n += p.prefixesAccepted ?? p.prefixesReceived ?? 0;
      }
      return n;
    },
    probe: margayStatusProbe(socket),
  };
}

const SHUFFLE = process.argv.includes('--shuffle');
const BGPD_BUILD = arg('bgpd', 'bin');
if (BGPD_BUILD !== 'bin' && BGPD_BUILD !== 'tsc') throw new Error(`--bgpd: 'bin' or 'tsc', not ${BGPD_BUILD}`);
const CONTROL_PROBE = process.argv.includes('--control-probe');
const PER_UPDATE = process.argv.includes('--per-update') ? Number(arg('per-update', '0')) : undefined;

/** Back-to-back status requests until `stop()`; latencies in ms. */
function startProbe(t: Target): { stop(): Promise<number[]> } {
  const lat: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      await t.probe!();
      lat.push(performance.now() - t0);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return lat;
    },
  };
}

function startPeer(
  role: 'inject' | 'collect',
  count: number,
  attrSets: number,
): { w: Worker; next: (ev: string, timeoutMs: number) => Promise<Record<string, unknown>> } {
  const sessions: PeerSessionSpec[] =
    role === 'inject'
      ? INJECTORS.map((p, k) => ({ localAddress: p.ip, asn: p.asn, routerId: p.ip, base: BASE + k * count }))
      : [{ localAddress: PEER_IP.col, asn: AS.col, routerId: PEER_IP.col, base: BASE }];
  const w = new Worker(new URL('./bgp-peer-worker.js', import.meta.url), {
    workerData: {
      role,
      count: role === 'inject' ? count : count * PEERS,
      sessions,
      attrSets,
      shuffle: SHUFFLE,
      ...(PER_UPDATE !== undefined && { perUpdate: PER_UPDATE }),
      host: role === 'inject' ? TARGET_IP.inj : TARGET_IP.col,
      port: 179,
    },
  });
  const queue: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  w.on('message', (m: Record<string, unknown>) => {
    queue.push(m);
    waiters.splice(0).forEach((f) => f());
  });
  const next = async (ev: string, timeoutMs: number): Promise<Record<string, unknown>> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = queue.findIndex((m) => m.ev === ev || m.ev === 'error');
      if (i >= 0) {
        const m = queue.splice(i, 1)[0]!;
        if (m.ev === 'error') throw new Error(`${role} peer: ${String(m.message)}`);
        return m;
      }
      if (Date.now() > deadline) throw new Error(`${role} peer: no '${ev}' within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 100);
      });
    }
  };
  return { w, next };
}

async function oneRun(kind: TargetKind, count: number, attrSets: number, timeoutMs: number): Promise<RunResult> {
  const ns = await createNetns('bt');
  const workdir = await mkdtemp(join(tmpdir(), 'mgy-bench-'));
  let target: Target | undefined;
  const peers: Worker[] = [];
  try {
    for (const [side, ifn] of [
      ['inj', 'mbi'],
      ['col', 'mbc'],
    ] as const) {
      await run('ip', ['link', 'add', `${ifn}0`, 'type', 'veth', 'peer', 'name', `${ifn}1`, 'netns', ns]);
      for (const ip of side === 'inj' ? INJECTORS.map((p) => p.ip) : [PEER_IP.col]) {
        await run('ip', ['addr', 'add', `${ip}/24`, 'dev', `${ifn}0`]);
      }
      await run('ip', ['link', 'set', `${ifn}0`, 'up']);
      await run('ip', ['-n', ns, 'addr', 'add', `${TARGET_IP[side]}/24`, 'dev', `${ifn}1`]);
      await run('ip', ['-n', ns, 'link', 'set', `${ifn}1`, 'up']);
    }
    target = await startTarget(kind, ns, workdir);
    const inj = startPeer('inject', count, attrSets);
    const col = startPeer('collect', count, attrSets);
    peers.push(inj.w, col.w);
    await Promise.all([inj.next('established', 30_000), col.next('established', 30_000)]);
    let idle: number[] = [];
    if (CONTROL_PROBE && target.probe) {
      const p = startProbe(target);
      await sleep(1500);
      idle = await p.stop();
    } else {
      await sleep(1500); // FRR's ~1 s update-group timer after a session comes up; same wait for all
    }
    const busyProbe = CONTROL_PROBE && target.probe ? startProbe(target) : undefined;
    const faults0 = await minorFaults(await target.handle.pids());
    const idleRss = await currentRss(await target.handle.pids());
    if (process.env.BGP_BENCH_SMAPS && kind === 'margay') await printSmaps('idle', await target.handle.pids());
    await pauseForInspection('idle', kind, await target.handle.pids());
    inj.w.postMessage({ cmd: 'go' });
    const sent = await inj.next('sent', timeoutMs);
    const t0 = sent.t0 as number;
    let ribAt: number | undefined;
    const donePromise = col.next('done', timeoutMs);
    let advAt: number | undefined;
    void donePromise.then(
      (m) => (advAt = m.t as number),
      () => undefined,
    );
    const deadline = Date.now() + timeoutMs;
    while (ribAt === undefined) {
      if ((await target.ribCount()) >= count * PEERS) ribAt = performance.timeOrigin + performance.now();
      else if (Date.now() > deadline)
        throw new Error(`${kind}: RIB did not reach ${count * PEERS} within ${timeoutMs} ms`);
      else await sleep(25);
    }
    await donePromise;
    const busy = busyProbe ? await busyProbe.stop() : undefined;
    const pids = await target.handle.pids();
    const faults = (await minorFaults(pids)) - faults0;
    const endRss = await currentRss(pids);
    const endAnon = await statusBytes(pids, 'RssAnon');
    const endFile = await statusBytes(pids, 'RssFile');
    if (process.env.BGP_BENCH_SMAPS && kind === 'margay') await printSmaps('end', pids);
    await pauseForInspection('end', kind, pids);
    let rss = 0;
    for (const p of pids) rss += await peakRss(p);
    // Profiling aid: BGP_BENCH_END_SIGNAL=SIGUSR2 with NODE_OPTIONS=--heapsnapshot-signal=SIGUSR2 gives a
    // heap snapshot of margay-bgpd holding the whole table (taken after the figures above are read).
    const endSignal = process.env.BGP_BENCH_END_SIGNAL;
    if (endSignal && kind === 'margay') {
      for (const p of pids) process.kill(p, endSignal as NodeJS.Signals);
      await sleep(Number(process.env.BGP_BENCH_END_WAIT_MS ?? 15000));
    }
    return {
      ribSeconds: (ribAt - t0) / 1000,
      advSeconds: (advAt! - t0) / 1000,
      peakRssMb: rss / 2 ** 20,
      sendSeconds: ((sent.t as number) - t0) / 1000,
      minorFaults: faults,
      idleRssMb: idleRss / 2 ** 20,
      endRssMb: endRss / 2 ** 20,
      endAnonMb: endAnon / 2 ** 20,
      endFileMb: endFile / 2 ** 20,
      ...(busy && { probe: { idle, busy } }),
    };
  } catch (err) {
    const log = target ? (await target.handle.log()).slice(-2000) : '';
    throw new Error(`${kind} N=${count}: ${(err as Error).message}${log ? `\n--- target log tail ---\n${log}` : ''}`, {
      cause: err,
    });
  } finally {
    await Promise.all(peers.map((w) => w.terminate()));
    if (target) await target.handle.stop();
    // Delete our veth ends explicitly: a namespace's links go away asynchronously after `netns del`,
    // and the next run reuses these names.
    for (const ifn of ['mbi0', 'mbc0']) await execa('ip', ['link', 'del', ifn], { reject: false });
    await deleteNetns(ns);
    await rm(workdir, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const pct = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? NaN;
};
const latency = (xs: readonly number[]): string =>
  `n=${xs.length} p50 ${pct(xs, 0.5).toFixed(1)} ms, p99 ${pct(xs, 0.99).toFixed(1)} ms, max ${xs.reduce((m, x) => (x > m ? x : m), Number.NEGATIVE_INFINITY).toFixed(1)} ms`;
const probes = new Map<string, Probe[]>();
/** N as printed: `P×N` with several injectors. */
const sizeLabel = (n: number): string => (PEERS > 1 ? `${PEERS}×${n}` : `${n}`);

function tableRow(kind: TargetKind, n: number, results: readonly RunResult[], runs: number): string {
  if (results.length === 0) return `| ${kind} | ${sizeLabel(n)} | failed | failed | – | – | 0/${runs} |`;
  const spread = (xs: number[], d: number): string =>
    `${median(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)})`;
  const col = (f: (r: RunResult) => number, d: number): string => spread(results.map(f), d);
  return `| ${kind} | ${sizeLabel(n)} | ${col((x) => x.ribSeconds, 2)} | ${col((x) => x.advSeconds, 2)} | ${col((x) => x.peakRssMb, 1)} | ${col((x) => x.endAnonMb, 1)} | ${results.length}/${runs} |`;
}

async function main(): Promise<void> {
  if (process.env.MARGAY_IN_SANDBOX !== '1') {
    console.error('run inside the sandbox: scripts/in-sandbox.sh node dist/test/bench/bgp-ingest.js [...]');
    process.exit(2);
  }
  const sizes = arg('sizes', '100000,1000000').split(',').map(Number);
  const targets = arg('targets', 'margay,bird,frr,gobgp').split(',') as TargetKind[];
  const runs = Number(arg('runs', '3'));
  const attrSets = Number(arg('attr-sets', '500'));
  const timeoutMs = Number(arg('timeout', '240')) * 1000;
  const rows: string[] = [];
  console.log(
    `# BGP ingest benchmark: ${runs} runs each, median; /32 prefixes, ${attrSets} attribute sets, ≤4096-byte UPDATEs${PEERS > 1 ? `, ${PEERS} injector sessions with N distinct prefixes each` : ''}${PER_UPDATE !== undefined ? `, ≤${PER_UPDATE} prefixes per UPDATE` : ''}, prefixes ${SHUFFLE ? 'in shuffled order' : 'in address order'}; load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  for (const n of sizes) {
    // Interleaved (run 1 of every target, then run 2, …): on a shared machine the load drifts, and the
    // ratio between targets is only fair when their runs sit side by side in time.
    const results = new Map<TargetKind, RunResult[]>(targets.map((k) => [k, []]));
    for (let r = 0; r < runs; r++) {
      for (const kind of targets) {
        try {
          const res = await oneRun(kind, n, attrSets, timeoutMs);
          results.get(kind)!.push(res);
          console.log(
            `${kind} N=${sizeLabel(n)} run ${r + 1}: rib ${res.ribSeconds.toFixed(2)} s, re-advertised ${res.advSeconds.toFixed(2)} s, peak RSS ${res.peakRssMb.toFixed(1)} MB (idle ${res.idleRssMb.toFixed(0)}, end ${res.endRssMb.toFixed(0)}: anon ${res.endAnonMb.toFixed(1)} + files ${res.endFileMb.toFixed(1)}), ${res.minorFaults} minor faults (injector wrote all in ${res.sendSeconds.toFixed(2)} s; load ${loadavg()[0]!.toFixed(1)})`,
          );
          if (res.probe) {
            console.log(
              `  control API GET /peers: idle ${latency(res.probe.idle)}; during ingest ${latency(res.probe.busy)}`,
            );
            probes.set(kind, [...(probes.get(kind) ?? []), res.probe]);
          }
        } catch (err) {
          console.log(`${kind} N=${sizeLabel(n)} run ${r + 1}: FAILED — ${(err as Error).message}`);
        }
      }
    }
    for (const kind of targets) rows.push(tableRow(kind, n, results.get(kind)!, runs));
  }
  console.log(
    '\n| target | N | in RIB (s) median (min–max) | re-advertised (s) | peak RSS (MB) | end anon (MB) | runs ok |\n| --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const r of rows) console.log(r);
  for (const [kind, ps] of probes) {
    console.log(
      `\n${kind} control socket status requests (all runs pooled): idle ${latency(ps.flatMap((p) => p.idle))}; during ingest ${latency(ps.flatMap((p) => p.busy))}`,
    );
  }
  console.log(
    `\nload average at the end: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
}

await main();
