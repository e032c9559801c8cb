import { chmod, mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopProcess, type ProcessRecord } from '../processes.js';

/**
 * What every reference-daemon handle (BIRD 2, FRR, GoBGP) offers: its namespace, its private work
 * dir, the records of its processes (for a lab's state file), stop, and its log for failure messages.
 */
export type DaemonKind = 'bird' | 'frr' | 'gobgp';

export interface DaemonHandle {
  readonly kind: DaemonKind;
  readonly ns: string;
  readonly workdir: string;
  /** The processes it runs (required of the handles here; optional for ad-hoc handles in benchmarks). */
  readonly records?: readonly ProcessRecord[];
  /** pids of the daemon's processes (bgpd and, when started, zebra). */
  pids(): Promise<number[]>;
  /** Kills the daemon by its recorded pids (SIGKILL unless told otherwise) and removes a work dir it made. */
  stop(opts?: { readonly signal?: NodeJS.Signals }): Promise<void>;
  /** The daemon's log, for failure messages. */
  log(): Promise<string>;
}

export interface DaemonOptions {
  /** Use this directory (made if missing, kept at stop) instead of a fresh temporary one. */
  readonly workdir?: string;
}

/** The work dir and whether stop() should remove it (only when it was made here). */
export async function makeWorkdir(kind: DaemonKind, opts: DaemonOptions): Promise<{ dir: string; owned: boolean }> {
  const dir = opts.workdir ?? (await mkdtemp(join(tmpdir(), `mgy-${kind}-`)));
  if (opts.workdir !== undefined) await mkdir(dir, { recursive: true });
  await chmod(dir, 0o777); // FRR drops to its own user for some files even with -S
  return { dir, owned: opts.workdir === undefined };
}

export async function stopRecords(
  records: readonly ProcessRecord[],
  signal: NodeJS.Signals,
  workdir: string,
  owned: boolean,
): Promise<void> {
  for (const r of records) await stopProcess(r, { signal });
  if (owned) await rm(workdir, { recursive: true, force: true });
}
