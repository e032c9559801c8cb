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
    // On failure: the report's diagnosis of the pods in failing cells (lab-diagnose.ts), then the tail.
    const diagnosis = /\n== diagnosis[\s\S]*?(?=\nRESULT:)/.exec(r.stdout)?.[0] ?? '(no diagnosis section)';
    const why = `${diagnosis}\n--- stdout tail ---\n${r.stdout.slice(-3000)}\n--- stderr ---\n${r.stderr.slice(-2000)}`;
    expect(r.stderr, why).toBe('');
    expect(r.exitCode, why).toBe(0);
    expect(r.stdout).toMatch(/== BGP sessions/);
    expect(r.stdout).toMatch(/node_1\s+BGP\s+---\s+up\s+\S+\s+Established/);
    expect(r.stdout.match(/^default\/pod-\d-\d\s+on node-\d\s+10\.244\.\d+\.\d+$/gm)).toHaveLength(6);
    expect(r.stdout).toMatch(/^from \\ to\s+pod-1-1/m);
    expect(r.stdout, why).toContain('RESULT: the matrix is as the Kubernetes network model says');
    expect(r.stdout).toMatch(/lab main down: \d+ process\(es\) stopped/);
    expect((await execa('ip', ['netns', 'list'])).stdout).toBe(before);
  }, 240_000);
});
