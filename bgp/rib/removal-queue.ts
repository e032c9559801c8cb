/**
 * RemovalQueue: path removals that may be too large to do at once (a session with a full table lost,
 * a stale sweep, a peer deleted), done in bounded slices by `step(budget)` so the caller can keep
 * other sessions' keepalives going between slices. A job walks one family's path pool from a cursor
 * and removes the paths of its peer (all, or only stale ones). A peer being deleted keeps its index
 * (its paths still refer to it) until its last job is done; then `retire` frees the index.
 */
import type { FamilyTable } from './family-table.js';
import { PATH_STALE } from './family-table.js';
import type { PeerRt } from './peer.js';

interface Job {
  readonly peer: PeerRt;
  readonly f: number;
  cursor: number;
  readonly staleOnly: boolean;
}

export class RemovalQueue {
  #jobs: Job[] = [];
  readonly #retiring = new Set<PeerRt>();

  constructor(
    private readonly tables: readonly [FamilyTable, FamilyTable],
    private readonly removePath: (f: number, q: number) => void,
    private readonly retire: (p: PeerRt) => void,
  ) {}

  get pending(): boolean {
    return this.#jobs.length > 0;
  }

  push(peer: PeerRt, f: number, staleOnly: boolean): void {
    this.#jobs.push({ peer, f, cursor: 0, staleOnly });
  }

  /** Replaces the peer's jobs by removal of all its paths, then retires the peer. */
  removeAll(peer: PeerRt): void {
    this.#jobs = this.#jobs.filter((j) => j.peer !== peer);
    for (let f = 0; f < 2; f++) this.push(peer, f, false);
    this.#retiring.add(peer);
  }

  /** Removes up to `budget` paths, scanning at most 8 × budget pool slots. True while work remains. */
  step(budget: number): boolean {
    let removed = 0,
      scanned = 0;
    const scanMax = budget * 8;
    while (this.#jobs.length > 0 && removed < budget && scanned < scanMax) {
      const j = this.#jobs[0]!,
        ft = this.tables[j.f]!,
        idx = j.peer.idx;
      const end = Math.min(ft.pathTop, j.cursor + (scanMax - scanned));
      let q = j.cursor;
      for (; q < end && removed < budget; q++) {
        if (ft.pathPeer[q] !== idx || ft.pathPrefix[q]! < 0) continue;
        if (j.staleOnly && (ft.pathFlags[q]! & PATH_STALE) === 0) continue;
        this.removePath(j.f, q);
        removed++;
      }
      scanned += q - j.cursor;
      j.cursor = q;
      if (q >= ft.pathTop) {
        this.#jobs.shift();
        this.#retireIfDone(j.peer);
      }
    }
    return this.#jobs.length > 0;
  }

  /** Completes the peer's pending jobs synchronously (other peers' jobs stay queued). */
  finish(peer: PeerRt): void {
    const mine = this.#jobs.filter((j) => j.peer === peer);
    if (mine.length === 0) return;
    this.#jobs = this.#jobs.filter((j) => j.peer !== peer);
    for (const j of mine) {
      const ft = this.tables[j.f]!;
      for (let q = j.cursor; q < ft.pathTop; q++) {
        if (ft.pathPeer[q] !== peer.idx || ft.pathPrefix[q]! < 0) continue;
        if (!j.staleOnly || (ft.pathFlags[q]! & PATH_STALE) !== 0) this.removePath(j.f, q);
      }
    }
    this.#retireIfDone(peer);
  }

  #retireIfDone(peer: PeerRt): void {
    if (!this.#retiring.has(peer) || this.#jobs.some((j) => j.peer === peer)) return;
    this.#retiring.delete(peer);
    this.retire(peer);
  }
}
