/**
 * A lab's state file (`<lab dir>/state.json`): everything `margayctl lab down` needs to remove exactly
 * what `up` made, written *before* each thing is made (topology journal, process records) so a
 * crash of `up` at any point leaves a state that `down` can clean up. Written atomically
 * (temporary file + rename). A lock file keeps two `lab` commands from changing one lab at once.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as v from 'valibot';
import { LabStateError } from './errors.js';
import { LAB_MODES, TOR_KINDS, type LabOptions } from './lab-plan.js';
import { isRunning, type ProcessRecord } from './processes.js';
import type { TopologyEntry } from './topology.js';

export interface LabPodState {
  readonly name: string;
  readonly namespace: string;
  readonly node: string;
  readonly containerId: string;
  readonly netns: string;
  /** Addresses the CNI ADD result gave the pod (empty until ADD succeeded). */
  readonly ips: readonly string[];
}

export interface LabState {
  readonly version: 1;
  readonly name: string;
  readonly prefix: string;
  readonly dir: string;
  readonly options: LabOptions;
  phase: 'building' | 'up' | 'failed';
  entries: TopologyEntry[];
  /**
   * Symlinks the lab made so the CNI plugin finds each node's agent where it looks
   * (/run/margay/cni-<netns inode>.sock → the agent's private run dir), and whether it made that dir.
   */
  cniLinks: string[];
  madeCniDir: boolean;
  processes: ProcessRecord[];
  pods: LabPodState[];
}

const str = () => v.string();
const matching = (re: RegExp) => v.pipe(v.string(), v.regex(re));

const Record_ = v.strictObject({
  name: str(),
  ns: v.optional(str()),
  pid: v.pipe(v.number(), v.integer(), v.minValue(1)),
  startTime: str(),
  pidFile: str(),
  logFile: v.optional(str()),
});

const StateSchema = v.strictObject({
  version: v.literal(1),
  name: matching(/^[a-z][a-z0-9]{0,11}$/),
  prefix: matching(/^[a-z][a-z0-9]{0,23}$/),
  dir: str(),
  options: v.strictObject({
    name: str(),
    nodes: v.pipe(v.number(), v.integer()),
    podsPerNode: v.pipe(v.number(), v.integer()),
    tor: v.picklist(TOR_KINDS),
    mode: v.picklist(LAB_MODES),
    dualStack: v.boolean(),
  }),
  phase: v.picklist(['building', 'up', 'failed']),
  entries: v.array(v.strictObject({ kind: v.picklist(['netns', 'host-link']), name: str() })),
  cniLinks: v.array(matching(/^\/run\/margay\/cni-\d+\.sock$/)),
  madeCniDir: v.boolean(),
  processes: v.array(Record_),
  pods: v.array(
    v.strictObject({
      name: str(),
      namespace: str(),
      node: str(),
      containerId: str(),
      netns: str(),
      ips: v.array(str()),
    }),
  ),
});

export function statePath(dir: string): string {
  return join(dir, 'state.json');
}

/** The lab's state, or undefined when the dir holds none. Throws LabStateError for a malformed file. */
export async function readState(dir: string): Promise<LabState | undefined> {
  let text: string;
  try {
    text = await readFile(statePath(dir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LabStateError(`cannot read ${statePath(dir)}: ${(err as Error).message}`, { cause: err });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new LabStateError(`${statePath(dir)} is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const r = v.safeParse(StateSchema, raw);
  if (!r.success) throw new LabStateError(`${statePath(dir)} is not a lab state file:\n${v.summarize(r.issues)}`);
  const s = r.output;
  // Process records: ns and logFile are optional in JSON but always present as keys in ProcessRecord.
  return { ...s, processes: s.processes.map((p) => ({ ...p, ns: p.ns, logFile: p.logFile })) } as LabState;
}

export async function writeState(s: LabState): Promise<void> {
  await mkdir(s.dir, { recursive: true });
  const tmp = `${statePath(s.dir)}.tmp`;
  await writeFile(tmp, `${JSON.stringify(s, null, 2)}\n`);
  await rename(tmp, statePath(s.dir));
}

export async function removeState(dir: string): Promise<void> {
  await rm(statePath(dir), { force: true });
}

/**
 * Takes the lab's lock (`<dir>/lock` holding our pid and start time), waiting out nothing: a lock
 * held by a live process is an error naming it; a stale one (its process gone) is taken over.
 */
export async function lockLab(dir: string): Promise<() => Promise<void>> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => rm(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new LabStateError(`cannot lock ${file}: ${(err as Error).message}`, { cause: err });
      const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && (await isRunning({ pid, startTime: '' }))) {
        throw new LabStateError(`lab in ${dir} is busy: another margayctl lab command (pid ${pid}) holds ${file}`);
      }
      await rm(file, { force: true });
    }
  }
  throw new LabStateError(`cannot lock ${file}`);
}
