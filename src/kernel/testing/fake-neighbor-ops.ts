import { InvariantError, type MargayError } from '../../errors.js';
import type { KernelNeighbor, NeighborEntry, NeighborOps } from '../neighbor-ops.js';
import { isOwnedInterface } from '../ownership.js';
import { FailureInjector } from './failure-injector.js';

/** In-memory NeighborOps, keyed `proxy|dev|dst`. Applies the same ownership guard as IpNeighborOps. */
export class FakeNeighborOps implements NeighborOps {
  readonly entries = new Map<string, KernelNeighbor>();
  readonly faults = new FailureInjector();

  constructor(private readonly touchForeign = false) {}

  get ops(): string[] {
    return this.faults.ops;
  }

  failNext(err: MargayError, match?: RegExp): void {
    this.faults.failNext(err, match);
  }

  async list(filter: { readonly dev?: string; readonly proxy?: boolean } = {}): Promise<KernelNeighbor[]> {
    this.faults.record('list');
    return [...this.entries.values()].filter(
      (n) =>
        (filter.dev === undefined || n.dev === filter.dev) && (filter.proxy === undefined || n.proxy === filter.proxy),
    );
  }

  async replace(e: NeighborEntry): Promise<void> {
    this.faults.record(`replace ${e.dst} ${e.dev}`);
    this.#guard(e.dev);
    this.entries.set(`n|${e.dev}|${e.dst}`, {
      dst: e.dst,
      dev: e.dev,
      lladdr: e.lladdr,
      state: ['PERMANENT'],
      proxy: false,
    });
  }

  async replaceProxy(e: { readonly dst: string; readonly dev: string }): Promise<void> {
    this.faults.record(`replaceProxy ${e.dst} ${e.dev}`);
    this.#guard(e.dev);
    this.entries.set(`p|${e.dev}|${e.dst}`, { dst: e.dst, dev: e.dev, state: [], proxy: true });
  }

  async delete(e: { readonly dst: string; readonly dev: string; readonly proxy?: boolean }): Promise<void> {
    this.faults.record(`delete ${e.proxy ? 'proxy ' : ''}${e.dst} ${e.dev}`);
    this.#guard(e.dev);
    this.entries.delete(`${e.proxy ? 'p' : 'n'}|${e.dev}|${e.dst}`);
  }

  async apply(changes: {
    readonly replace?: readonly NeighborEntry[];
    readonly remove?: readonly { readonly dst: string; readonly dev: string }[];
  }): Promise<void> {
    this.faults.record(`apply ${changes.replace?.length ?? 0} ${changes.remove?.length ?? 0}`);
    for (const e of [...(changes.remove ?? []), ...(changes.replace ?? [])]) this.#guard(e.dev);
    for (const e of changes.remove ?? []) this.entries.delete(`n|${e.dev}|${e.dst}`);
    for (const e of changes.replace ?? []) {
      this.entries.set(`n|${e.dev}|${e.dst}`, {
        dst: e.dst,
        dev: e.dev,
        lladdr: e.lladdr,
        state: ['PERMANENT'],
        proxy: false,
      });
    }
  }

  #guard(dev: string): void {
    if (!this.touchForeign && !isOwnedInterface(dev))
      throw new InvariantError(`neighbour on ${JSON.stringify(dev)}: not a Margay interface`);
  }
}
