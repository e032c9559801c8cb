/**
 * The sequencer: the graph's nodes write desired-state changes into it in whatever order they
 * compute them; it coalesces them (an update then a removal of the same key in one batch is one
 * removal; a value equal to the one last emitted is dropped) and, on `flush()`, hands them to the
 * dataplane in dependency order (STYLE 2.1.4, Felix's EventSequencer):
 *
 *   ipset updates ─▶ chain updates (targets before the chains that jump to them) ─▶ endpoint updates
 *   ─▶ route updates ─▶ route removals ─▶ endpoint removals ─▶ chain removals (jumpers first)
 *   ─▶ ipset removals
 *
 * Before `inSync()` nothing is emitted: the first flush after it delivers the whole desired state at
 * once, then `sink.inSync()`. So a restarting agent never programs (or removes) anything from a
 * half-loaded datastore.
 */
import type {
  ChainTable,
  DataplaneSink,
  DesiredChain,
  DesiredIpset,
  DesiredRoute,
  IpFamily,
  LocalEndpoint,
} from './types.js';

interface Category<V> {
  /** Pending since the last flush: a value, or null for a removal. */
  readonly pending: Map<string, V | null>;
  /** Canonical text of what the sink last received, per key. */
  readonly emitted: Map<string, string>;
}

function category<V>(): Category<V> {
  return { pending: new Map(), emitted: new Map() };
}

const chainKey = (family: IpFamily, table: ChainTable, name: string): string => `${family}|${table}|${name}`;
const ipsetKey = (family: IpFamily, name: string): string => `${family}|${name}`;

/** Chains a rule list jumps or goes to (`-j X` / `-g X` where X is one of ours). */
export function chainTargets(chain: DesiredChain): string[] {
  const out: string[] = [];
  for (const r of chain.rules) {
    for (let i = 0; i < r.length - 1; i++)
      if ((r[i] === '-j' || r[i] === '-g') && r[i + 1]!.startsWith('mgy-')) out.push(r[i + 1]!);
  }
  return out;
}

export class Sequencer implements Omit<DataplaneSink, 'inSync' | 'learnedRoutesInSync'> {
  readonly #ipsets = category<DesiredIpset>();
  readonly #chains = category<DesiredChain>();
  readonly #endpoints = category<LocalEndpoint>();
  readonly #routes = category<DesiredRoute>();
  #inSync = false;
  #inSyncSent = false;
  #learnedInSync = false;
  #learnedInSyncSent = false;
  /** Targets of each chain as last emitted, to order removals (a jumper goes before its target). */
  readonly #lastTargets = new Map<string, string[]>();

  constructor(private readonly sink: DataplaneSink) {}

  get isInSync(): boolean {
    return this.#inSync;
  }

  ipsetUpdated(set: DesiredIpset): void {
    this.#ipsets.pending.set(ipsetKey(set.family, set.name), set);
  }
  ipsetRemoved(family: IpFamily, name: string): void {
    this.#ipsets.pending.set(ipsetKey(family, name), null);
  }
  chainUpdated(chain: DesiredChain): void {
    this.#chains.pending.set(chainKey(chain.family, chain.table, chain.name), chain);
  }
  chainRemoved(family: IpFamily, table: ChainTable, name: string): void {
    this.#chains.pending.set(chainKey(family, table, name), null);
  }
  endpointUpdated(ep: LocalEndpoint): void {
    this.#endpoints.pending.set(ep.key, ep);
  }
  endpointRemoved(key: string): void {
    this.#endpoints.pending.set(key, null);
  }
  routeUpdated(route: DesiredRoute): void {
    this.#routes.pending.set(route.dst, route);
  }
  routeRemoved(dst: string): void {
    this.#routes.pending.set(dst, null);
  }

  /** The datastore delivered its initial state; the next flush emits everything. */
  markInSync(): void {
    this.#inSync = true;
  }

  /** BGP-learned routes are complete (or BGP is off). Passed on after the sink's inSync. */
  markLearnedRoutesInSync(): void {
    this.#learnedInSync = true;
  }

  /** Emits everything pending, in dependency order. A no-op before in-sync. */
  flush(): void {
    if (!this.#inSync) return;
    const ipsets = drain(this.#ipsets);
    const chains = drain(this.#chains);
    const endpoints = drain(this.#endpoints);
    const routes = drain(this.#routes);
    for (const s of ipsets.updates) this.sink.ipsetUpdated(s);
    for (const c of orderChains(chains.updates)) {
      this.#lastTargets.set(chainKey(c.family, c.table, c.name), chainTargets(c));
      this.sink.chainUpdated(c);
    }
    for (const e of endpoints.updates) this.sink.endpointUpdated(e);
    for (const r of routes.updates) this.sink.routeUpdated(r);
    for (const k of routes.removals) this.sink.routeRemoved(k);
    for (const k of endpoints.removals) this.sink.endpointRemoved(k);
    for (const k of orderChainRemovals(chains.removals, (key) => this.#lastTargets.get(key) ?? [])) {
      this.#lastTargets.delete(k);
      const [f, t, n] = k.split('|') as [string, ChainTable, string];
      this.sink.chainRemoved(Number(f) as IpFamily, t, n);
    }
    for (const k of ipsets.removals) {
      const i = k.indexOf('|');
      this.sink.ipsetRemoved(Number(k.slice(0, i)) as IpFamily, k.slice(i + 1));
    }
    if (!this.#inSyncSent) {
      this.#inSyncSent = true;
      this.sink.inSync();
    }
    if (this.#learnedInSync && !this.#learnedInSyncSent) {
      this.#learnedInSyncSent = true;
      this.sink.learnedRoutesInSync();
    }
  }
}

function drain<V>(c: Category<V>): { updates: V[]; removals: string[] } {
  const updates: V[] = [];
  const removals: string[] = [];
  for (const [k, v] of c.pending) {
    if (v === null) {
      if (c.emitted.delete(k)) removals.push(k);
      continue;
    }
    const text = JSON.stringify(v);
    if (c.emitted.get(k) === text) continue;
    c.emitted.set(k, text);
    updates.push(v);
  }
  c.pending.clear();
  return { updates, removals };
}

/** Chains in an order where every chain comes after the (updated) chains it jumps to. */
function orderChains(chains: readonly DesiredChain[]): DesiredChain[] {
  const byKey = new Map(chains.map((c) => [chainKey(c.family, c.table, c.name), c] as const));
  const out: DesiredChain[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (k: string): void => {
    if (state.get(k) !== undefined) return; // done, or a cycle (the kernel refuses those anyway)
    const c = byKey.get(k)!;
    state.set(k, 'visiting');
    for (const t of chainTargets(c)) {
      const tk = chainKey(c.family, c.table, t);
      if (byKey.has(tk)) visit(tk);
    }
    state.set(k, 'done');
    out.push(c);
  };
  for (const k of byKey.keys()) visit(k);
  return out;
}

/** Removed chains with the ones that jump to others first. */
function orderChainRemovals(keys: readonly string[], targetsOf: (key: string) => string[]): string[] {
  const set = new Set(keys);
  const out: string[] = [];
  const seen = new Set<string>();
  // Post-order over "is jumped to by", i.e. reversed dependency order.
  const visit = (k: string): void => {
    if (seen.has(k)) return;
    seen.add(k);
    const [f, t] = k.split('|');
    for (const target of targetsOf(k)) {
      const tk = `${f}|${t}|${target}`;
      if (set.has(tk)) visit(tk);
    }
    out.push(k);
  };
  for (const k of keys) visit(k);
  return out.reverse();
}
