/**
 * IPAM garbage collection in the agent (allocations and handles whose pod is gone, deleted nodes'
 * affinities and empty blocks): every IPAM_GC_INTERVAL_MS once in sync. A problem must persist across
 * runs for IPAM_GC_GRACE_MS (Calico's leak grace period) before it is acted on; several agents may run
 * it at once (every IPAM write is compare-and-swap).
 */
import type { Ipam } from '../ipam/index.js';
import { ConfigError } from '../src/errors.js';
import type { Logger } from '../src/log.js';

/**
 * IPAM GC cadence and the grace a leak must outlive (Calico kube-controllers: 15 min). Tests shorten
 * both with MARGAY_IPAM_GC_INTERVAL_MS / MARGAY_IPAM_GC_GRACE_MS (test/cni/churn.int.test.ts).
 */
const IPAM_GC_INTERVAL_MS = 60_000;
const IPAM_GC_GRACE_MS = 15 * 60_000;

function envMs(name: string, def: number, min: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > 86_400_000)
    throw new ConfigError(
      name,
      `must be an integer number of milliseconds in ${min}..86400000, got ${JSON.stringify(v)}`,
    );
  return n;
}

/** Starts the periodic GC; the caller clears the returned (unref'd) interval when stopping. */
export function startIpamGc(ipam: Ipam, log: Logger, signal: AbortSignal): NodeJS.Timeout {
  const intervalMs = envMs('MARGAY_IPAM_GC_INTERVAL_MS', IPAM_GC_INTERVAL_MS, 100);
  const graceMs = envMs('MARGAY_IPAM_GC_GRACE_MS', IPAM_GC_GRACE_MS, 0);
  let running = false;
  const timer = setInterval(() => {
    if (running || signal.aborted) return;
    running = true;
    ipam
      .gc({ gracePeriodMs: graceMs })
      .then(
        (r) => {
          const acted =
            r.releasedAddresses.length + r.deletedHandles.length + r.releasedNodes.length + r.removedAffinities.length;
          if (acted > 0)
            log.info(
              {
                addresses: r.releasedAddresses.length,
                handles: r.deletedHandles.length,
                nodes: r.releasedNodes,
                affinities: r.removedAffinities.length,
                waiting: r.waiting,
              },
              'IPAM garbage collected',
            );
        },
        (err: unknown) => log.warn({ err }, 'IPAM garbage collection failed; retried at the next interval'),
      )
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return timer;
}
