import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

// README's first command ends in scripts/main-job.sh: `margayctl lab up` with its defaults (3 nodes ×
// 2 pods), the report, then `lab down`. The suite already runs inside the sandbox, so the script runs
// directly.
const MAIN_JOB = new URL('../../scripts/main-job.sh', import.meta.url).pathname;

describe("the main job (README's first command)", () => {
  it('brings the lab up, prints sessions, routes, pods and a matrix as the Kubernetes model says, and cleans up', async () => {
    const before = (await execa('ip', ['netns', 'list'])).stdout;
    const r = await execa(MAIN_JOB, [], { reject: false, timeout: 200_000 });
    expect(r.stderr).toBe('');
    expect(r.exitCode, r.stdout.slice(-3000)).toBe(0);
    expect(r.stdout).toMatch(/== BGP sessions/);
    expect(r.stdout).toMatch(/node_1\s+BGP\s+---\s+up\s+\S+\s+Established/);
    expect(r.stdout.match(/^default\/pod-\d-\d\s+on node-\d\s+10\.244\.\d+\.\d+$/gm)).toHaveLength(6);
    expect(r.stdout).toMatch(/^from \\ to\s+pod-1-1/m);
    expect(r.stdout).toContain('RESULT: the matrix is as the Kubernetes network model says');
    expect(r.stdout).toMatch(/lab main down: \d+ process\(es\) stopped/);
    expect((await execa('ip', ['netns', 'list'])).stdout).toBe(before);
  }, 240_000);
});
