/**
 * Dataplane: the calc graph's DataplaneSink, the reconcilers it feeds, and the apply loop.
 *
 *   CalcGraph ──(ordered updates)──▶ Dataplane ──▶ reconcilers (desired state only, no I/O)
 *                                        │ kick
 *                                        ▼
 *                               apply pass, one at a time:
 *                                 1. conntrack flushes of removed pod addresses
 *                                 2. routes | neighbours | sysctls | link MTUs      (issued first)
 *                                    in parallel with:
 *                                    ipset creates/updates → iptables v4, v6 (sets before the rules
 *                                    that use them; filter and nat concurrently)
 *                                 3. ipset removals                 (after rules stopped using them)
 *
 * - Before in-sync, start() reads the kernel (routes, chains, sets, neighbours, links) without
 *   writing, so the first apply after in-sync only writes.
 * - `routesFirst`: only routes (and conntrack flushes) are read and applied until releaseHeld() — a
 *   cold start's critical path is every node's routes; chains, sets, neighbours, sysctls and MTUs
 *   follow (the agent releases them once its routes are in, bounded; a pod's wait releases at once).
 *
 * - Nothing is applied before the graph's `inSync()`.
 * - A failed reconciler queues its own resync; the loop logs the error once and retries with capped
 *   back-off. Every `refreshIntervalMs` every reconciler re-reads the kernel (drift repair).
 * - `waitForEndpoint(key)` resolves once the endpoint's routes, chains, neighbours, sysctls and MTU
 *   are in the kernel (for CNI ADD to return only when the pod is reachable).
 */
import type { KernelAdapters } from '../../src/kernel/index.js';
import type { Logger } from '../../src/log.js';
import { CHAINS, fromWorkloadChain, toWorkloadChain } from '../calc/index.js';
import type {
  ChainTable,
  DataplaneSink,
  DesiredChain,
  DesiredIpset,
  DesiredRoute,
  IpFamily,
  LocalEndpoint,
} from '../calc/index.js';
import { ConntrackFlusher } from './conntrack-flusher.js';
import { EndpointWaiters } from './endpoint-waiters.js';
import { EndpointWaitError, type ApplyStats } from './errors.js';
import { IptablesReconciler } from './iptables-reconciler.js';
import { IpsetReconciler } from './ipset-reconciler.js';
import { LinkReconciler } from './link-reconciler.js';
import { NeighborReconciler } from './neighbor-reconciler.js';
import type { Reconciler } from './reconciler.js';
import { RouteReconciler } from './route-reconciler.js';
import { globalSysctls, interfaceSysctls, SysctlReconciler } from './sysctl-reconciler.js';
import { Backoff, realClock, type BackoffPolicy, type Clock, type Timer } from '../../src/runtime/index.js';
import { DEFAULT_APPLY_BACKOFF } from './backoff-policy.js';

export interface DataplaneOptions {
  readonly families: readonly IpFamily[];
  /** Full re-read of the kernel this often (drift repair). Default 90 s, like Felix's refresh intervals. */
  readonly refreshIntervalMs?: number;
  /** Retry policy after a failed apply (default DEFAULT_APPLY_BACKOFF). */
  readonly backoff?: BackoffPolicy;
  readonly clock?: Clock;
  /** Called after every apply pass (metrics: apply time, errors, restore calls). */
  readonly onApply?: (report: ApplyReport) => void;
  /** Hold every reconciler but routes and conntrack until releaseHeld() (see the file comment). */
  readonly routesFirst?: boolean;
}

export interface ApplyReport {
  readonly ms: number;
  readonly stats: Readonly<Record<string, ApplyStats>>;
  readonly errors: readonly unknown[];
}

export class Dataplane implements DataplaneSink {
  readonly routes: RouteReconciler;
  readonly iptables: Readonly<Partial<Record<IpFamily, IptablesReconciler>>>;
  readonly ipsets: IpsetReconciler;
  readonly neighbors: NeighborReconciler;
  readonly sysctls: SysctlReconciler;
  readonly links: LinkReconciler;
  readonly conntrack: ConntrackFlusher;
  readonly #all: Reconciler[];
  readonly #endpoints = new Map<string, LocalEndpoint>();
  readonly #waiters: EndpointWaiters;
  readonly #clock: Clock;
  readonly #backoff: Backoff;
  readonly #refreshMs: number;
  #inSync = false;
  #running = false;
  #again = false;
  #stopped = false;
  #backingOff = false;
  #timer: Timer | undefined;
  #refreshTimer: Timer | undefined;
  #idle: (() => void)[] = [];
  #applies = 0;
  /** Reconcilers that wait for releaseHeld() (`routesFirst`); empty once released. */
  readonly #held = new Set<Reconciler>();
  /** The kernel reads started by start() before in-sync (awaited by the first apply). */
  #prefetching: Promise<void> | undefined;
  lastReport: ApplyReport | undefined;

  constructor(
    kernel: KernelAdapters,
    private readonly log: Logger,
    private readonly opts: DataplaneOptions,
  ) {
    this.conntrack = new ConntrackFlusher(kernel.conntrack);
    this.routes = new RouteReconciler(kernel.routes, (dst) => this.conntrack.isBlocked(dst));
    const ipt: Partial<Record<IpFamily, IptablesReconciler>> = {};
    for (const f of opts.families) ipt[f] = new IptablesReconciler(kernel.iptables[f]);
    this.iptables = ipt;
    this.ipsets = new IpsetReconciler(kernel.ipsets);
    this.neighbors = new NeighborReconciler(kernel.neighbors);
    this.sysctls = new SysctlReconciler(kernel.sysctl);
    this.links = new LinkReconciler(kernel.links);
    this.sysctls.setOwner('global', globalSysctls(opts.families));
    this.#all = [
      this.conntrack,
      this.ipsets,
      ...Object.values(ipt),
      this.routes,
      this.neighbors,
      this.sysctls,
      this.links,
    ];
    if (opts.routesFirst) for (const r of this.#all) if (r !== this.routes && r !== this.conntrack) this.#held.add(r);
    this.#clock = opts.clock ?? realClock;
    this.#waiters = new EndpointWaiters(this.#clock);
    this.#backoff = new Backoff(opts.backoff ?? DEFAULT_APPLY_BACKOFF);
    this.#refreshMs = opts.refreshIntervalMs ?? 90_000;
  }

  // ---- DataplaneSink (called by the calc graph's sequencer, in dependency order) ----

  ipsetUpdated(set: DesiredIpset): void {
    this.ipsets.setIpset(set);
    this.kick();
  }
  ipsetRemoved(_family: IpFamily, name: string): void {
    this.ipsets.removeIpset(name);
    this.kick();
  }
  chainUpdated(chain: DesiredChain): void {
    this.iptables[chain.family]?.setChain(chain.table, chain.name, chain.rules);
    this.kick();
  }
  chainRemoved(family: IpFamily, table: ChainTable, name: string): void {
    this.iptables[family]?.removeChain(table, name);
    this.kick();
  }
  routeUpdated(route: DesiredRoute): void {
    this.routes.setRoute(route);
    this.kick();
  }
  routeRemoved(dst: string): void {
    this.routes.removeRoute(dst);
    this.kick();
  }

  endpointUpdated(ep: LocalEndpoint): void {
    const before = this.#endpoints.get(ep.key);
    this.#endpoints.set(ep.key, ep);
    if (before !== undefined) {
      this.#flushGoneAddresses(before, ep);
      if (before.iface !== ep.iface && !this.#ifaceInUse(before.iface)) this.links.remove(before.iface);
    }
    const families = familiesOf(ep);
    this.sysctls.setOwner(ep.key, interfaceSysctls(ep.iface, families));
    const mac = ep.mac;
    this.neighbors.setOwner(
      ep.key,
      mac === undefined
        ? []
        : [...ep.ipv4Nets, ...ep.ipv6Nets].map((n) => ({
            dst: n.slice(0, n.indexOf('/')),
            dev: ep.iface,
            lladdr: mac,
          })),
    );
    this.links.setMtu(ep.iface, ep.mtu);
    this.kick();
  }

  endpointRemoved(key: string): void {
    const ep = this.#endpoints.get(key);
    if (ep === undefined) return;
    this.#endpoints.delete(key);
    this.#flushGoneAddresses(ep, undefined);
    this.sysctls.removeOwner(key);
    this.neighbors.removeOwner(key);
    if (!this.#ifaceInUse(ep.iface)) this.links.remove(ep.iface);
    this.#settle(key, new EndpointWaitError(key, 'removed', `endpoint ${key} was removed before it was programmed`));
    this.kick();
  }

  inSync(): void {
    if (this.#inSync) return;
    this.#inSync = true;
    this.log.info({ endpoints: this.#endpoints.size }, 'desired state complete: programming the dataplane');
    this.kick();
  }

  /** `routesFirst`: the held reconcilers read and apply from the next pass on. Idempotent. */
  releaseHeld(): void {
    if (this.#held.size === 0) return;
    this.#held.clear();
    this.log.info('routes programmed first; programming the rest of the dataplane');
    this.kick();
  }

  get isHolding(): boolean {
    return this.#held.size > 0;
  }

  /** True when every desired route is in the kernel (what `routesFirst` programs first). */
  get routesProgrammed(): boolean {
    return this.#inSync && this.#backoff.attempt === 0 && !this.routes.hasPending && !this.conntrack.hasPending;
  }

  learnedRoutesInSync(): void {
    this.routes.learnedRoutesInSync();
    this.kick();
  }

  // ---- the apply loop ----

  start(): void {
    this.#stopped = false;
    if (!this.#inSync && this.#prefetching === undefined) this.#prefetching = this.#prefetch();
    this.#scheduleRefresh();
    this.kick();
  }

  /**
   * Before in-sync: every reconciler whose resync read does not depend on the desired state reads
   * the kernel now (concurrently), so the first apply after in-sync only writes. Nothing is written.
   */
  async #prefetch(): Promise<void> {
    const t0 = this.#clock.now();
    const rs = [this.ipsets, ...Object.values(this.iptables), this.routes, this.neighbors, this.links].filter(
      (r: Reconciler) => !this.#held.has(r),
    );
    const results = await Promise.allSettled(rs.map((r) => r.prefetch?.()));
    for (const r of results)
      if (r.status === 'rejected')
        this.log.warn({ err: r.reason }, 'reading the kernel before in-sync failed; the first apply reads it again');
    this.log.debug({ ms: this.#clock.now() - t0 }, 'kernel read before in-sync');
  }

  /** Stops the loop after the apply in progress (if any); pending waiters fail with 'stopped'. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#refreshTimer?.cancel();
    this.#refreshTimer = undefined;
    for (const key of this.#waiters.keys())
      this.#settle(
        key,
        new EndpointWaitError(key, 'stopped', `dataplane stopped before endpoint ${key} was programmed`),
      );
    if (this.#running) await new Promise<void>((r) => this.#idle.push(r));
  }

  kick(): void {
    if (this.#stopped || !this.#inSync) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    if (this.#timer !== undefined && !this.#backingOff) return;
    // New desired state is tried at once, even while backing off from an unrelated failure (the
    // failure count stays, so a persistent error still backs off when nothing changes).
    this.#timer?.cancel();
    this.#backingOff = false;
    this.#timer = this.#soon();
  }

  /**
   * The next pass, at once: with the real clock in the loop's next check phase (a change on the
   * route path waits for no 1 ms timer and no timer phase), with an injected clock its timer.
   */
  #soon(): Timer {
    if (this.#clock !== realClock) return this.#clock.setTimeout(() => void this.#run(), 0);
    const h = setImmediate(() => void this.#run());
    return { cancel: () => clearImmediate(h) };
  }

  /** Resolves when no apply is running or scheduled. */
  async whenIdle(): Promise<void> {
    if (!this.#running && this.#timer === undefined) return;
    await new Promise<void>((r) => this.#idle.push(r));
  }

  /** Every reconciler re-reads the kernel on its next apply. */
  queueResync(): void {
    for (const r of this.#all) r.queueResync();
    this.kick();
  }

  get isInSync(): boolean {
    return this.#inSync;
  }

  get applyCount(): number {
    return this.#applies;
  }

  /** True when nothing desired is waiting to be written (and the last pass had no error). */
  get isProgrammed(): boolean {
    return this.#inSync && this.#backoff.attempt === 0 && !this.#all.some((r) => r.hasPending);
  }

  /**
   * Resolves once endpoint `key` is programmed: its routes, chains (and the dispatch chains naming
   * them), neighbours, sysctls and MTU. Rejects with EndpointWaitError on timeout, removal or stop.
   */
  waitForEndpoint(
    key: string,
    opts: { readonly timeoutMs?: number; readonly signal?: AbortSignal } = {},
  ): Promise<void> {
    if (this.#endpointProgrammed(key)) return Promise.resolve();
    this.releaseHeld(); // a pod waits for its chains, sysctls and neighbours too
    return this.#waiters.wait(key, opts);
  }

  /** One apply pass over every reconciler, in order. Errors are collected, not thrown. */
  async applyOnce(): Promise<ApplyReport> {
    if (this.#prefetching !== undefined) {
      await this.#prefetching;
      this.#prefetching = undefined;
    }
    const t0 = this.#clock.now();
    const stats: Record<string, ApplyStats> = {};
    const errors: unknown[] = [];
    const run = async (name: string, fn: () => Promise<ApplyStats>): Promise<boolean> => {
      try {
        stats[name] = await fn();
        return true;
      } catch (err) {
        errors.push(err);
        return false;
      }
    };
    await run('conntrack', () => this.conntrack.apply());
    // Routes, neighbours and links are pipe writes to the ip co-process, sysctls /proc writes; they do
    // not depend on ipsets, so they go out at once (their writes issued before iptables-restore's
    // process start holds the event loop). The rules wait for the sets they use.
    const routes = run('routes', () => this.routes.apply());
    if (this.#held.size > 0) await routes;
    else {
      const quick = Promise.all([
        routes,
        run('neighbours', () => this.neighbors.apply()),
        run('sysctls', () => this.sysctls.apply()),
        run('links', () => this.links.apply()),
      ]);
      await new Promise<void>((r) => setImmediate(r));
      await run('ipsets', () => this.ipsets.applyUpdates());
      const rules = await Promise.all(Object.values(this.iptables).map((r) => run(r.name, () => r.apply())));
      await quick;
      // Sets may still be referenced by rules that failed to update: remove them only after a clean pass.
      if (rules.every(Boolean)) await run('ipsets-removal', () => this.ipsets.applyRemovals());
    }
    this.#applies++;
    const report = { ms: this.#clock.now() - t0, stats, errors };
    this.lastReport = report;
    this.#settleProgrammed();
    this.opts.onApply?.(report);
    return report;
  }

  async #run(): Promise<void> {
    this.#timer = undefined;
    this.#backingOff = false;
    this.#running = true;
    this.#again = false;
    let delay: number | undefined;
    try {
      const report = await this.applyOnce();
      if (report.errors.length > 0) {
        delay = this.#backoff.next();
        for (const err of report.errors)
          this.log.warn(
            { err, failures: this.#backoff.attempt, retryInMs: delay },
            'dataplane apply failed; will resync and retry',
          );
      } else {
        if (this.#backoff.attempt > 0) this.log.info({ after: this.#backoff.attempt }, 'dataplane apply recovered');
        this.#backoff.reset();
        if (this.log.isLevelEnabled('debug'))
          this.log.debug({ ms: report.ms, stats: report.stats }, 'dataplane applied');
      }
    } finally {
      this.#running = false;
    }
    if (this.#stopped) return this.#wakeIdle();
    if (delay !== undefined) {
      this.#backingOff = true;
      this.#timer = this.#clock.setTimeout(() => void this.#run(), delay);
    } else if (this.#again) this.#timer = this.#soon();
    // Still pending after a clean pass (e.g. a route held back for a conntrack flush): try again soon.
    else if (this.#all.some((r) => r.hasPending && !this.#held.has(r)))
      this.#timer = this.#clock.setTimeout(() => void this.#run(), this.#backoff.policy.initial);
    else this.#wakeIdle();
  }

  #scheduleRefresh(): void {
    if (this.#stopped || this.#refreshMs <= 0) return;
    this.#refreshTimer = this.#clock.setTimeout(() => {
      this.#refreshTimer = undefined;
      if (this.#inSync) this.queueResync();
      this.#scheduleRefresh();
    }, this.#refreshMs);
  }

  #wakeIdle(): void {
    const w = this.#idle;
    this.#idle = [];
    for (const r of w) r();
  }

  #endpointProgrammed(key: string): boolean {
    const ep = this.#endpoints.get(key);
    if (ep === undefined || !this.#inSync) return false;
    for (const dst of [...ep.ipv4Nets, ...ep.ipv6Nets]) if (!this.routes.isProgrammed(dst)) return false;
    for (const f of familiesOf(ep)) {
      const ipt = this.iptables[f];
      if (ipt === undefined) continue;
      for (const c of [
        fromWorkloadChain(ep.iface),
        toWorkloadChain(ep.iface),
        CHAINS.fromWorkloadDispatch,
        CHAINS.toWorkloadDispatch,
      ]) {
        if (!ipt.isProgrammed('filter', c)) return false;
      }
    }
    return this.neighbors.isProgrammed(key) && this.sysctls.isProgrammed(key) && this.links.isProgrammed(ep.iface);
  }

  #settleProgrammed(): void {
    for (const key of this.#waiters.keys()) if (this.#endpointProgrammed(key)) this.#settle(key, undefined);
  }

  #settle(key: string, err: EndpointWaitError | undefined): void {
    this.#waiters.settle(key, err);
  }

  #ifaceInUse(iface: string): boolean {
    for (const e of this.#endpoints.values()) if (e.iface === iface) return true;
    return false;
  }

  /**
   * Queues conntrack flushes for addresses `before` had that `after` has not — unless the same veth
   * (the same pod, re-keyed: a pod-derived endpoint replaced by its registration) still holds them.
   * An address handed to a different pod is flushed, so the new pod inherits no flow of the old.
   */
  #flushGoneAddresses(before: LocalEndpoint, after: LocalEndpoint | undefined): void {
    const still = new Set<string>();
    for (const e of this.#endpoints.values())
      if (e.iface === before.iface) for (const n of [...e.ipv4Nets, ...e.ipv6Nets]) still.add(n);
    if (after !== undefined && after.iface === before.iface)
      for (const n of [...after.ipv4Nets, ...after.ipv6Nets]) still.add(n);
    for (const n of [...before.ipv4Nets, ...before.ipv6Nets]) if (!still.has(n)) this.conntrack.queueFlush(n);
  }
}

function familiesOf(ep: LocalEndpoint): IpFamily[] {
  return [...(ep.ipv4Nets.length > 0 ? [4 as const] : []), ...(ep.ipv6Nets.length > 0 ? [6 as const] : [])];
}
