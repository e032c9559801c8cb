/**
 * RibCore: the part of the Rib that its three helpers (rib-ingest, rib-out, rib-query) work on — the
 * tables, the attribute store, the peers and the few operations they call back. The helpers take a
 * RibCore, never the Rib class, so the import graph runs one way: rib.ts → helpers → rib-core.ts.
 */
import type { AttrSet, AttrStore } from './attr-store.js';
import type { AttrScan } from './attrs.js';
import type { BestPathEnv } from './best-path.js';
import type { FamilyTable } from './family-table.js';
import type { PeerRt } from './peer.js';
import type { TransformEnv } from './transforms.js';
import type { Family, RibOptions } from './types.js';

export type RibCoreOptions = Required<Omit<RibOptions, 'clusterId' | 'prefixLists'>> & {
  readonly clusterId: string;
  readonly prefixLists: RibOptions['prefixLists'];
};

export interface RibCore {
  readonly opts: RibCoreOptions;
  readonly store: AttrStore;
  readonly tables: readonly [FamilyTable, FamilyTable];
  readonly peers: readonly (PeerRt | undefined)[];
  readonly env: TransformEnv;
  readonly bestEnv: readonly [BestPathEnv, BestPathEnv];
  /** Scratch space for scanning one attribute block (reused: no allocation per UPDATE). */
  readonly scan: AttrScan;
  peer(id: string): PeerRt;
  /** The set itself when live, else revived in the store. */
  live(set: AttrSet): AttrSet;
  sweepStale(id: string, family?: Family): void;
  removePath(f: number, q: number): void;
  recompute(f: number, pi: number, bestChanged?: boolean): void;
  maybeFreePrefix(f: number, pi: number): void;
  noteUnsendable(T: PeerRt, set: AttrSet, fam: Family, pi: number, needed: number, limit: number): void;
}
