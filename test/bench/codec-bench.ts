/**
 * Codec micro-benchmark (prints figures; not a timed test). 1M IPv4 /24–/32 prefixes with realistic
 * attributes are packed into UPDATEs, framed from 64 KiB chunks, decoded, and their NLRI iterated.
 *
 *   npx tsc --module nodenext --moduleResolution nodenext --target es2022 --skipLibCheck --types node \
 *     --rootDir . --outDir dist test/bench/codec-bench.ts && node dist/test/bench/codec-bench.js [--prefixes N] [--runs R]
 */
import { performance } from 'node:perf_hooks';
import {
  decodeMessage,
  decodeOptions,
  encodePathAttributes,
  forEachNlri,
  Framer,
  packUpdates,
  type PrefixBatch,
  type UpdateMessage,
} from '../../bgp/codec/index.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const N = arg('prefixes', 1_000_000);
const RUNS = arg('runs', 5);
const PER_GROUP = 800; // prefixes sharing one attribute set (≈ one 4 KiB UPDATE of /24s)

function makeBatch(n: number): PrefixBatch {
  const lengths = new Uint8Array(n);
  const addresses = new Uint8Array(n * 4);
  let seed = 12345;
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const len = 24 + (seed % 9);
    const a = (0x0b000000 + i * 256) >>> 0; // distinct /24 blocks from 11.0.0.0
    addresses[4 * i] = a >>> 24;
    addresses[4 * i + 1] = (a >>> 16) & 255;
    addresses[4 * i + 2] = (a >>> 8) & 255;
    addresses[4 * i + 3] = len > 24 ? (seed >>> 8) & 255 : 0;
    lengths[i] = len;
  }
  return { afi: 1, count: n, lengths, addresses };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function main(): void {
  const batch = makeBatch(N);
  const enc = { fourOctetAs: true, extendedMessages: false };
  const attrSets = Array.from({ length: 64 }, (_, g) =>
    encodePathAttributes(
      {
        origin: 0,
        asPath: [{ type: 2, asns: [65001, 3356 + g, 174, 64512 + (g % 7)] }],
        nextHop: '192.0.2.1',
        med: g * 10,
        communities: [65001 * 65536 + g, 65001 * 65536 + 100],
        largeCommunities: [{ global: 65001, local1: g, local2: 7 }],
      },
      enc,
    ),
  );
  const opts = decodeOptions({ localAs: 65000, peerAs: 65001 });
  const packT: number[] = [];
  const frameT: number[] = [];
  const decodeT: number[] = [];
  const iterT: number[] = [];
  let msgs: Buffer[] = [];
  let checksum = 0;
  for (let run = 0; run < RUNS; run++) {
    let t = performance.now();
    msgs = [];
    for (let from = 0, g = 0; from < N; from += PER_GROUP, g++) {
      const to = Math.min(N, from + PER_GROUP);
      for (const m of packUpdates({
        attributes: attrSets[g % attrSets.length]!,
        prefixes: batch,
        from,
        to,
        addPath: false,
        maxMessageLength: 4096,
      }))
        msgs.push(m);
    }
    packT.push(performance.now() - t);

    const stream = Buffer.concat(msgs);
    t = performance.now();
    const framer = new Framer();
    const framed: Buffer[] = [];
    for (let off = 0; off < stream.length; off += 65536)
      for (const m of framer.push(stream.subarray(off, off + 65536))) framed.push(m);
    frameT.push(performance.now() - t);

    t = performance.now();
    const updates: UpdateMessage[] = [];
    for (const m of framed) updates.push(decodeMessage(m, opts) as UpdateMessage);
    decodeT.push(performance.now() - t);

    t = performance.now();
    let count = 0;
    let sum = 0;
    const visit = (_id: number, len: number, buf: Buffer, off: number): void => {
      count++;
      sum = (sum + len + buf[off]!) | 0;
    };
    for (const u of updates) forEachNlri(u.nlri, visit);
    iterT.push(performance.now() - t);
    if (count !== N) throw new Error(`iterated ${count} prefixes, expected ${N}`);
    checksum = sum;
  }
  const bytes = msgs.reduce((s, m) => s + m.length, 0);
  const row = (name: string, xs: number[]): string =>
    `${name.padEnd(34)} median ${median(xs).toFixed(1).padStart(7)} ms   (runs: ${xs.map((x) => x.toFixed(0)).join(', ')})`;
  console.log(`prefixes ${N}, UPDATE messages ${msgs.length}, bytes ${bytes}, runs ${RUNS}, checksum ${checksum}`);
  console.log(row('packUpdates (encode)', packT));
  console.log(row('Framer.push (64 KiB chunks)', frameT));
  console.log(row('decodeMessage (attrs + NLRI scan)', decodeT));
  console.log(row('forEachNlri over all prefixes', iterT));
  console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
}

main();
