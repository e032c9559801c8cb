/**
 * RIB benchmark (prints figures; not a timed test). N IPv4 prefixes (default 1M, /24 from 11.0.0.0)
 * with realistic attributes (distinct AS paths, communities, MED) are packed 800 per UPDATE from one
 * eBGP peer, ingested (Adj-RIB-In → import policy → Loc-RIB best path), then the outbound UPDATEs for a
 * second eBGP peer (collector) are produced. Reports ingest time, outbound time, heap and RSS.
 *
 *   npx esbuild bgp/rib/rib-bench.ts --bundle --platform=node --format=esm --outfile=/tmp/rib-bench.mjs \
 *     && node --expose-gc /tmp/rib-bench.mjs [--prefixes N] [--runs R] [--per-update 800] [--shuffle] [--v6] [--churn]
 * --shuffle: prefixes in random order instead of address order; --v6: IPv6 /48s in MP_REACH;
 * --churn: then withdraw all N and announce N other prefixes (memory must not double); peer down is
 * also measured in slices (`peerDownStep`) with the longest slice reported.
 */
import { performance } from 'node:perf_hooks';
import { ATTR, ByteWriter, EMPTY_ATTRS, SEG, encodeAttrs, type RouteAttrs } from './attrs.js';
import { Rib } from './rib.js';
import { ribUpdateFromBody } from './update-view.js';
import type { RibUpdate } from './types.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const N = arg('prefixes', 1_000_000);
const RUNS = arg('runs', 3);
const V6 = process.argv.includes('--v6');
const SHUFFLE = process.argv.includes('--shuffle');
const PER = arg('per-update', V6 ? 500 : 800);
const PREALLOC = arg('prealloc', 1024);
const CHURN = process.argv.includes('--churn');
const ACCEPT = { name: 'all', statements: [], defaultResult: 'accept' as const };

function makeUpdates(base = 0x0b000000, withdraw = false): RibUpdate[] {
  const out: RibUpdate[] = [];
  let seed = 7;
  const rnd = (m: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % m;
  };
  const order = Int32Array.from({ length: N }, (_, i) => i);
  if (SHUFFLE)
    for (let i = N - 1; i > 0; i--) {
      const j = (Math.imul(i, 2654435761) >>> 0) % (i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
  for (let start = 0; start < N; start += PER) {
    const n = Math.min(PER, N - start);
    const pathLen = 2 + rnd(5);
    const asns = [65001, ...Array.from({ length: pathLen }, () => 1000 + rnd(60000))];
    const a: RouteAttrs = {
      ...EMPTY_ATTRS,
      origin: rnd(3) === 0 ? 2 : 0,
      asPath: [{ type: SEG.AS_SEQUENCE, asns }],
      nextHop: Uint8Array.of(10, 0, 0, 2),
      med: rnd(100),
      communities: [(65001 << 16) | rnd(500), (65001 << 16) | 1000],
    };
    const w = new ByteWriter(4096);
    if (V6) {
      const attrs = encodeAttrs({ ...a, nextHop: new Uint8Array(0) }, { fourOctetAs: true, nextHopAttr: false });
      w.u16(0);
      const alAt = w.len;
      w.u16(0);
      const at = w.beginAttr(0x80, ATTR.MP_REACH_NLRI);
      w.u16(2);
      w.u8(1);
      w.u8(16);
      w.bytes(Uint8Array.of(0xfd, 0, ...new Array<number>(13).fill(0), 2));
      w.u8(0);
      for (let i = 0; i < n; i++) {
        const v = order[start + i]!;
        w.u8(48);
        w.u16(0x2400);
        w.u16(v >>> 16);
        w.u16(v & 0xffff);
      }
      w.endAttr(at);
      w.bytes(attrs);
      w.buf[alAt] = (w.len - alAt - 2) >>> 8;
      w.buf[alAt + 1] = (w.len - alAt - 2) & 255;
    } else {
      const attrs = encodeAttrs(a, { fourOctetAs: true, nextHopAttr: true });
      if (withdraw) w.u16(n * 4);
      else {
        w.u16(0);
        w.u16(attrs.length);
        w.bytes(attrs);
      }
      for (let i = 0; i < n; i++) {
        const v = (base + order[start + i]! * 256) >>> 0;
        w.u8(24);
        w.u8(v >>> 24);
        w.u8((v >>> 16) & 255);
        w.u8((v >>> 8) & 255);
      }
      if (withdraw) w.u16(0);
    }
    if (w.len + 19 > 4096) throw new Error(`UPDATE too large: ${w.len + 19}`);
    out.push(ribUpdateFromBody(w.buf.subarray(0, w.len)));
  }
  return out;
}

const mb = (n: number): string => (n / 1048576).toFixed(1);

interface RunResult {
  ingest: number;
  out: number;
  cpu: number;
  msgs: number;
  bytes: number;
  heap: number;
  rss: number;
  sets: number;
}

function run(updates: RibUpdate[]): RunResult {
  (globalThis as { gc?: () => void }).gc?.();
  const rib = new Rib({ localAs: 65000, routerId: '10.0.0.1', trackBestChanges: false }, PREALLOC);
  rib.addPeer({
    id: 'inj',
    address: '10.0.0.2',
    peerAs: 65001,
    localAddress: '10.0.0.1',
    localAddressV6: 'fd00::1',
    importPolicy: ACCEPT,
    exportPolicy: ACCEPT,
  });
  rib.addPeer({
    id: 'col',
    address: '10.0.1.2',
    peerAs: 65002,
    localAddress: '10.0.1.1',
    localAddressV6: 'fd01::1',
    importPolicy: ACCEPT,
    exportPolicy: ACCEPT,
  });
  const neg = { fourOctetAs: true, families: [V6 ? ('ipv6' as const) : ('ipv4' as const)] };
  rib.peerUp('inj', { ...neg, peerRouterId: '10.0.0.2' });
  rib.peerUp('col', { ...neg, peerRouterId: '10.0.1.2' });
  rib.takeOutbound('col', 1 << 20);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (const u of updates) rib.ingestUpdate('inj', u);
  const t1 = performance.now();
  let msgs = 0,
    bytes = 0;
  for (;;) {
    const b = rib.takeOutbound('col', 1 << 20);
    if (b.length === 0) break;
    msgs += b.length;
    for (const x of b) bytes += x.length;
  }
  const t2 = performance.now();
  const c1 = process.cpuUsage(c0);
  const mem = process.memoryUsage();
  (globalThis as { gc?: () => void }).gc?.();
  const live = process.memoryUsage();
  console.log(
    `  after gc: rss ${mb(live.rss)} MB, heap ${mb(live.heapUsed)}/${mb(live.heapTotal)} MB, array buffers ${mb(live.arrayBuffers)} MB, RIB typed arrays ${mb(rib.typedArrayBytes)} MB`,
  );
  if (rib.countRoutes().prefixes !== N || rib.peerCounts('col').advertised !== N)
    throw new Error('bench: not all routes made it');
  const drain = (): number => {
    let n = 0;
    for (let b = rib.takeOutbound('col', 1 << 20); b.length > 0; b = rib.takeOutbound('col', 1 << 20)) n += b.length;
    return n;
  };
  if (CHURN && !V6) {
    const before = rib.typedArrayBytes;
    const tc = performance.now();
    for (const u of withdrawals) rib.ingestUpdate('inj', u);
    drain();
    for (const u of others) rib.ingestUpdate('inj', u);
    drain();
    (globalThis as { gc?: () => void }).gc?.();
    const m = process.memoryUsage();
    console.log(
      `  churn: withdrew ${N}, announced ${N} others in ${(performance.now() - tc).toFixed(0)} ms; RIB typed arrays ${mb(before)} → ${mb(rib.typedArrayBytes)} MB, prefix slots ${rib.prefixSlots.ipv4}, rss ${mb(m.rss)} MB`,
    );
    if (rib.prefixSlots.ipv4 !== N) throw new Error('bench: churn leaked prefix slots');
  }
  // Session loss of the injector without graceful restart: every route withdrawn and sent out, in
  // slices of SLICE paths with the outbound written between slices (as the speaker does).
  const t3 = performance.now();
  rib.startPeerDown('inj');
  let wd = 0,
    longest = 0,
    slices = 0;
  for (let more = true; more; ) {
    const s0 = performance.now();
    more = rib.peerDownStep(SLICE);
    wd += drain();
    longest = Math.max(longest, performance.now() - s0);
    slices++;
  }
  const t4 = performance.now();
  if (rib.countRoutes().prefixes !== 0) throw new Error('bench: routes left after peerDown');
  console.log(
    `  peer down: all ${rib.prefixSlots.ipv4 === 0 ? N : -1} withdrawn and ${wd} UPDATEs written in ${(t4 - t3).toFixed(0)} ms, ${slices} slices of ${SLICE} paths, longest ${longest.toFixed(1)} ms`,
  );
  return {
    ingest: t1 - t0,
    out: t2 - t1,
    cpu: (c1.user + c1.system) / 1000,
    msgs,
    bytes,
    heap: mem.heapUsed,
    rss: mem.rss,
    sets: rib.attrSetCount,
  };
}

const SLICE = arg('slice', 20_000);
const rss0 = process.memoryUsage().rss;
const updates = makeUpdates();
const withdrawals = CHURN ? makeUpdates(0x0b000000, true) : [];
const others = CHURN ? makeUpdates(0x40000000) : [];
console.log(
  `baseline rss ${mb(rss0)} MB; ${V6 ? 'IPv6 /48' : 'IPv4 /24'} prefixes${SHUFFLE ? ' (shuffled)' : ''} ${N}, ${updates.length} UPDATEs of ≤${PER} NLRI, node ${process.version}`,
);
const results: RunResult[] = [];
for (let r = 0; r < RUNS; r++) {
  const x = run(updates);
  results.push(x);
  console.log(
    `run ${r + 1}: ingest+best ${x.ingest.toFixed(0)} ms, outbound ${x.out.toFixed(0)} ms (${x.msgs} UPDATEs, ${mb(x.bytes)} MB), total ${(x.ingest + x.out).toFixed(0)} ms (cpu ${x.cpu.toFixed(0)} ms), heap ${mb(x.heap)} MB, rss ${mb(x.rss)} MB, attr sets ${x.sets}`,
  );
}
const med = (f: (x: RunResult) => number): number =>
  results.map(f).sort((a, b) => a - b)[Math.floor(results.length / 2)]!;
console.log(
  `median: ingest+best ${med((x) => x.ingest).toFixed(0)} ms, outbound ${med((x) => x.out).toFixed(0)} ms, total ${med((x) => x.ingest + x.out).toFixed(0)} ms, cpu ${med((x) => x.cpu).toFixed(0)} ms, peak rss ${mb(Math.max(...results.map((x) => x.rss)))} MB`,
);
