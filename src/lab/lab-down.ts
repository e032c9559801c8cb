/**
 * `margayctl lab down`: removes what the state file says the lab made, and nothing else — also after
 * `up` crashed part-way. Processes are stopped by their recorded pid (and start time), newest first;
 * then the journaled namespaces and links go; then the files the lab wrote in its dir.
 */
import { readdir, readlink, rm, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { CNI_DIR, type LabContext } from './lab-context.js';
import { lockLab, readState, removeState, writeState } from './lab-state.js';
import { stopProcess } from './processes.js';
import { teardown } from './topology.js';

/** Files and dirs a lab writes in its dir (removed by down; anything else there is left alone). */
const LAB_FILES = ['datastore', 'tor', 'nodes', 'agents'];

export interface DownResult {
  readonly found: boolean;
  readonly stopped: number;
  readonly removed: number;
}

export async function labDown(ctx: LabContext, opts: { readonly locked?: boolean } = {}): Promise<DownResult> {
  const unlock = opts.locked ? undefined : await lockLab(ctx.dir);
  try {
    const state = await readState(ctx.dir);
    if (!state) {
      ctx.out(`no lab in ${ctx.dir}: nothing to remove`);
      return { found: false, stopped: 0, removed: 0 };
    }
    let stopped = 0;
    for (const p of [...state.processes].reverse()) {
      const outcome = await stopProcess(p, { timeoutMs: 5000 });
      if (outcome !== 'gone') stopped++;
      state.processes = state.processes.filter((x) => x !== p);
      await writeState(state);
    }
    for (const link of state.cniLinks) await removeOurLink(link, ctx.dir);
    if (state.madeCniDir) await removeDirIfEmpty(CNI_DIR);
    state.cniLinks = [];
    state.madeCniDir = false;
    const removed = state.entries.length;
    await teardown(state.entries, ctx);
    state.entries = [];
    state.pods = [];
    await writeState(state);
    for (const f of LAB_FILES) await rm(join(ctx.dir, f), { recursive: true, force: true });
    await removeState(ctx.dir);
    ctx.out(`lab ${state.name} down: ${stopped} process(es) stopped, ${removed} namespace(s)/link(s) removed`);
    return { found: true, stopped, removed };
  } finally {
    await unlock?.();
    if (!opts.locked) await removeDirIfEmpty(ctx.dir);
  }
}

/** Removes a symlink only if it is one and points into the lab dir (never someone else's socket). */
async function removeOurLink(link: string, dir: string): Promise<void> {
  let target: string;
  try {
    target = await readlink(link);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EINVAL') return; // gone, or not a symlink: not ours
    throw err;
  }
  if (target.startsWith(`${dir}/`)) await unlink(link);
}

async function removeDirIfEmpty(dir: string): Promise<void> {
  const left = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return ['(gone)'];
    throw err;
  });
  if (left.length === 0) await rmdir(dir);
}
