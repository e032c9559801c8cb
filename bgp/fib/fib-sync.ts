/**
 * FIB sync: the speaker's best paths into the kernel, as routes carrying Margay's BGP protocol number
 * (src/kernel/ownership.ts routeProtocol.bgp) in one table. A reconciler in the STYLE 2.1.5 sense:
 *
 *   best-path changes ──▶ desired (prefix → sorted next hops)     actual (what the kernel holds, ours only)
 *                                   └────────── diff of the dirty prefixes ──────────┘
 *                                                      │ apply(): one `ip -batch` per `batchSize` lines
 *                                                      ▼
 *                                                RouteTable.apply
 *
 * - ECMP: two or more next hops become one multipath route (`nexthop via A nexthop via B`).
 * - Restart: the first apply reads our routes back from the kernel (resync) and writes only the
 *   difference, so routes that did not change are never touched. Until `markInSync()` (every peer sent
 *   End-of-RIB, or the speaker's deadline passed) nothing is removed except routes this process itself
 *   installed and then saw withdrawn: a restart never flushes a working FIB.
 * - Errors: a failed batch sets `resync` (the next apply re-reads the kernel) and is rethrown as
 *   FibApplyError; the FibSyncLoop logs it and retries with back-off.
 */
import { MargayError } from '../../src/errors.js';
import { OWNERSHIP } from '../../src/kernel/index.js';
import type { KernelRoute, RouteKey } from '../../src/kernel/index.js';
import type { RouteTable } from '../../src/kernel/index.js';

export interface FibChange {
  readonly prefix: string;
  /**
   * Empty or null: no route any more. A link-local IPv6 next hop names its device as `fe80::1%eth0`
   * (the kernel needs one); an IPv6 next hop of an IPv4 prefix (RFC 8950) becomes `via inet6`.
   */
  readonly nextHops: readonly string[] | null;
}

export interface FibSyncOptions {
  readonly table: number;
  readonly batchSize: number;
  /** Which prefixes go into the kernel; everything when absent. */
  readonly accept?: (prefix: string) => boolean;
}

export interface FibApplyStats {
  readonly replaced: number;
  readonly removed: number;
  readonly unchanged: number;
}

export class FibApplyError extends MargayError {
  readonly code = 'MGY_BGP_FIB_APPLY';
  constructor(
    readonly stats: FibApplyStats,
    options?: ErrorOptions,
  ) {
    super(`FIB apply failed after ${stats.replaced} replaced, ${stats.removed} removed`, options);
  }
}

const PROTO = OWNERSHIP.routeProtocol.bgp;

function sameHops(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const isLinkLocal = (ip: string): boolean => /^fe[89ab][0-9a-f]:/i.test(ip);

/** A next hop as FibChange spells it: the device only for link-local addresses (`fe80::1%eth0`). */
function hopText(via: string, dev: string | undefined): string {
  return dev !== undefined && isLinkLocal(via) ? `${via}%${dev}` : via;
}

function hopsOf(r: KernelRoute): string[] {
  if (r.nexthops && r.nexthops.length > 0) return r.nexthops.map((h) => hopText(h.via, h.dev)).sort();
  return r.via === undefined ? [] : [hopText(r.via, r.dev)];
}

function nextHopOf(hop: string): { via: string; dev?: string } {
  const i = hop.indexOf('%');
  return i < 0 ? { via: hop } : { via: hop.slice(0, i), dev: hop.slice(i + 1) };
}

export class FibSync {
  readonly #desired = new Map<string, readonly string[]>();
  #actual = new Map<string, readonly string[]>();
  readonly #dirty = new Set<string>();
  /** Prefixes this process wrote: safe to remove before in-sync. */
  readonly #installed = new Set<string>();
  #resync = true;
  #inSync = false;

  constructor(
    private readonly table: RouteTable,
    private readonly opts: FibSyncOptions,
  ) {}

  get pending(): number {
    return this.#dirty.size + (this.#resync ? 1 : 0);
  }

  get desiredCount(): number {
    return this.#desired.size;
  }

  get inSync(): boolean {
    return this.#inSync;
  }

  setBestPaths(changes: Iterable<FibChange>): void {
    for (const c of changes) {
      const hops =
        c.nextHops && c.nextHops.length > 0 && (this.opts.accept?.(c.prefix) ?? true)
          ? [...new Set(c.nextHops)].sort()
          : undefined;
      if (hops === undefined) {
        if (this.#desired.delete(c.prefix)) this.#dirty.add(c.prefix);
        else if (this.#actual.has(c.prefix)) this.#dirty.add(c.prefix);
      } else if (!sameHops(this.#desired.get(c.prefix), hops)) {
        this.#desired.set(c.prefix, hops);
        this.#dirty.add(c.prefix);
      }
    }
  }

  /** Initial convergence done: routes of ours that nobody wants any more may now be removed. */
  markInSync(): void {
    if (this.#inSync) return;
    this.#inSync = true;
    for (const p of this.#actual.keys()) if (!this.#desired.has(p)) this.#dirty.add(p);
  }

  queueResync(): void {
    this.#resync = true;
  }

  async apply(): Promise<FibApplyStats> {
    let replaced = 0;
    let removed = 0;
    let unchanged = 0;
    try {
      if (this.#resync) {
        const routes = await this.table.list({ table: this.opts.table, protos: [PROTO] });
        this.#actual = new Map(routes.map((r) => [r.dst, hopsOf(r)] as const));
        this.#resync = false;
        for (const p of this.#desired.keys()) this.#dirty.add(p);
        if (this.#inSync) for (const p of this.#actual.keys()) if (!this.#desired.has(p)) this.#dirty.add(p);
      }
      const replace: KernelRoute[] = [];
      const remove: RouteKey[] = [];
      // Each prefix written with the desired value it was written for: a change that arrives while the
      // batch is in the kernel (setBestPaths during the await) keeps its prefix dirty for the next apply.
      const done: { prefix: string; want: readonly string[] | undefined }[] = [];
      const flush = async (): Promise<void> => {
        if (replace.length + remove.length === 0) return;
        await this.table.apply({ replace, remove });
        for (const r of remove) {
          this.#actual.delete(r.dst);
          this.#installed.delete(r.dst);
        }
        for (const r of replace) {
          this.#actual.set(r.dst, hopsOf(r));
          this.#installed.add(r.dst);
        }
        replaced += replace.length;
        removed += remove.length;
        for (const d of done) if (this.#desired.get(d.prefix) === d.want) this.#dirty.delete(d.prefix);
        replace.length = 0;
        remove.length = 0;
        done.length = 0;
      };
      for (const prefix of this.#dirty) {
        const want = this.#desired.get(prefix);
        const have = this.#actual.get(prefix);
        if (want === undefined) {
          if (have !== undefined && (this.#inSync || this.#installed.has(prefix))) {
            remove.push({ dst: prefix, table: this.opts.table, proto: PROTO });
            done.push({ prefix, want });
          } else {
            // Gone already, or a route from before a restart: kept until markInSync() queues it again.
            this.#dirty.delete(prefix);
          }
        } else if (sameHops(want, have)) {
          unchanged++;
          this.#dirty.delete(prefix);
        } else {
          replace.push(this.#route(prefix, want));
          done.push({ prefix, want });
        }
        if (replace.length + remove.length >= this.opts.batchSize) await flush();
      }
      await flush();
      return { replaced, removed, unchanged };
    } catch (err) {
      this.#resync = true;
      throw new FibApplyError({ replaced, removed, unchanged }, { cause: err });
    }
  }

  #route(prefix: string, hops: readonly string[]): KernelRoute {
    const base = { dst: prefix, table: this.opts.table, proto: PROTO };
    return hops.length === 1 ? { ...base, ...nextHopOf(hops[0]!) } : { ...base, nexthops: hops.map(nextHopOf) };
  }
}
