import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { readState } from '../../src/lab/lab-state.js';
import { isRunning } from '../../src/lab/processes.js';
import { waitFor } from '../../src/lab/wait.js';
import { uniquePrefix } from '../helpers/netns.js';

// `margayctl lab` as an operator runs it (the built CLI), inside the sandbox.
const CTL = new URL('../../dist/src/cli/margayctl.js', import.meta.url).pathname;
const lab = async (...args: string[]) => {
  const t = performance.now();
  const r = await execa(process.execPath, [CTL, 'lab', ...args], { reject: false, timeout: 120_000 });
  if (process.env.MARGAY_TEST_TIMINGS)
    process.stderr.write(`lab ${args.slice(0, 2).join(' ')}: ${Math.round(performance.now() - t)} ms\n`);
  return r;
};
const netns = async (): Promise<string[]> =>
  (await execa('ip', ['netns', 'list'])).stdout
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter(Boolean);

describe('margayctl lab (topology, ToR, agents, probes, state)', () => {
  it('two labs coexist (BIRD and margay-bgpd ToRs); up is idempotent; down removes exactly each one', async () => {
    const a = uniquePrefix('la').slice(0, 12);
    const b = uniquePrefix('lb').slice(0, 12);
    const dirA = `/tmp/margay-lab-test-${a}`;
    const dirB = `/tmp/margay-lab-test-${b}`;
    const before = await netns();
    let done = false;
    try {
      const [ua, ub] = await Promise.all([
        lab('up', '--name', a, '--dir', dirA, '--nodes', '2', '--pods', '0', '--tor', 'bird'),
        lab(
          'up',
          '--name',
          b,
          '--dir',
          dirB,
          '--nodes',
          '1',
          '--pods',
          '0',
          '--tor',
          'margay-bgpd',
          '--mode',
          'host-gw',
        ),
      ]);
      expect(ua.stderr).toBe('');
      expect(ua.exitCode, ua.stdout).toBe(0);
      expect(ub.exitCode, ub.stdout + ub.stderr).toBe(0);
      expect(ua.stdout).toContain('mode mesh, ToR bird, IPv4');
      expect(ua.stdout).toMatch(/node_1\s+BGP/); // BIRD's own session table
      expect(ua.stdout).toMatch(/^node-1\s+ok$/m); // node → outside, real TCP+UDP, no NAT
      expect(ub.stdout).toContain('(BGP off: host-gw mode');
      const sa = (await readState(dirA))!;
      const sb = (await readState(dirB))!;
      expect(sa.prefix).not.toBe(sb.prefix);
      const mine = (await netns()).filter((n) => !before.includes(n));
      expect(mine.sort()).toEqual([...sa.entries, ...sb.entries].map((e) => e.name).sort());
      expect(mine.every((n) => n.startsWith(`${sa.prefix}-`) || n.startsWith(`${sb.prefix}-`))).toBe(true);

      const again = await lab('up', '--name', a, '--dir', dirA, '--nodes', '2', '--pods', '0', '--tor', 'bird');
      expect(again.exitCode).toBe(0);
      expect(again.stdout).toContain('is already up');
      expect((await readState(dirA))!.prefix).toBe(sa.prefix);
      const other = await lab('up', '--name', a, '--dir', dirA, '--nodes', '3', '--pods', '0', '--tor', 'bird');
      expect(other.exitCode).toBe(1);
      expect(other.stderr).toContain('is up with other options');

      const st = await lab('status', '--name', a, '--dir', dirA);
      expect(st.stdout).toMatch(/running pid \d+\s+margay-node node-2/);
      const pr = await lab('probe', '--name', a, '--dir', dirA);
      expect(pr.exitCode).toBe(0);
      const ex = await lab(
        'exec',
        'node-2',
        '--name',
        a,
        '--dir',
        dirA,
        '--',
        'ip',
        '-4',
        '-o',
        'addr',
        'show',
        'dev',
        'eth0',
      );
      expect(ex.exitCode).toBe(0);

      expect((await lab('down', '--name', a, '--dir', dirA)).exitCode).toBe(0);
      // Lab b is untouched by a's down.
      expect((await netns()).filter((n) => !before.includes(n)).sort()).toEqual(sb.entries.map((e) => e.name).sort());
      for (const p of sb.processes) expect(await isRunning(p)).toBe(true);
      for (const p of sa.processes) expect(await isRunning(p)).toBe(false);
      expect((await lab('down', '--name', b, '--dir', dirB)).exitCode).toBe(0);
      expect(await netns()).toEqual(before);
      await expect(readFile(join(dirA, 'state.json'))).rejects.toThrow(/ENOENT/);
      expect((await lab('down', '--name', a, '--dir', dirA)).stdout).toContain('nothing to remove');
      done = true;
    } finally {
      if (!done) {
        await lab('down', '--name', a, '--dir', dirA);
        await lab('down', '--name', b, '--dir', dirB);
      }
    }
  }, 240_000);

  it('down after up was killed part-way removes what it had made', async () => {
    const n = uniquePrefix('lc').slice(0, 12);
    const dir = `/tmp/margay-lab-test-${n}`;
    const before = await netns();
    const up = execa(process.execPath, [CTL, 'lab', 'up', '--name', n, '--dir', dir, '--nodes', '2', '--pods', '0'], {
      reject: false,
    });
    try {
      // Kill it once the topology and at least one agent exist.
      await waitFor(
        'up to start an agent',
        async () =>
          (await readState(dir).catch(() => undefined))?.processes.some((p) => p.name.startsWith('margay-node')),
        60_000,
        50,
      );
      up.kill('SIGKILL');
      await up;
      const s = (await readState(dir))!;
      expect(s.phase).toBe('building');
      expect((await netns()).filter((x) => x.startsWith(s.prefix)).length).toBeGreaterThan(0);
      const d = await lab('down', '--name', n, '--dir', dir);
      expect(d.exitCode, d.stderr).toBe(0);
      expect(await netns()).toEqual(before);
      for (const p of s.processes) expect(await isRunning(p)).toBe(false);
    } finally {
      up.kill('SIGKILL');
      if (existsSync(dir)) await lab('down', '--name', n, '--dir', dir);
    }
  }, 120_000);
});
