import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Datastore } from '../src/datastore/index.js';
import type { IPAMBlock, IPAMHandle } from '../src/model/index.js';
import { bitsOf, formatCidr, toAddr, toRange, type IpFamily } from './addr.js';
import {
  addressOf,
  allocateOrdinals,
  blockRange,
  ordinalOf,
  pruneReleaseTimes,
  type AllocationAttrs,
} from './block.js';
import { IpamAddressInUseError, IpamExhaustedError, IpamRequestError } from './errors.js';
import { planBorrow, planClaim, poolOfBlock, poolUsage, type BlockAlloc, type PlanContext } from './plan.js';
import {
  ANNOTATION,
  choosePools,
  parseListAnnotation,
  usablePools,
  type PoolSource,
  type UsablePool,
} from './pools.js';
import { releaseHandle, releaseAddresses } from './release.js';
import { BlockStore, RETRY, retrying, type RetryPolicy } from './store.js';
import { claimBlock } from './claim.js';
import { OwnBlockBatcher } from './batch.js';
import { checkRequest, handleIdFor, HandleState } from './handle.js';
import type { ClusterState, IpamCore } from './ipam-core.js';
import { checkSnapshot, usageOf, type CheckReport, type UsageReport } from './check.js';
import {
  cniGc,
  loadSnapshot,
  releaseFromReport,
  releaseNode,
  runGc,
  type GcMemory,
  type GcOptions,
  type GcResult,
} from './gc.js';
import type {
  CniAttachment,
  AssignRequest,
  AssignResult,
  AssignedAddress,
  ReleaseRequest,
  ReleaseResult,
  ReleasedAddress,
} from './types.js';

export { handleIdFor } from './handle.js';

export interface IpamOptions {
  readonly store: Datastore;
  readonly log: Logger;
  /** Wall clock in ms (tests pass a fake). */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  /** CAS attempts per step before MGY_IPAM_CONTENDED (default 40). */
  readonly maxAttempts?: number;
  /** How long pools, reservations and IPAMConfiguration are cached (default 1000 ms; 0: read every time). */
  readonly clusterCacheMs?: number;
}

/**
 * The IPAM service: assign / release / (gc, check in gc.ts, check.ts). Calico's IPAM over the
 * Datastore interface: each step reads, plans with the pure functions in plan.ts and block.ts, and
 * writes with compare-and-swap through BlockStore; a lost swap re-reads and re-plans (bounded,
 * jittered). Write order makes a crash at any point safe: the handle is counted up before the
 * block is written (an address is never allocated without a handle that leads to it), and a block
 * is written before the handle is counted down. The node's own blocks are cached between calls;
 * the cache is only a hint — every write is checked against the stored version.
 */
export class Ipam implements IpamCore {
  readonly bs: BlockStore;
  readonly log: Logger;
  readonly now: () => number;
  readonly retry: RetryPolicy;
  readonly #clusterCacheMs: number;
  #cluster: ClusterState | undefined;
  #clusterLoad: Promise<ClusterState> | undefined;
  /** node → its labels and when they were read (cached like the cluster state). */
  readonly #nodeLabels = new Map<string, { labels: Record<string, string>; at: number }>();
  /** node → block CIDR → last version seen of its own blocks. */
  readonly #own = new Map<string, Map<string, IPAMBlock>>();
  readonly #gcMemory: GcMemory = new Map();
  readonly #batcher: OwnBlockBatcher;

  constructor(opts: IpamOptions) {
    this.bs = new BlockStore(opts.store);
    this.log = opts.log;
    this.now = opts.now ?? Date.now;
    this.retry = {
      maxAttempts: opts.maxAttempts ?? 40,
      sleep: opts.sleep ?? ((ms) => delay(ms)),
      random: opts.random ?? Math.random,
    };
    this.#clusterCacheMs = opts.clusterCacheMs ?? 1000;
    this.#batcher = new OwnBlockBatcher({
      maxAttempts: this.retry.maxAttempts,
      sleep: this.retry.sleep,
      random: this.retry.random,
      now: this.now,
      minReuseAgeMs: async () => (await this.cluster()).config.minReuseAgeSeconds * 1000,
      planContext: async () => this.planContext(await this.cluster()),
      ownBlocks: (node, refresh) => this.ownBlocks(node, refresh),
      updateBlock: (b, spec) => this.bs.updateBlock(b, spec),
      refreshBlock: async (cidr) => this.noteBlock(await this.bs.getBlock(cidr), cidr),
      noteBlock: (b, cidr) => this.noteBlock(b, cidr),
      claim: (node, pools) => this.#claimFor(node, pools),
    });
  }

  /** Forget cached pools, reservations, configuration and own blocks. */
  invalidate(): void {
    this.#cluster = undefined;
    this.#nodeLabels.clear();
    this.#own.clear();
  }

  async cluster(): Promise<ClusterState> {
    const now = this.now();
    if (this.#cluster && now - this.#cluster.loadedAt < this.#clusterCacheMs && now >= this.#cluster.loadedAt)
      return this.#cluster;
    // Concurrent callers share one load (a burst must not reload the same objects 32 times).
    this.#clusterLoad ??= this.#loadCluster(now).finally(() => {
      this.#clusterLoad = undefined;
    });
    return this.#clusterLoad;
  }

  async #loadCluster(now: number): Promise<ClusterState> {
    const [pools, reservations, config] = await Promise.all([
      this.bs.listPools(),
      this.bs.listReservations(),
      this.bs.config(),
    ]);
    const u = usablePools(pools);
    for (const c of u.conflicts) this.log.warn({ ignored: c.ignored, kept: c.kept }, c.message);
    const ranges = reservations.flatMap((r) =>
      r.spec.reservedCIDRs.map((c) => toRange(c, { allowBareIp: true })!).filter(Boolean),
    );
    this.#cluster = { pools: u.pools, reservations: ranges, config, loadedAt: now };
    return this.#cluster;
  }

  /**
   * Assigns addresses to the handle `<network>.<containerId>`. Idempotent: when the handle already
   * holds addresses they are returned (existing: true). All or nothing: when one family fails,
   * whatever this call allocated is released before the error is thrown.
   */
  async assign(req: AssignRequest): Promise<AssignResult> {
    checkRequest(req);
    const handleId = handleIdFor(req.network, req.containerId);
    const prior = await this.bs.getHandle(handleId);
    if (prior && Object.values(prior.spec.block).some((n) => n > 0)) {
      const held = await this.addressesOfHandle(prior);
      if (held.length > 0) return { handleId, addresses: held, existing: true };
    }
    const cluster = await this.cluster();
    const [podAnn, nsAnn, nodeLabels] = await this.#context(req);
    const fixed = [...(req.addresses ?? []), ...(parseListAnnotation(podAnn, ANNOTATION.ipAddrs, 'the pod') ?? [])];
    const hs = new HandleState(this, handleId, req, prior);
    const attrs: AllocationAttrs = {
      handleId,
      secondary: {
        ...(req.pod ? { namespace: req.pod.namespace, pod: req.pod.name } : {}),
        node: req.node,
        timestamp: new Date(this.now()).toISOString(),
      },
    };
    const out: AssignedAddress[] = [];
    try {
      if (fixed.length > 0) {
        for (const a of fixed) out.push(await this.#assignFixed(cluster, req, a, hs, attrs));
      } else {
        for (const family of ['ipv4', 'ipv6'] as const) {
          if (family === 'ipv4' ? req.ipv4 === false : req.ipv6 !== true) continue;
          const choice = choosePools({
            family,
            use: req.use ?? 'Workload',
            pools: cluster.pools,
            nodeName: req.node,
            nodeLabels,
            podAnnotations: podAnn,
            namespaceAnnotations: nsAnn,
            cniPools: family === 'ipv4' ? req.ipv4Pools : req.ipv6Pools,
          });
          if (choice.pools.length === 0) continue;
          out.push(await this.#assignAuto(cluster, req.node, family, choice.pools, choice.source, hs, attrs));
        }
      }
      if (out.length === 0)
        throw new IpamRequestError(`nothing to assign for ${handleId}: neither IPv4 nor IPv6 requested`);
    } catch (err) {
      if (out.length > 0 || hs.touched) await this.#rollback(handleId, err);
      throw err;
    }
    return { handleId, addresses: out, existing: false };
  }

  async #rollback(handleId: string, cause: unknown): Promise<void> {
    try {
      await this.releaseByHandle(handleId);
    } catch (err) {
      // The handle stays; GC (or the runtime's DEL) releases it later. Say so loudly.
      this.log.error({ err, handleId, cause }, 'could not roll back a failed assign; the handle is left for GC');
    }
  }

  async #context(
    req: AssignRequest,
  ): Promise<[Record<string, string> | undefined, Record<string, string> | undefined, Record<string, string>]> {
    let podAnn = req.podAnnotations,
      nsAnn = req.namespaceAnnotations;
    const nodeP = this.#labelsOf(req.node);
    if (req.pod && (podAnn === undefined || nsAnn === undefined)) {
      const [pod, ns] = await Promise.all([
        podAnn === undefined ? this.bs.getPod(req.pod.namespace, req.pod.name) : undefined,
        nsAnn === undefined ? this.bs.getNamespace(req.pod.namespace) : undefined,
      ]);
      podAnn ??= pod?.metadata.annotations;
      nsAnn ??= ns?.metadata.annotations;
    }
    return [podAnn, nsAnn, await nodeP];
  }

  async #labelsOf(node: string): Promise<Record<string, string>> {
    const now = this.now();
    const c = this.#nodeLabels.get(node);
    if (c && now - c.at < this.#clusterCacheMs && now >= c.at) return c.labels;
    const labels = (await this.bs.getNode(node))?.metadata.labels ?? {};
    if (this.#nodeLabels.size > 10_000) this.#nodeLabels.clear();
    this.#nodeLabels.set(node, { labels, at: now });
    return labels;
  }

  planContext(cluster: ClusterState): PlanContext {
    return {
      reservations: cluster.reservations,
      nowMs: this.now(),
      minReuseAgeMs: cluster.config.minReuseAgeSeconds * 1000,
    };
  }

  async ownBlocks(node: string, refresh: boolean): Promise<Map<string, IPAMBlock>> {
    let own = this.#own.get(node);
    if (!own || refresh) {
      own = new Map();
      for (const b of await this.bs.listBlocks())
        if (b.spec.affinity === `host:${node}` && !b.spec.deleted) own.set(b.spec.cidr, b);
      this.#own.set(node, own);
    }
    return own;
  }

  /** Records the latest version of a block this process wrote or read (keeps the own-block cache warm). */
  noteBlock(b: IPAMBlock | undefined, cidr: string): void {
    for (const [node, own] of this.#own) {
      if (b && b.spec.affinity === `host:${node}` && !b.spec.deleted) own.set(cidr, b);
      else own.delete(cidr);
    }
  }

  async #assignAuto(
    cluster: ClusterState,
    node: string,
    family: IpFamily,
    pools: readonly UsablePool[],
    source: PoolSource,
    hs: HandleState,
    attrs: AllocationAttrs,
  ): Promise<AssignedAddress> {
    return retrying(this.retry, `assigning an ${family} address on ${node}`, async () => {
      const mine = await this.#batcher.take(node, pools, source, hs, attrs);
      if (mine) return mine;
      // The node's blocks are full and no block could be claimed: borrow, else exhausted.
      const ctx = this.planContext(cluster);
      const all = await this.bs.listBlocks();
      const cfg = cluster.config;
      if (await this.#claimFor(node, pools, all)) return RETRY;
      if (!cfg.strictAffinity) {
        const borrow = planBorrow(
          all.filter((b) => b.spec.affinity !== `host:${node}`),
          pools,
          1,
          ctx,
        );
        if (borrow) return (await this.#commit(borrow, hs, attrs, node, source, true)) ?? RETRY;
      }
      const usage = poolUsage(pools, all, ctx);
      throw new IpamExhaustedError(
        family,
        node,
        usage,
        usage.some((u) => u.cooling > 0),
      );
    });
  }

  /** Claims a block for `node` in the first of `pools` with one free; false when none can be. */
  async #claimFor(node: string, pools: readonly UsablePool[], known?: readonly IPAMBlock[]): Promise<boolean> {
    const cluster = await this.cluster();
    const cfg = cluster.config;
    if (!cfg.autoAllocateBlocks) return false;
    const all = known ?? (await this.bs.listBlocks());
    const ownCount = all.filter((b) => b.spec.affinity === `host:${node}`).length;
    if (cfg.maxBlocksPerHost !== 0 && ownCount >= cfg.maxBlocksPerHost) return false;
    const existing = new Set(all.map((b) => b.spec.cidr));
    const ctx = this.planContext(cluster);
    for (const pool of pools) {
      const cidr = planClaim(pool, existing, node, ctx);
      if (cidr === undefined) continue;
      const claimed = await claimBlock(this, node, cidr, cfg.strictAffinity);
      if (claimed) this.noteBlock(claimed, cidr);
      return true; // claimed, or lost the race for it: either way there may be room now
    }
    return false;
  }

  /** Carries out one BlockAlloc: count the handle up, CAS the block; undefined when the block changed. */
  async #commit(
    a: BlockAlloc,
    hs: HandleState,
    attrs: AllocationAttrs,
    node: string,
    source: PoolSource | 'fixed',
    borrowed: boolean,
  ): Promise<AssignedAddress | undefined> {
    const cidr = a.block.spec.cidr;
    await hs.add(cidr, a.ordinals.length);
    const cfg = (await this.cluster()).config;
    const spec = allocateOrdinals(
      pruneReleaseTimes(a.block.spec, this.now(), cfg.minReuseAgeSeconds * 1000),
      a.ordinals,
      attrs,
    );
    let stored: IPAMBlock;
    try {
      stored = await this.bs.updateBlock(a.block, spec);
    } catch (err) {
      await hs.add(cidr, -a.ordinals.length);
      const fresh = await this.bs.getBlock(cidr);
      this.noteBlock(fresh, cidr);
      if (isRaceErr(err)) return undefined;
      throw err;
    }
    this.noteBlock(stored, cidr);
    const ord = a.ordinals[0]!;
    this.log.debug({ handleId: attrs.handleId, cidr, ordinal: ord, node }, 'address assigned');
    return {
      address: addressOf(cidr, ord),
      family: blockRange(cidr).family,
      block: cidr,
      pool: a.pool.pool.metadata.name,
      ordinal: ord,
      sequenceNumber: stored.spec.sequenceNumberForAllocation?.[String(ord)] ?? 0,
      borrowed: borrowed || stored.spec.affinity !== `host:${node}`,
      source,
    };
  }

  async #assignFixed(
    cluster: ClusterState,
    req: AssignRequest,
    text: string,
    hs: HandleState,
    attrs: AllocationAttrs,
  ): Promise<AssignedAddress> {
    const a = toAddr(text);
    if (!a) throw new IpamRequestError(`fixed address ${JSON.stringify(text)} is not an IP address`);
    const pool = cluster.pools.find(
      (p) => p.range.family === a.family && a.value >= p.range.first && a.value <= p.range.last,
    );
    if (!pool)
      throw new IpamAddressInUseError(text, 'it is in no IPPool; fixed addresses must come from a configured pool');
    const reserved = cluster.reservations.find((r) => r.family === a.family && a.value >= r.first && a.value <= r.last);
    if (reserved) throw new IpamAddressInUseError(text, `it is reserved (IPReservation ${reserved.cidr})`);
    const shift = BigInt(bitsOf(a.family) - pool.pool.spec.blockSize);
    const first = (a.value >> shift) << shift;
    const cidr = formatCidr(a.family, first, pool.pool.spec.blockSize);
    return retrying(this.retry, `assigning fixed address ${text}`, async () => {
      let block = await this.bs.getBlock(cidr);
      if (!block) {
        block = await claimBlock(this, req.node, cidr, cluster.config.strictAffinity);
        if (!block) return RETRY;
      }
      const ord = ordinalOf(cidr, a.value)!;
      const holder = block.spec.allocations[ord];
      if (holder !== null && holder !== undefined) {
        const h = block.spec.attributes[holder]?.handle_id;
        throw new IpamAddressInUseError(text, `it is already allocated${h ? ` to ${h}` : ''}`);
      }
      const owner = block.spec.affinity;
      if (owner !== `host:${req.node}` && block.spec.strictAffinity) {
        throw new IpamAddressInUseError(text, `its block ${cidr} is strictly affine to ${owner ?? 'no node'}`);
      }
      return (
        (await this.#commit(
          { block, pool: poolOfBlock(cidr, [pool])!, ordinals: [ord] },
          hs,
          attrs,
          req.node,
          'fixed',
          false,
        )) ?? RETRY
      );
    });
  }

  /** The addresses a handle holds, read from its blocks. */
  async addressesOfHandle(h: IPAMHandle): Promise<AssignedAddress[]> {
    const { pools } = await this.cluster();
    const out: AssignedAddress[] = [];
    for (const cidr of Object.keys(h.spec.block)) {
      const b = await this.bs.getBlock(cidr);
      if (!b) continue;
      b.spec.allocations.forEach((ai, ord) => {
        if (ai === null || b.spec.attributes[ai]?.handle_id !== h.spec.handleID) return;
        const node = b.spec.attributes[ai]?.secondary?.node;
        out.push({
          address: addressOf(cidr, ord),
          family: blockRange(cidr).family,
          block: cidr,
          pool: poolOfBlock(cidr, pools)?.pool.metadata.name ?? '',
          ordinal: ord,
          sequenceNumber: b.spec.sequenceNumberForAllocation?.[String(ord)] ?? 0,
          borrowed: node !== undefined && b.spec.affinity !== `host:${node}`,
          source: 'fixed',
        });
      });
    }
    return out.sort((x, y) => (x.family < y.family ? -1 : x.family > y.family ? 1 : 0));
  }

  /** Releases every address of the handle and deletes it. Idempotent: an unknown handle releases nothing. */
  async releaseByHandle(handleId: string): Promise<ReleasedAddress[]> {
    return releaseHandle(this, handleId);
  }

  /** Releases single addresses (margayctl ipam release), each only if its checks pass. */
  async releaseAddresses(items: readonly ReleaseRequest[]): Promise<ReleaseResult> {
    return releaseAddresses(this, items);
  }

  /**
   * Releases what check finds leaked (pod gone, handle gone, empty handle, deleted node, broken
   * claim) once it has been seen for the grace period across calls of this Ipam.
   */
  async gc(opts: GcOptions = {}): Promise<GcResult> {
    return runGc(this, this.#gcMemory, opts);
  }

  /** CNI GC (spec 1.1): releases every attachment of `network` not in `valid`. Returns the released handle ids. */
  async cniGc(network: string, valid: readonly CniAttachment[]): Promise<string[]> {
    return cniGc(this, network, valid);
  }

  /** A deleted node: its empty blocks are given back, the others lose its affinity. */
  async releaseNode(node: string): Promise<{ deletedBlocks: string[]; unaffinedBlocks: string[] }> {
    return releaseNode(this, node);
  }

  async check(): Promise<CheckReport> {
    return checkSnapshot(await loadSnapshot(this), new Date(this.now()));
  }

  async releaseFromReport(report: unknown): Promise<Omit<GcResult, 'waiting'>> {
    return releaseFromReport(this, report);
  }

  async usage(): Promise<UsageReport> {
    const [cluster, blocks] = await Promise.all([this.cluster(), this.bs.listBlocks()]);
    return usageOf(cluster.pools, blocks);
  }
}

function isRaceErr(err: unknown): boolean {
  return (
    (err as { code?: string }).code === 'MGY_DATASTORE_CONFLICT' ||
    (err as { code?: string }).code === 'MGY_DATASTORE_NOT_FOUND'
  );
}
