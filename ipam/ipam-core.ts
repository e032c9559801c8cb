/**
 * IpamCore: the part of the Ipam that its helpers (claim, release, gc, the assign handle) work on —
 * the block store, logger, clock, retry policy, the cached cluster state and the own-block cache
 * hook. The helpers take an IpamCore, never the Ipam class, so the import graph runs one way:
 * ipam.ts → helpers → ipam-core.ts.
 */
import type { Logger } from 'pino';
import type { IPAMBlock, IPAMConfiguration } from '../src/model/index.js';
import type { Range } from './addr.js';
import type { UsablePool } from './pools.js';
import type { BlockStore, RetryPolicy } from './store.js';

/** Pools, reservations and IPAMConfiguration as last read (cached by the Ipam). */
export interface ClusterState {
  readonly pools: UsablePool[];
  readonly reservations: Range[];
  readonly config: IPAMConfiguration['spec'];
  readonly loadedAt: number;
}

export interface IpamCore {
  readonly bs: BlockStore;
  readonly log: Logger;
  /** Wall clock in ms. */
  readonly now: () => number;
  readonly retry: RetryPolicy;
  /** The cluster state, from the cache when fresh. */
  cluster(): Promise<ClusterState>;
  /** Records the latest version of a block this process wrote or read (keeps the own-block cache warm). */
  noteBlock(b: IPAMBlock | undefined, cidr: string): void;
}
