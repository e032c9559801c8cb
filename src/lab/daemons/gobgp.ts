import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { LabProcessError } from '../errors.js';
import { logTail, spawnDaemon, toRecord } from '../processes.js';
import type { ProcessRecord } from '../processes.js';
import { waitFor } from '../wait.js';
import { makeWorkdir, stopRecords, type DaemonHandle, type DaemonOptions } from './common.js';

export interface GobgpNeighbor {
  conf: { neighbor_address: string; peer_asn: number; local_asn?: number };
  state: { session_state: number; neighbor_address: string; messages?: unknown };
  afi_safis?: { state?: { family?: unknown; received?: number; accepted?: number; advertised?: number } }[];
}

/** GoBGP's gobgpd (it does not daemonise: started detached, its output in the work dir's log). */
export interface GobgpHandle extends DaemonHandle {
  readonly kind: 'gobgp';
  readonly records: readonly ProcessRecord[];
  /** Runs the gobgp CLI against this daemon. */
  gobgp(...args: string[]): Promise<string>;
  /** `gobgp neighbor -j` (cheap, unlike `gobgp neighbor ADDR`). session_state 6 = Established. */
  neighbors(): Promise<GobgpNeighbor[]>;
}

export const GOBGP_ESTABLISHED = 6;

export async function startGobgp(ns: string, tomlConfig: string, opts: DaemonOptions = {}): Promise<GobgpHandle> {
  const { dir: workdir, owned } = await makeWorkdir('gobgp', opts);
  const conf = join(workdir, 'gobgpd.toml');
  const sock = `unix://${join(workdir, 'gobgp.sock')}`;
  await writeFile(conf, tomlConfig);
  const proc = await spawnDaemon({
    name: 'gobgpd',
    ns,
    workdir,
    argv: ['gobgpd', '-f', conf, '-t', 'toml', '--api-hosts', sock, '-l', 'warn', '-p', '--pprof-disable'],
  });
  const gobgp = async (...args: string[]): Promise<string> => {
    const out = await execa('gobgp', ['--target', sock, ...args], { reject: false });
    if (out.exitCode !== 0) throw new LabProcessError('gobgp', `${args.join(' ')} failed: ${out.stderr || out.stdout}`);
    return out.stdout;
  };
  try {
    await waitFor(
      'gobgpd API socket',
      async () => {
        if (proc.hasExited()) throw new LabProcessError('gobgpd', 'exited during start', await logTail(proc.logFile!));
        return gobgp('global').then(() => true);
      },
      10_000,
      50,
    );
  } catch (err) {
    await stopRecords([proc], 'SIGKILL', workdir, owned);
    throw err;
  }
  return {
    kind: 'gobgp',
    ns,
    workdir,
    records: [toRecord(proc)],
    gobgp,
    async neighbors() {
      const out = await gobgp('neighbor', '-j');
      return (JSON.parse(out || '[]') ?? []) as GobgpNeighbor[];
    },
    async pids() {
      return [proc.pid];
    },
    log() {
      return logTail(proc.logFile!, 1 << 20);
    },
    async stop(o = {}) {
      await stopRecords([proc], o.signal ?? 'SIGKILL', workdir, owned);
    },
  };
}
