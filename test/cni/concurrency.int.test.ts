import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { mgyLinks, PLUGIN, Rig } from './harness.js';

// 100 pods started at once on one node: every ADD through the plugin binary, all at the same time:
// no failure, no address handed out twice, and 100 concurrent DELs leave nothing behind. How long
// the burst takes (target ≤ 3 s) is measured by test/bench/cni.ts --burst, side by side with
// ptp + host-local (benchmarks are scripts, never timed tests: docs/architecture.md).
let rig: Rig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

const N = 100;

describe('100 concurrent ADDs on one node', () => {
  it('all succeed with distinct addresses, and 100 concurrent DELs clean up', async () => {
    rig = await new Rig().start();
    const pods = [];
    for (let i = 0; i < N; i++) pods.push(await rig.pod());
    const conf = JSON.stringify(rig.conf());
    const t0 = performance.now();
    const results = await Promise.all(
      pods.map((p, i) =>
        execa(PLUGIN, [], { env: rig!.env('ADD', `burst${i}`, p.path), extendEnv: false, input: conf, reject: false }),
      ),
    );
    const addMs = performance.now() - t0;
    const failures = results.filter((r) => r.exitCode !== 0).map((r) => r.stdout);
    expect(failures).toEqual([]);
    const ips = results.map((r) => (JSON.parse(r.stdout) as { ips: { address: string }[] }).ips[0]!.address);
    expect(new Set(ips).size).toBe(N);
    expect((await mgyLinks()).length).toBe(N);
    process.stdout.write(
      `100 concurrent ADDs: ${Math.round(addMs)} ms (load ${(await execa('cat', ['/proc/loadavg'])).stdout})\n`,
    );

    const t1 = performance.now();
    const dels = await Promise.all(
      pods.map((p, i) =>
        execa(PLUGIN, [], { env: rig!.env('DEL', `burst${i}`, p.path), extendEnv: false, input: conf, reject: false }),
      ),
    );
    process.stdout.write(`100 concurrent DELs: ${Math.round(performance.now() - t1)} ms\n`);
    expect(dels.filter((r) => r.exitCode !== 0).map((r) => r.stdout)).toEqual([]);
    expect(await mgyLinks()).toEqual([]);
    expect(rig.ipam.handles.size).toBe(0);
  }, 300_000);
});
