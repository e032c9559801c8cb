import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { CNI_BIN, mgyLinks, PLUGIN, Rig } from './harness.js';

// 100 pods started at once on one node: every ADD through the plugin binary, all at the same time.
// Target (issue 9): all done within 3 s, no failure, no address handed out twice. The same burst
// through Debian's ptp + host-local runs first as the reference for this machine's load: on a
// machine too busy for ptp itself to finish in 1.5 s the bound is twice ptp's time instead.
let rig: Rig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

const N = 100;

describe('100 concurrent ADDs on one node', () => {
  it('all succeed within 3 s with distinct addresses, and 100 concurrent DELs clean up', async () => {
    rig = await new Rig().start();
    const pods = [];
    for (let i = 0; i < N; i++) pods.push(await rig.pod());
    const conf = JSON.stringify(rig.conf());
    const ref = [];
    for (let i = 0; i < N; i++) ref.push(await rig.pod());
    const ptpConf = JSON.stringify({ cniVersion: '1.0.0', name: 'ptpnet', type: 'ptp', ipam: { type: 'host-local', subnet: '10.88.0.0/16', dataDir: `${rig.dir}/hl` } });
    const tr = performance.now();
    const ptp = await Promise.all(ref.map((p, i) =>
      execa(`${CNI_BIN}/ptp`, [], { env: rig!.env('ADD', `ref${i}`, p.path), extendEnv: false, input: ptpConf, reject: false })));
    const ptpMs = performance.now() - tr;
    expect(ptp.filter((r) => r.exitCode !== 0).map((r) => r.stdout)).toEqual([]);
    for (const [i, p] of ref.entries()) await execa(`${CNI_BIN}/ptp`, [], { env: rig.env('DEL', `ref${i}`, p.path), extendEnv: false, input: ptpConf });
    const t0 = performance.now();
    const results = await Promise.all(pods.map((p, i) =>
      execa(PLUGIN, [], { env: rig!.env('ADD', `burst${i}`, p.path), extendEnv: false, input: conf, reject: false })));
    const addMs = performance.now() - t0;
    const failures = results.filter((r) => r.exitCode !== 0).map((r) => r.stdout);
    expect(failures).toEqual([]);
    const ips = results.map((r) => (JSON.parse(r.stdout) as { ips: { address: string }[] }).ips[0]!.address);
    expect(new Set(ips).size).toBe(N);
    expect((await mgyLinks()).length).toBe(N);
    process.stdout.write(`100 concurrent ADDs: margay ${Math.round(addMs)} ms, ptp + host-local ${Math.round(ptpMs)} ms (load ${(await execa('cat', ['/proc/loadavg'])).stdout})\n`);
    expect(addMs).toBeLessThan(Math.max(3000, 2 * ptpMs));

    const t1 = performance.now();
    const dels = await Promise.all(pods.map((p, i) =>
      execa(PLUGIN, [], { env: rig!.env('DEL', `burst${i}`, p.path), extendEnv: false, input: conf, reject: false })));
    process.stdout.write(`100 concurrent DELs: ${Math.round(performance.now() - t1)} ms\n`);
    expect(dels.filter((r) => r.exitCode !== 0).map((r) => r.stdout)).toEqual([]);
    expect(await mgyLinks()).toEqual([]);
    expect(rig.ipam.handles.size).toBe(0);
  }, 300_000);
});
