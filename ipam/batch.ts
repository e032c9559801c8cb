import type { IPAMBlock } from '../src/model/index.js';
import { addressOf, allocateOrdinals, blockRange, pruneReleaseTimes, type AllocationAttrs } from './block.js';
import { IpamContendedError } from './errors.js';
import { planFromOwnBlocks } from './plan.js';
import type { PoolSource, UsablePool } from './pools.js';
import { isRace } from './store.js';
import type { AssignedAddress } from './types.js';

/**
 * Group commit for a node's own blocks. Concurrent assigns for the same node and candidate pools
 * (a burst of pods) queue here; one drainer plans k free ordinals of one block for the k waiting
 * handles, counts each handle up, and writes the block once (one compare-and-swap for k addresses,
 * instead of k writes racing for the same block and retrying). A lost swap counts the handles down
 * again and re-plans on the fresh block. When the node's blocks are full the drainer claims a new
 * block once for the whole batch; waiters still without room get undefined (the caller borrows, or
 * reports the pool exhausted).
 */
export interface HandleCounter {
  add(cidr: string, n: number): Promise<void>;
}

export interface BatchPorts {
  readonly maxAttempts: number;
  sleep(ms: number): Promise<void>;
  random(): number;
  now(): number;
  minReuseAgeMs(): Promise<number>;
  planContext(): Promise<Parameters<typeof planFromOwnBlocks>[3]>;
  ownBlocks(node: string, refresh: boolean): Promise<Map<string, IPAMBlock>>;
  updateBlock(block: IPAMBlock, spec: IPAMBlock['spec']): Promise<IPAMBlock>;
  refreshBlock(cidr: string): Promise<void>;
  noteBlock(b: IPAMBlock, cidr: string): void;
  /** Claims a new block for the node in one of the pools; false when none can be claimed. */
  claim(node: string, pools: readonly UsablePool[]): Promise<boolean>;
}

interface Waiter {
  readonly hs: HandleCounter;
  readonly attrs: AllocationAttrs;
  readonly source: PoolSource;
  resolve(a: AssignedAddress | undefined): void;
  reject(err: unknown): void;
}

interface Queue {
  readonly node: string;
  readonly pools: readonly UsablePool[];
  readonly waiters: Waiter[];
}

const MAX_BATCH = 64;

export class OwnBlockBatcher {
  readonly #queues = new Map<string, Queue>();
  constructor(private readonly ports: BatchPorts) {}

  /** An address from the node's own blocks, or undefined when they have no room. */
  take(
    node: string,
    pools: readonly UsablePool[],
    source: PoolSource,
    hs: HandleCounter,
    attrs: AllocationAttrs,
  ): Promise<AssignedAddress | undefined> {
    const key = `${node}\u0000${pools.map((p) => p.pool.metadata.name).join(',')}`;
    return new Promise((resolve, reject) => {
      let q = this.#queues.get(key);
      const start = q === undefined;
      if (!q) {
        q = { node, pools, waiters: [] };
        this.#queues.set(key, q);
      }
      q.waiters.push({ hs, attrs, source, resolve, reject });
      if (start) void this.#drain(key, q);
    });
  }

  async #drain(key: string, q: Queue): Promise<void> {
    try {
      while (q.waiters.length > 0) {
        const batch = q.waiters.splice(0, MAX_BATCH);
        try {
          await this.#serve(q, batch);
        } catch (err) {
          for (const w of batch) w.reject(err); // settled waiters ignore a second settlement
        }
      }
    } finally {
      this.#queues.delete(key);
    }
  }

  async #serve(q: Queue, batch: Waiter[]): Promise<void> {
    let pending = batch;
    let failures = 0;
    let refresh = false;
    let claims = 0;
    while (pending.length > 0) {
      const ctx = await this.ports.planContext();
      const own = await this.ports.ownBlocks(q.node, refresh);
      const plan = planFromOwnBlocks([...own.values()], q.pools, pending.length, ctx);
      if (!plan) {
        if (!refresh) {
          refresh = true; // the cache may hide room freed by another process: look once more
          continue;
        }
        // One claim for the whole batch (not one per waiter); the new block is in the cache.
        if (claims++ < 4 && (await this.ports.claim(q.node, q.pools))) continue;
        for (const w of pending) w.resolve(undefined);
        return;
      }
      const cidr = plan.block.spec.cidr;
      const group = pending.slice(0, plan.ordinals.length);
      const counted = await Promise.allSettled(group.map((w) => w.hs.add(cidr, 1)));
      const ok = group.filter((_w, i) => counted[i]!.status === 'fulfilled');
      group.forEach((w, i) => {
        const r = counted[i]!;
        if (r.status === 'rejected') w.reject(r.reason);
      });
      let spec = pruneReleaseTimes(plan.block.spec, this.ports.now(), await this.ports.minReuseAgeMs());
      ok.forEach((w, i) => {
        spec = allocateOrdinals(spec, [plan.ordinals[i]!], w.attrs);
      });
      let stored: IPAMBlock | undefined;
      if (ok.length > 0) {
        try {
          stored = await this.ports.updateBlock(plan.block, spec);
        } catch (err) {
          await Promise.all(ok.map((w) => w.hs.add(cidr, -1)));
          await this.ports.refreshBlock(cidr);
          if (!isRace(err)) throw err;
          refresh = true;
          if (++failures >= this.ports.maxAttempts)
            throw new IpamContendedError(`assigning addresses in block ${cidr}`, failures, { cause: err });
          await this.ports.sleep(this.ports.random() * Math.min(64, 2 ** failures));
          pending = pending.filter((w) => !group.includes(w) || ok.includes(w));
          continue;
        }
        this.ports.noteBlock(stored, cidr);
        ok.forEach((w, i) => {
          const ord = plan.ordinals[i]!;
          w.resolve({
            address: addressOf(cidr, ord),
            family: blockRange(cidr).family,
            block: cidr,
            pool: plan.pool.pool.metadata.name,
            ordinal: ord,
            sequenceNumber: stored!.spec.sequenceNumberForAllocation?.[String(ord)] ?? 0,
            borrowed: stored!.spec.affinity !== `host:${q.node}`,
            source: w.source,
          });
        });
      }
      pending = pending.slice(group.length);
    }
  }
}
