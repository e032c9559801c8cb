/**
 * The codec fuzz script. Build, then run:
 *   npx tsc -p tsconfig.build.json          (or the single-file command in docs/bgp-codec.md)
 *   node dist/test/fuzz/bgp-codec-fuzz.js --iterations 1000000 --seed 1 [--pipeline]
 * Exit 0 when no input raised anything but a BgpProtocolError; else prints the input hex and exits 1.
 */
import { OPTION_SETS, runFuzz } from './bgp-codec-fuzz-core.js';
import { RibSink } from './rib-sink.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isInteger(v) || v < 0) {
    process.stderr.write(`--${name} must be a non-negative integer\n`);
    process.exit(2);
  }
  return v;
}

const iterations = arg('iterations', 1_000_000);
const seed = arg('seed', 1);
/** --pipeline: also ingest every accepted UPDATE into the real RIB (bgp/rib), as the speaker does. */
const pipeline = process.argv.includes('--pipeline');
const rib = pipeline ? new RibSink(OPTION_SETS) : undefined;
const started = Date.now();
const stats = new Map<string, number>();
const failures = runFuzz({
  iterations,
  seed,
  maxFailures: 5,
  stats,
  ...(rib && { sink: (o: number, u: Parameters<RibSink['ingest']>[1]) => rib.ingest(o, u) }),
  onProgress: (n) => process.stdout.write(`  ${n} inputs, ${((Date.now() - started) / 1000).toFixed(1)} s\n`),
});
const secs = ((Date.now() - started) / 1000).toFixed(1);
if (failures.length > 0) {
  for (const f of failures) {
    process.stdout.write(`FAIL options=${f.options} input=${f.input}\n`);
    process.stdout.write(`${f.error instanceof Error ? (f.error.stack ?? f.error.message) : String(f.error)}\n`);
  }
  process.exit(1);
}
const outcomes = [...stats.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}: ${v}`);
if (rib) process.stdout.write(`RIB: ${JSON.stringify(rib.counts)}\n`);
process.stdout.write(`outcomes (decodes of raw and framed inputs): ${outcomes.join(', ')}\n`);
process.stdout.write(
  `ok: ${iterations} inputs (seed ${seed}${pipeline ? ', pipeline into bgp/rib' : ''}) in ${secs} s, no exception other than BgpProtocolError\n`,
);
