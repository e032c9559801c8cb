/**
 * How long this process has existed, for start-up phase logs ("where does a cold start go"). Read
 * from /proc/self/stat (the start time survives margay-node's tuned re-exec, which keeps the pid),
 * so it counts from the fork — Node's own boot and the module loading included. Linux only; elsewhere
 * (or when /proc is unreadable) it counts from this image's time origin.
 */
import { readFileSync } from 'node:fs';

/** USER_HZ: the unit of /proc/<pid>/stat start times on every Linux architecture Node supports. */
const CLOCK_TICKS_PER_S = 100;

/** Parses the start time (ticks since boot) out of /proc/<pid>/stat text; the comm field may hold spaces or ')'. */
export function statStartTicks(stat: string): number | undefined {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields after "(comm)" start at field 3 (state); starttime is field 22.
  const v = Number(fields[22 - 3]);
  return Number.isFinite(v) ? v : undefined;
}

let base: number | undefined;

/** The process's start as a performance.now() value (negative when it predates this image). */
function startedAt(): number {
  if (base !== undefined) return base;
  base = 0; // this image's time origin
  try {
    const ticks = statStartTicks(readFileSync('/proc/self/stat', 'utf8'));
    const uptimeS = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    const now = performance.now();
    if (ticks !== undefined && Number.isFinite(uptimeS))
      base = now - (uptimeS * 1000 - (ticks * 1000) / CLOCK_TICKS_PER_S);
  } catch {
    // No /proc: keep this image's time origin (documented above).
  }
  return base;
}

/** Milliseconds since the process started (10 ms resolution from /proc). */
export function processAgeMs(): number {
  return Math.round(performance.now() - startedAt());
}
