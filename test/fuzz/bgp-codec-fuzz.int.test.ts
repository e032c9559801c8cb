/**
 * CI slice of the codec fuzz: 50k random and mutated inputs through the Framer and decodeMessage. The full
 * 1M run is `node dist/test/fuzz/bgp-codec-fuzz.js --iterations 1000000 --seed 1` (docs/bgp-codec.md).
 */
import { describe, expect, it } from 'vitest';
import { decodeMessage } from '../../bgp/codec/index.js';
import { corpus, OPTION_SETS, runFuzz, type Decode } from './bgp-codec-fuzz-core.js';
import { RibSink } from './rib-sink.js';

describe('BGP codec fuzz', () => {
  it('every corpus seed decodes cleanly under every option set', () => {
    for (const m of corpus()) for (const o of OPTION_SETS) expect(() => decodeMessage(m, o)).not.toThrow(TypeError);
  });

  it('50k inputs raise nothing but BgpProtocolError', () => {
    const stats = new Map<string, number>();
    const seed = Date.now() % 1_000_000; // a new slice of the input space each run; failures print the input
    const failures = runFuzz({ iterations: 50_000, seed, maxFailures: 3, stats });
    expect(failures.map((f) => `seed ${seed} options ${f.options} input ${f.input}: ${String(f.error)}`)).toEqual([]);
    // The inputs reach deep: some UPDATEs decode, some are treat-as-withdraw, some reset the session.
    for (const k of [
      'ok update none',
      'ok update treat-as-withdraw',
      'ok update attribute-discard',
      'ok open',
      'error 3/1',
      'error 1/2',
    ]) {
      expect(stats.get(k) ?? 0, k).toBeGreaterThan(0);
    }
  }, 120_000);

  it('pipeline: 20k inputs decoded and ingested into the real RIB raise nothing but BgpProtocolError', () => {
    const rib = new RibSink(OPTION_SETS);
    const seed = Date.now() % 1_000_000;
    const failures = runFuzz({ iterations: 20_000, seed, maxFailures: 3, sink: (o, u) => rib.ingest(o, u) });
    expect(failures.map((f) => `seed ${seed} options ${f.options} input ${f.input}: ${String(f.error)}`)).toEqual([]);
    expect(rib.counts.updates).toBeGreaterThan(500);
    expect(rib.counts.announced).toBeGreaterThan(0);
  }, 120_000);

  it('the harness reports a decoder that throws anything else', () => {
    const buggy: Decode = (msg, opts) => {
      if (msg.length > 40 && msg[40] === 0x18) throw new TypeError('boom');
      return decodeMessage(msg, opts);
    };
    const failures = runFuzz({ iterations: 20_000, seed: 7, decode: buggy });
    expect(failures.length).toBeGreaterThanOrEqual(1);
    expect(String(failures[0]!.error)).toContain('boom');
  });
});
