/**
 * The calculation graph: datastore state, CNI registrations and BGP-learned routes in; the desired
 * dataplane out, as ordered updates to a DataplaneSink. Pure and synchronous (STYLE 2.1.4): no I/O,
 * no timers, no logger. Every input method processes its event and flushes (use `batch` to flush
 * once for many events). This file is the only place nodes are wired together.
 *
 *  inputs                         nodes                                     outputs (via Sequencer)
 *  ──────                         ─────                                     ───────────────────────
 *  IPPool ──────────────────────▶ IpPoolIndex ──────────────────────────────▶ ipsets mgy{4,6}-{all,masq}-pools
 *                                     │ encap overhead
 *                                     ▼
 *  CNI registration ──┐
 *  Pod ───────────────┼─────────▶ LocalEndpointResolver ──┬─────────────────▶ endpoints
 *  Namespace ─────────┘                                   ├──▶ PolicyResolver ──▶ EndpointChainRenderer ─▶ chains
 *                                                         │      ▲ (policy issue plugs in here)    mgy-fw/tw-<veth>,
 *                                                         │                                        dispatch chains
 *                                                         ▼
 *  IPAMBlock ─────┬─────────────▶ BlockOwnerIndex ──────▶ RouteResolver ───────────────────────────▶ routes
 *  BlockAffinity ─┘                   │ owners              ▲   ▲   ▲
 *  IPAMBlock, Pod ──────────────▶ RemoteAddressIndex ───────┘   │   │ (borrowed addresses, host-gw)
 *  Node ────────────────────────▶ NodeAddressIndex ─────────────┘   │ (host-gw next hops)
 *  BGP best paths ──────────────────────────────────────────────────┘ (bgp mode)
 *  (start) ─────────────────────▶ renderStaticChains ─────────────────────────▶ chains mgy-FORWARD, -INPUT,
 *                                                                               -OUTPUT, nat -POSTROUTING
 *  in-sync ─────────────────────▶ Sequencer: holds everything until then, then emits in dependency order
 */
import type { KindId, Resource } from '../../src/model/index.js';
import { BlockOwnerIndex } from './block-owner-index.js';
import { EndpointChainRenderer } from './chain-renderer.js';
import { Dispatcher } from './dispatcher.js';
import { LocalEndpointResolver } from './endpoint-resolver.js';
import { NodeAddressIndex } from './node-address-index.js';
import { PolicyResolver, type EndpointPolicies } from './policy-resolver.js';
import { IpPoolIndex } from './pool-index.js';
import { RemoteAddressIndex } from './remote-address-index.js';
import { RouteResolver } from './route-resolver.js';
import { Sequencer } from './sequencer.js';
import { renderStaticChains } from './static-chains.js';
import type {
  CalcConfig,
  DataplaneSink,
  IpFamily,
  LearnedRoute,
  LocalEndpoint,
  ResourceUpdate,
  WorkloadEndpointRegistration,
} from './types.js';

/** Kinds the graph reads today (the policy issue adds the policy kinds). */
export const CALC_KINDS: readonly KindId[] = ['Node', 'Namespace', 'Pod', 'IPPool', 'IPAMBlock', 'BlockAffinity'];

export class CalcGraph {
  readonly #seq: Sequencer;
  readonly #dispatcher = new Dispatcher();
  readonly #pools: IpPoolIndex;
  readonly #endpoints: LocalEndpointResolver;
  readonly #policies: PolicyResolver;
  readonly #chains: EndpointChainRenderer;
  readonly #blocks: BlockOwnerIndex;
  readonly #remote: RemoteAddressIndex;
  readonly #nodes: NodeAddressIndex;
  readonly #routes: RouteResolver;
  #batchDepth = 0;

  constructor(
    readonly config: CalcConfig,
    sink: DataplaneSink,
  ) {
    const families: IpFamily[] = [...(config.ipv4 ? [4 as const] : []), ...(config.ipv6 ? [6 as const] : [])];
    const seq = (this.#seq = new Sequencer(sink));
    this.#routes = new RouteResolver(config, seq);
    this.#chains = new EndpointChainRenderer(families, seq);
    this.#policies = new PolicyResolver(this.#chains);
    this.#endpoints = new LocalEndpointResolver(config, {
      endpointChanged: (key: string, ep: LocalEndpoint | undefined): void => {
        if (ep === undefined) seq.endpointRemoved(key);
        else seq.endpointUpdated(ep);
        this.#routes.endpointChanged(key, ep);
        this.#policies.endpointChanged(key, ep);
      },
    });
    this.#pools = new IpPoolIndex(families, seq, this.#endpoints);
    this.#remote = new RemoteAddressIndex(this.#routes);
    this.#blocks = new BlockOwnerIndex({
      blockOwnerChanged: (cidr, owner) => {
        this.#routes.blockOwnerChanged(cidr, owner);
        this.#remote.blockOwnerChanged(cidr, owner);
      },
    });
    this.#nodes = new NodeAddressIndex(this.#routes);
    for (const f of families) for (const c of renderStaticChains(f)) seq.chainUpdated(c);

    const d = this.#dispatcher;
    d.on('IPPool', (k, o) => this.#pools.onPool(k, o));
    d.on('Namespace', (k, o) => this.#endpoints.onNamespace(k, o));
    d.on('Pod', (k, o) => this.#endpoints.onPod(k, o));
    d.on('Pod', (k, o) => this.#remote.onPod(k, o));
    d.on('IPAMBlock', (k, o) => this.#blocks.onBlock(k, o));
    d.on('IPAMBlock', (k, o) => this.#remote.onBlock(k, o));
    d.on('BlockAffinity', (k, o) => this.#blocks.onAffinity(k, o));
    d.on('Node', (k, o) => this.#nodes.onNode(k, o));
  }

  // ---- inputs: the datastore (the ResourceCache's consumer interface) ----

  upserted(kind: KindId, obj: Resource): void {
    this.#run(() => this.#dispatcher.dispatch({ type: 'upserted', kind, obj }));
  }

  removed(kind: KindId, key: string, last: Resource): void {
    this.#run(() => this.#dispatcher.dispatch({ type: 'removed', kind, key, last }));
  }

  /** Many datastore changes, one flush. */
  applyUpdates(updates: Iterable<ResourceUpdate>): void {
    this.#run(() => {
      for (const u of updates) this.#dispatcher.dispatch(u);
    });
  }

  /** The datastore delivered its initial state: the whole desired state goes out now, then inSync. */
  inSync(): void {
    this.#run(() => {
      this.#seq.markInSync();
      if (this.config.routingMode !== 'bgp') this.#seq.markLearnedRoutesInSync();
    });
  }

  // ---- inputs: CNI ----

  registerEndpoint(reg: WorkloadEndpointRegistration): void {
    this.#run(() => this.#endpoints.register(reg));
  }

  unregisterEndpoint(key: string): void {
    this.#run(() => this.#endpoints.unregister(key));
  }

  // ---- inputs: BGP ----

  learnedRoutesChanged(routes: readonly LearnedRoute[]): void {
    this.#run(() => this.#routes.learnedRoutesChanged(routes));
  }

  /** Every peer sent End-of-RIB (or the speaker's deadline passed). */
  learnedRoutesInSync(): void {
    this.#run(() => this.#seq.markLearnedRoutesInSync());
  }

  // ---- the policy seam (see policy-resolver.ts) ----

  /** For the policy nodes: the policy chains that apply to a local endpoint. */
  policiesMatched(key: string, policies: EndpointPolicies): void {
    this.#run(() => this.#policies.policiesMatched(key, policies));
  }

  /** Runs `fn` (any of the inputs above) and flushes once at the end. */
  batch(fn: () => void): void {
    this.#run(fn);
  }

  get isInSync(): boolean {
    return this.#seq.isInSync;
  }

  get vethMtu(): number {
    return this.#endpoints.mtu;
  }

  #run(fn: () => void): void {
    this.#batchDepth++;
    try {
      fn();
    } finally {
      this.#batchDepth--;
    }
    if (this.#batchDepth === 0) this.#flush();
  }

  #flush(): void {
    this.#pools.flush();
    this.#endpoints.flush();
    this.#remote.flush();
    this.#routes.flush();
    this.#chains.flush();
    this.#seq.flush();
  }
}
