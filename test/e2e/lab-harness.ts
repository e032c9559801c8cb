/**
 * The e2e suite runs on the lab itself (src/lab): `withLab` brings a lab up in-process with a unique
 * name and dir, hands it to the test, and always takes it down. Helpers read the real kernels.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecaCommandRunner } from '../../src/kernel/index.js';
import type { LabContext } from '../../src/lab/lab-context.js';
import { labDown } from '../../src/lab/lab-down.js';
import { planLab, type LabOptions, type LabPlan } from '../../src/lab/lab-plan.js';
import { matrixFor } from '../../src/lab/lab-report.js';
import { readState, type LabState } from '../../src/lab/lab-state.js';
import { labUp } from '../../src/lab/lab-up.js';
import type { Matrix, MatrixCell } from '../../src/lab/probe.js';
import { nsName } from '../../src/lab/topology-spec.js';
import { silentLogger } from '../../src/log.js';
import { run, uniquePrefix } from '../helpers/netns.js';

export interface Lab {
  readonly ctx: LabContext;
  readonly plan: LabPlan;
  /** Up's printed report. */
  readonly output: string;
  state(): Promise<LabState>;
  ns(node: string): string;
  matrix(opts?: { podsOnly?: boolean }): Promise<Matrix>;
}

export async function withLab(options: Omit<LabOptions, 'name'>, fn: (lab: Lab) => Promise<void>): Promise<void> {
  const name = uniquePrefix('e').slice(0, 12);
  const dir = await mkdtemp(join(tmpdir(), 'mgy-e2e-'));
  const log = silentLogger();
  let output = '';
  const ctx: LabContext = {
    dir,
    runner: new ExecaCommandRunner(log),
    log,
    env: process.env,
    out: (t) => (output += `${t}\n`),
  };
  try {
    const r = await labUp(ctx, { ...options, name });
    const plan = planLab(r.state.options, r.state.prefix);
    await fn({
      ctx,
      plan,
      output,
      state: async () => (await readState(dir))!,
      ns: (node) => nsName(r.state.prefix, node),
      matrix: async (opts = {}) => matrixFor((await readState(dir))!, plan, opts),
    });
  } catch (err) {
    if (err instanceof Error) err.message += `\n--- lab output ---\n${output.slice(-6000)}`;
    throw err;
  } finally {
    await labDown(ctx);
  }
}

/** `ip -j route` in a namespace. */
export async function routes(
  ns: string,
  family: 4 | 6 = 4,
): Promise<{ dst: string; gateway?: string; dev?: string; protocol?: string }[]> {
  return JSON.parse(await run('ip', ['-n', ns, `-${family}`, '-j', 'route', 'show'])) as {
    dst: string;
    gateway?: string;
    dev?: string;
    protocol?: string;
  }[];
}

export function cell(m: Matrix, from: string, to: string): MatrixCell {
  const c = m.cells.find((x) => x.from === from && x.to === to);
  if (!c) throw new Error(`no matrix cell ${from} -> ${to}`);
  return c;
}

/** Cells that are not what the Kubernetes model expects between pods (anything but ok/self). */
export function badPodCells(m: Matrix): string[] {
  return m.cells
    .filter((c) => c.verdict !== 'ok' && c.verdict !== 'self')
    .map((c) => `${c.from}->${c.to}:${c.verdict}`);
}

/**
 * Where pod routes come from: each node's own blocks (its blackhole routes), and every route for a
 * pool address in every namespace of the lab, with its protocol.
 */
export async function podRouting(lab: Lab): Promise<{
  ownBlocks: Map<string, string[]>;
  routesByNs: Map<string, { dst: string; gateway?: string; protocol?: string; type?: string }[]>;
}> {
  const ownBlocks = new Map<string, string[]>();
  const routesByNs = new Map<string, { dst: string; gateway?: string; protocol?: string; type?: string }[]>();
  for (const name of ['tor', ...lab.plan.nodes.map((n) => n.name)]) {
    const all = JSON.parse(
      await run('ip', ['-n', lab.ns(name), '-4', '-j', 'route', 'show', 'root', '10.244.0.0/16']),
    ) as { dst: string; gateway?: string; protocol?: string; type?: string }[];
    routesByNs.set(name, all);
    if (name !== 'tor')
      ownBlocks.set(
        name,
        all.filter((r) => r.type === 'blackhole').map((r) => r.dst),
      );
  }
  return { ownBlocks, routesByNs };
}

/** Every node (and, when `tor`, the ToR) has a route to every other node's blocks via that node. */
export function missingBlockRoutes(lab: Lab, r: Awaited<ReturnType<typeof podRouting>>, tor: boolean): string[] {
  const missing: string[] = [];
  const nodeIp = new Map(lab.plan.nodes.map((n) => [n.name, n.ip]));
  for (const [owner, blocks] of r.ownBlocks) {
    for (const block of blocks) {
      for (const [name, routes] of r.routesByNs) {
        if (name === owner || (name === 'tor' && !tor)) continue;
        if (!routes.some((x) => x.dst === block && x.gateway === nodeIp.get(owner)))
          missing.push(`${name} has no route ${block} via ${owner}`);
      }
    }
  }
  return missing;
}
