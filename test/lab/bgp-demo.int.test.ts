import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

// The README's main job (scripts/main-job.sh runs this same binary in the sandbox; the suite is already
// inside one, so the demo runs directly).
const DEMO = new URL('../../dist/src/lab/bgp-demo.js', import.meta.url).pathname;

describe('BGP demo (the main job)', () => {
  it('brings up a BIRD ToR and two margay-bgpd nodes, installs routes, and pods reach each other', async () => {
    const r = await execa('node', [DEMO], { reject: false, timeout: 90_000 });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout.match(/1 of 1 sessions Established/g)).toHaveLength(2);
    expect(r.stdout).toMatch(/node-1: 10\.244\.2\.0\/26 via 10\.10\.1\.1 dev up0/);
    expect(r.stdout).toMatch(/node-2: 10\.244\.1\.0\/26 via 10\.10\.2\.1 dev up1/);
    expect(r.stdout.match(/: reachable/g)).toHaveLength(2);
    const left = (await execa('ip', ['netns', 'list'])).stdout;
    expect(left).not.toContain('mgydemo');
  });
});
