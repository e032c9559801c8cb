import type { IPAMBlock } from '../src/model/index.js';
import { bitsOf, type Range } from './addr.js';
import {
  blockCidrAt,
  blockCount,
  blockRange,
  blockSize,
  countBlock,
  reservedOrdinals,
  usableOrdinals,
  type FreeOptions,
} from './block.js';
import type { PoolUsage } from './errors.js';
import type { UsablePool } from './pools.js';

/**
 * The allocation plan, pure: which block to take addresses from and which ordinals, which block to
 * claim next, or which foreign block to borrow from. The block store (store.ts) carries a plan out
 * with compare-and-swap; when the swap loses, the caller re-reads and plans again.
 *
 * Order, as Calico's autoAssign: the node's own blocks (pool order, then block order); then claim a
 * new block in the first candidate pool that has one free; then (unless strict affinity) borrow
 * single addresses from any other non-strict block of the candidate pools.
 */
export interface PlanContext {
  readonly reservations: readonly Range[];
  readonly nowMs: number;
  readonly minReuseAgeMs: number;
}

export interface BlockAlloc {
  readonly block: IPAMBlock;
  readonly pool: UsablePool;
  readonly ordinals: readonly number[];
}

export function freeOptions(cidr: string, ctx: PlanContext): FreeOptions {
  return { reserved: reservedOrdinals(cidr, ctx.reservations), nowMs: ctx.nowMs, minReuseAgeMs: ctx.minReuseAgeMs };
}

/** The candidate pool holding a block, or undefined when the block is in none of them. */
export function poolOfBlock(cidr: string, pools: readonly UsablePool[]): UsablePool | undefined {
  const r = blockRange(cidr);
  return pools.find((p) => p.range.family === r.family && r.first >= p.range.first && r.last <= p.range.last);
}

function firstWithRoom(
  blocks: readonly IPAMBlock[],
  pools: readonly UsablePool[],
  count: number,
  ctx: PlanContext,
): BlockAlloc | undefined {
  const ranked: { block: IPAMBlock; pool: UsablePool; rank: number }[] = [];
  for (const block of blocks) {
    if (block.spec.deleted) continue;
    const pool = poolOfBlock(block.spec.cidr, pools);
    if (pool) ranked.push({ block, pool, rank: pools.indexOf(pool) });
  }
  ranked.sort((a, b) => a.rank - b.rank || compareCidr(a.block.spec.cidr, b.block.spec.cidr));
  for (const { block, pool } of ranked) {
    const ordinals = usableOrdinals(block.spec, freeOptions(block.spec.cidr, ctx), count);
    if (ordinals.length > 0) return { block, pool, ordinals };
  }
  return undefined;
}

function compareCidr(a: string, b: string): number {
  const ra = blockRange(a),
    rb = blockRange(b);
  return ra.first < rb.first ? -1 : ra.first > rb.first ? 1 : 0;
}

/** Addresses from the node's own blocks: the first block with room, up to `count` of its ordinals. */
export function planFromOwnBlocks(
  own: readonly IPAMBlock[],
  pools: readonly UsablePool[],
  count: number,
  ctx: PlanContext,
): BlockAlloc | undefined {
  return firstWithRoom(own, pools, count, ctx);
}

/** Addresses borrowed from another node's (or no node's) block; strict-affinity blocks are never lent. */
export function planBorrow(
  others: readonly IPAMBlock[],
  pools: readonly UsablePool[],
  count: number,
  ctx: PlanContext,
): BlockAlloc | undefined {
  return firstWithRoom(
    others.filter((b) => !b.spec.strictAffinity),
    pools,
    count,
    ctx,
  );
}

/** A stable per-node starting point, so nodes claiming at once rarely race for the same block. */
export function nodeHash(node: string): bigint {
  let h = 0x811c9dc5;
  for (let i = 0; i < node.length; i++) h = Math.imul(h ^ node.charCodeAt(i), 0x01000193) >>> 0;
  return BigInt(h);
}

/**
 * The next block CIDR of `pool` that no block occupies yet and that is not wholly reserved,
 * starting at a node-dependent index and wrapping; undefined when the pool has no free block.
 * `existing` holds the CIDRs of every block of the pool (any node's).
 */
export function planClaim(
  pool: UsablePool,
  existing: ReadonlySet<string>,
  node: string,
  ctx: PlanContext,
): string | undefined {
  const prefix = pool.pool.spec.blockSize;
  if (prefix > bitsOf(pool.range.family) || prefix < pool.range.prefix) return undefined;
  const n = blockCount(pool.range, prefix);
  const start = nodeHash(node) % n;
  // At most |existing| blocks are taken, plus wholly reserved ones; bound the walk either way.
  const limit = BigInt(existing.size) + 1n + 4096n;
  for (let i = 0n; i < n && i < limit; i++) {
    const cidr = blockCidrAt(pool.range, prefix, (start + i) % n);
    if (existing.has(cidr)) continue;
    if (reservedOrdinals(cidr, ctx.reservations).size >= blockSize(cidr)) continue;
    return cidr;
  }
  return undefined;
}

/** Usage of each candidate pool over all its blocks: for the exhausted error and `ipam show`. */
export function poolUsage(pools: readonly UsablePool[], blocks: readonly IPAMBlock[], ctx: PlanContext): PoolUsage[] {
  return pools.map((p) => {
    let allocated = 0,
      reserved = 0,
      cooling = 0;
    for (const b of blocks) {
      if (poolOfBlock(b.spec.cidr, [p]) === undefined) continue;
      const c = countBlock(b.spec, freeOptions(b.spec.cidr, ctx));
      allocated += c.allocated;
      reserved += c.reserved;
      cooling += c.cooling;
    }
    return {
      pool: p.pool.metadata.name,
      cidr: p.range.cidr,
      capacity: p.range.last - p.range.first + 1n,
      allocated,
      reserved,
      cooling,
    };
  });
}
