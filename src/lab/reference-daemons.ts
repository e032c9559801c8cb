import { readFile } from 'node:fs/promises';
import { LabProcessError } from './errors.js';

/**
 * The reference BGP daemons (BIRD 2, FRR bgpd (+zebra), GoBGP), started by hand inside a
 * topology's namespace with every file (config, control socket, pid file, log) in a private work
 * dir, and stopped by the pid they wrote — never by name (../shared/REFERENCE-PEERS.md).
 *
 * Used by the lab (ToR routers) and by tests (interop peers, benchmark targets). Every handle's
 * stop() kills the daemon by its recorded pid and removes a work dir it made; callers use it in
 * `finally` (a topology's down() also kills anything left in its namespaces).
 */
export type { DaemonHandle, DaemonKind, DaemonOptions } from './daemons/common.js';
export { startBird, type BirdHandle } from './daemons/bird.js';
export { startFrr, type FrrHandle, type FrrOptions } from './daemons/frr.js';
export { GOBGP_ESTABLISHED, startGobgp, type GobgpHandle, type GobgpNeighbor } from './daemons/gobgp.js';
export { sleep, waitFor } from './wait.js';

/** Peak resident set size (VmHWM) of a process in bytes, from /proc. */
export async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /VmHWM:\s+(\d+) kB/.exec(status);
  if (!m) throw new LabProcessError(`pid ${pid}`, `no VmHWM in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}
