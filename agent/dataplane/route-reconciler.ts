/**
 * RouteReconciler: every route the agent wants in the main table (local workloads, blackholes for
 * our blocks, remote blocks and borrowed addresses), each marked with Margay's protocol number for
 * its kind (src/kernel/ownership.ts). One `ip -batch` per apply (RouteTable.apply).
 *
 *   routeUpdated/Removed ──▶ DeltaTracker (key table|dst|metric) ──▶ RouteTable.apply({replace, remove})
 *                                     ▲ resync: RouteTable.list (our protocols only)
 *
 * - Only routes with our protocol numbers are ever listed or removed; a foreign route at the same
 *   destination is left alone (the kernel refuses our add, the batch error names it, we retry).
 * - Restart: the first apply reads our routes back and writes only the difference. Remote routes
 *   (proto bgp) from before a restart that are not desired are kept until `learnedRoutesInSync()`,
 *   so an agent restart does not withdraw routes BGP has not re-learned yet.
 * - `isBlocked(dst)` holds back a route (conntrack of a reused pod address not yet flushed).
 */
import { OWNERSHIP } from '../../src/kernel/index.js';
import {
  canonicalRoute,
  MAIN_TABLE,
  routeKeyString,
  sameRoute,
  type KernelRoute,
  type NextHop,
  type RouteKey,
} from '../../src/kernel/index.js';
import { KernelBatchError } from '../../src/kernel/index.js';
import type { RouteTable } from '../../src/kernel/index.js';
import type { DesiredRoute } from '../calc/index.js';
import { DeltaTracker } from './delta-tracker.js';
import { ApplyError, type ApplyStats } from './errors.js';
import type { Reconciler } from './reconciler.js';

const PROTO = OWNERSHIP.routeProtocol;

const _isLinkLocal = (ip: string): boolean => /^fe[89ab][0-9a-f]:/i.test(ip);

function nextHopOf(hop: string): NextHop {
  const i = hop.indexOf('%');
  return i < 0 ? { via: hop } : { via: hop.slice(0, i), dev: hop.slice(i + 1) };
}

/** The kernel route for a desired route (main table). */
export function kernelRouteOf(r: DesiredRoute, table = MAIN_TABLE): KernelRoute {
  switch (r.kind) {
    case 'workload':
      // IPv6 has no route scopes (the kernel neither keeps nor prints one).
      return {
        dst: r.dst,
        dev: r.dev!,
        ...(r.dst.includes(':') ? {} : { scope: 'link' as const }),
        table,
        proto: PROTO.workload,
      };
    case 'blackhole':
      return { dst: r.dst, type: 'blackhole', table, proto: PROTO.blackhole };
    case 'remote': {
      const hops = (r.nextHops ?? []).map(nextHopOf);
      if (hops.length === 1) return { dst: r.dst, table, proto: PROTO.bgp, ...hops[0]! };
      return { dst: r.dst, table, proto: PROTO.bgp, nexthops: hops };
    }
  }
}

/**
 * RouteTable.apply, turning a KernelBatchError into the set of refused indexes into
 * [...remove, ...replace] (its logical line order). Any other error is rethrown.
 */
async function applyReportingLines(
  table: RouteTable,
  replace: KernelRoute[],
  remove: RouteKey[],
): Promise<{ failed: Set<number>; error?: KernelBatchError }> {
  try {
    await table.apply({ replace, remove });
    return { failed: new Set() };
  } catch (err) {
    if (!(err instanceof KernelBatchError) || err.failures.length === 0) throw err;
    return { failed: new Set(err.failures.map((f) => f.line - 1)), error: err };
  }
}

/**
 * Is the kernel's route (`actual`) what we asked for (`desired`)? The kernel fills in the device of
 * a next hop we gave only an address for; that is not a difference.
 */
export function routeSatisfies(actual: KernelRoute, desired: KernelRoute): boolean {
  let a = actual;
  if (desired.dev === undefined && a.dev !== undefined && a.via !== undefined)
    a = { ...a, dev: undefined } as KernelRoute;
  if (desired.nexthops !== undefined && a.nexthops !== undefined && a.nexthops.length === desired.nexthops.length) {
    a = {
      ...a,
      nexthops: a.nexthops.map((h, i) => (desired.nexthops![i]!.dev === undefined ? { ...h, dev: undefined } : h)),
    };
  }
  return sameRoute(stripUndefined(a), desired);
}

function stripUndefined(r: KernelRoute): KernelRoute {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r))
    if (v !== undefined)
      out[k] =
        k === 'nexthops'
          ? (v as NextHop[]).map((h) => Object.fromEntries(Object.entries(h).filter(([, x]) => x !== undefined)))
          : v;
  return out as unknown as KernelRoute;
}

export class RouteReconciler implements Reconciler {
  readonly name = 'routes';
  readonly #routes = new DeltaTracker<KernelRoute>(routeSatisfies);
  /** Keys this process wrote (safe to remove before learned routes are in sync). */
  readonly #installed = new Set<string>();
  #resync = true;
  #read = false;
  #learnedInSync = false;
  /** Stale remote routes kept until learned routes are in sync (looked at again then, no re-read). */
  readonly #kept = new Set<string>();

  constructor(
    private readonly table: RouteTable,
    private readonly isBlocked: (dst: string) => boolean = () => false,
    private readonly tableId = MAIN_TABLE,
  ) {}

  setRoute(r: DesiredRoute): void {
    const k = kernelRouteOf(r, this.tableId);
    this.#routes.setDesired(routeKeyString(k), canonicalRoute(k));
  }

  removeRoute(dst: string): void {
    this.#routes.deleteDesired(routeKeyString({ dst, table: this.tableId }));
  }

  learnedRoutesInSync(): void {
    this.#learnedInSync = true;
    for (const k of this.#kept) this.#routes.touch(k); // look again at stale remote routes kept so far
    this.#kept.clear();
  }

  queueResync(): void {
    this.#resync = true;
  }

  get hasPending(): boolean {
    return this.#resync || this.#routes.hasPending;
  }

  /** True when the route to `dst` is in the kernel as desired (or not desired and absent). */
  isProgrammed(dst: string): boolean {
    // Not tied to a pending resync: one route the kernel keeps refusing (a foreign route in the way)
    // must not hold every new pod back.
    return this.#read && !this.#routes.isPending(routeKeyString({ dst, table: this.tableId }));
  }

  async prefetch(): Promise<void> {
    if (!this.#resync) return;
    try {
      await this.#readKernel();
    } catch (err) {
      this.#resync = true;
      throw new ApplyError(this.name, { upserted: 0, deleted: 0 }, { cause: err });
    }
  }

  async #readKernel(): Promise<void> {
    const actual = await this.table.list({ table: this.tableId });
    this.#routes.replaceActual(actual.map((r) => [routeKeyString(r), canonicalRoute(r)] as const));
    this.#resync = false;
    this.#read = true;
  }

  async apply(): Promise<ApplyStats> {
    let upserted = 0;
    let deleted = 0;
    try {
      if (this.#resync) await this.#readKernel();
      const replace: KernelRoute[] = [];
      const remove: RouteKey[] = [];
      for (const [k, r] of this.#routes.pendingDeletions()) {
        if (r.proto === PROTO.bgp && !this.#learnedInSync && !this.#installed.has(k)) {
          this.#routes.clearDirty(k); // kept until BGP is in sync (learnedRoutesInSync looks again)
          this.#kept.add(k);
          continue;
        }
        remove.push({
          dst: r.dst,
          table: r.table,
          proto: r.proto,
          ...(r.metric === undefined ? {} : { metric: r.metric }),
        });
      }
      for (const [, r] of this.#routes.pendingUpdates()) if (!this.isBlocked(r.dst)) replace.push(r);
      if (replace.length + remove.length > 0) {
        const { failed, error } = await applyReportingLines(this.table, replace, remove);
        for (const [i, r] of remove.entries()) {
          if (failed.has(i)) continue;
          const k = routeKeyString(r);
          this.#routes.markDeleted(k);
          this.#installed.delete(k);
        }
        for (const [i, r] of replace.entries()) {
          if (failed.has(remove.length + i)) continue;
          const k = routeKeyString(r);
          this.#routes.markApplied(k, r);
          this.#installed.add(k);
        }
        upserted = replace.length - [...failed].filter((i) => i >= remove.length).length;
        deleted = remove.length - [...failed].filter((i) => i < remove.length).length;
        if (error !== undefined) throw error; // the refused lines stay pending; the rest is done
      }
      this.#routes.settle();
      return { upserted, deleted };
    } catch (err) {
      this.#resync = true;
      throw new ApplyError(this.name, { upserted, deleted }, { cause: err });
    }
  }
}
