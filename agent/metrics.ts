/**
 * margay-node's Prometheus metrics (prom-client) on the metrics port, GET /metrics. Names follow
 * Felix (felix_int_dataplane_apply_time_seconds → margay_int_dataplane_apply_time_seconds, ...),
 * Cilium (policy implementation delay) and Calico kube-controllers (ipam_allocations_*) where the
 * meaning is the same, under the margay_ prefix. Gauges that mirror state (BGP sessions, IPAM
 * usage, endpoints, routes) are computed at scrape time from providers, never kept in two places.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from '../src/log.js';
import type { StoppableService } from '../src/runtime/index.js';
import { EndpointSlot } from './http-endpoint.js';

export interface IpamUsage {
  readonly pool: string;
  readonly inUse: number;
  readonly borrowed: number;
  readonly gcCandidates: number;
}

/** State read at scrape time. */
export interface MetricsProviders {
  bgpPeers(): readonly { readonly address: string; readonly state: string }[];
  ipam(): readonly IpamUsage[];
  localEndpoints(): number;
  routes(): Readonly<Record<string, number>>;
  inSync(): boolean;
}

const BGP_STATES = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'] as const;

export class AgentMetrics implements StoppableService {
  readonly name = 'metrics';
  readonly registry = new Registry();
  readonly applyTime: Histogram;
  readonly applyFailures: Counter;
  readonly policyDelay: Histogram;
  readonly iptablesRestoreCalls: Counter;
  readonly iptablesRestoreErrors: Counter;
  readonly resyncs: Counter;
  readonly firstProgramming: Gauge;
  #providers: MetricsProviders | undefined;
  readonly #slot = new EndpointSlot('metrics');
  /** Node's process and GC metrics, not yet registered (see startDefaultMetrics). */
  #defaultPending: boolean;

  /**
   * `defaultMetrics` (default true): Node's process and GC metrics, registered by startDefaultMetrics()
   * or the first scrape, whichever comes first — the agent calls it once its first routes are in, so
   * a cold start does not spend ≈ 5–10 ms of CPU on them before (GC figures then start from there).
   */
  constructor(opts: { readonly defaultMetrics?: boolean } = {}) {
    const r = this.registry;
    this.#defaultPending = opts.defaultMetrics ?? true;
    this.applyTime = new Histogram({
      name: 'margay_int_dataplane_apply_time_seconds',
      help: 'Time to apply one batch of dataplane updates to the kernel (Felix: felix_int_dataplane_apply_time_seconds).',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [r],
    });
    this.applyFailures = new Counter({
      name: 'margay_int_dataplane_failures_total',
      help: 'Dataplane apply batches that failed (retried with back-off and a resync).',
      registers: [r],
    });
    this.policyDelay = new Histogram({
      name: 'margay_policy_implementation_delay_seconds',
      help: 'Datastore change seen → its dataplane change in the kernel (Cilium: cilium_policy_implementation_delay).',
      buckets: [0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [r],
    });
    this.iptablesRestoreCalls = new Counter({
      name: 'margay_iptables_restore_calls_total',
      help: 'iptables-restore runs (Felix: felix_iptables_restore_calls).',
      registers: [r],
    });
    this.iptablesRestoreErrors = new Counter({
      name: 'margay_iptables_restore_errors_total',
      help: 'iptables-restore runs that failed (Felix: felix_iptables_restore_errors).',
      registers: [r],
    });
    this.resyncs = new Counter({
      name: 'margay_resyncs_started_total',
      help: 'Full datastore resyncs started (Felix: felix_resyncs_started).',
      registers: [r],
    });
    this.firstProgramming = new Gauge({
      name: 'margay_first_programming_seconds',
      help: 'Datastore in sync → first full dataplane programming done.',
      registers: [r],
    });
    const self = this;
    new Gauge({
      name: 'margay_bgp_peers',
      help: 'BGP sessions per state (calicoctl node status).',
      labelNames: ['state'],
      registers: [r],
      collect() {
        this.reset();
        const counts = new Map<string, number>(BGP_STATES.map((s) => [s, 0]));
        for (const p of self.#providers?.bgpPeers() ?? []) counts.set(p.state, (counts.get(p.state) ?? 0) + 1);
        for (const [state, n] of counts) this.set({ state }, n);
      },
    });
    new Gauge({
      name: 'margay_bgp_session_established',
      help: '1 when the BGP session with the peer is Established.',
      labelNames: ['peer'],
      registers: [r],
      collect() {
        this.reset();
        for (const p of self.#providers?.bgpPeers() ?? [])
          this.set({ peer: p.address }, p.state === 'Established' ? 1 : 0);
      },
    });
    const ipam = (name: string, help: string, pick: (u: IpamUsage) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ['ippool'],
        registers: [r],
        collect() {
          this.reset();
          for (const u of self.#providers?.ipam() ?? []) this.set({ ippool: u.pool }, pick(u));
        },
      });
    };
    ipam(
      'margay_ipam_allocations_in_use',
      "Addresses allocated to this node's workloads (kube-controllers: ipam_allocations_in_use).",
      (u) => u.inUse,
    );
    ipam(
      'margay_ipam_allocations_borrowed',
      'Of those, addresses in blocks affine to another node (ipam_allocations_borrowed).',
      (u) => u.borrowed,
    );
    ipam(
      'margay_ipam_allocations_gc_candidates',
      'Allocations of this node whose pod no longer exists (ipam_allocations_gc_candidates).',
      (u) => u.gcCandidates,
    );
    new Gauge({
      name: 'margay_active_local_endpoints',
      help: 'Local workload endpoints (Felix: felix_active_local_endpoints).',
      registers: [r],
      collect() {
        this.set(self.#providers?.localEndpoints() ?? 0);
      },
    });
    new Gauge({
      name: 'margay_routes',
      help: 'Routes Margay wants in the kernel, by kind.',
      labelNames: ['kind'],
      registers: [r],
      collect() {
        this.reset();
        for (const [kind, n] of Object.entries(self.#providers?.routes() ?? {})) this.set({ kind }, n);
      },
    });
    new Gauge({
      name: 'margay_datastore_in_sync',
      help: '1 once the datastore has delivered every kind (Felix: felix_resync_state).',
      registers: [r],
      collect() {
        this.set(self.#providers?.inSync() ? 1 : 0);
      },
    });
  }

  setProviders(p: MetricsProviders): void {
    this.#providers = p;
  }

  /**
   * Serves GET /metrics on host:port (port 0: ephemeral); returns the bound port. The listener is an
   * HttpEndpoint (http-endpoint.ts), shared with the health server. One-shot, like every service.
   */
  async listen(port: number, host: string, log: Logger): Promise<number> {
    return this.#slot.listen(this.name, port, host, (req, res) => this.handle(req, res), log);
  }

  /** Stops answering: waits for scrapes in flight (bounded), then closes the port. Idempotent. */
  async stop(): Promise<void> {
    await this.#slot.stop();
  }

  /** Registers Node's default metrics now, if asked for and not done yet. Idempotent. */
  startDefaultMetrics(): void {
    if (!this.#defaultPending) return;
    this.#defaultPending = false;
    collectDefaultMetrics({ register: this.registry, prefix: 'margay_' });
  }

  /** Answers GET /metrics (the agent's own port goes through LazyAgentMetrics: metrics-lazy.ts). */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' || (req.url !== '/metrics' && !req.url?.startsWith('/metrics?'))) {
      res.writeHead(404).end();
      return;
    }
    // A collection failure rejects: HttpEndpoint answers 500 and logs it.
    this.startDefaultMetrics();
    const text = await this.registry.metrics();
    res.writeHead(200, { 'content-type': this.registry.contentType }).end(text);
  }
}
