/**
 * The agent's metrics (metrics.ts, prom-client), loaded once its routes are in or at the first
 * scrape, whichever comes first: prom-client's module evaluation and the registry's construction cost
 * every agent start ≈ 2–3 ms of CPU before its first routes otherwise (the node-agent chunk's load
 * ≈ 1.7 ms less with the compile cache, measured alone; 306 → 191 KB). The metrics port is bound at
 * start as before. Until the load, each observation is queued (one or two per apply pass) and replayed
 * in order, so no count is lost.
 */
import type { IptablesBackend } from '../src/kernel/index.js';
import type { Logger } from '../src/log.js';
import type { StoppableService } from '../src/runtime/index.js';
import { EndpointSlot } from './http-endpoint.js';
import type { AgentMetrics, MetricsProviders } from './metrics.js';

export class LazyAgentMetrics implements StoppableService {
  readonly name = 'metrics';
  #metrics: AgentMetrics | undefined;
  #loading: Promise<AgentMetrics> | undefined;
  #queue: ((m: AgentMetrics) => void)[] = [];
  #providers: MetricsProviders | undefined;
  readonly #slot = new EndpointSlot('metrics');

  /** Applies `op` now, or at the load. */
  record(op: (m: AgentMetrics) => void): void {
    if (this.#metrics !== undefined) op(this.#metrics);
    else this.#queue.push(op);
  }

  /** Loads prom-client and the metrics (once), replaying what was recorded. */
  load(): Promise<AgentMetrics> {
    this.#loading ??= import('./metrics.js').then(({ AgentMetrics }) => {
      const m = new AgentMetrics();
      if (this.#providers !== undefined) m.setProviders(this.#providers);
      for (const op of this.#queue) op(m);
      this.#queue = [];
      this.#metrics = m;
      return m;
    });
    return this.#loading;
  }

  setProviders(p: MetricsProviders): void {
    this.#providers = p;
    this.#metrics?.setProviders(p);
  }

  /** Serves GET /metrics on host:port; the first scrape loads the metrics. Returns the bound port. */
  async listen(port: number, host: string, log: Logger): Promise<number> {
    return this.#slot.listen(this.name, port, host, async (req, res) => (await this.load()).handle(req, res), log);
  }

  async stop(): Promise<void> {
    await this.#slot.stop();
  }
}

/** The iptables backend, counting restore calls and errors (felix_iptables_restore_calls / _errors). */
export function countingIptables(b: IptablesBackend, m: LazyAgentMetrics): IptablesBackend {
  return {
    family: b.family,
    get mode() {
      return b.mode;
    },
    save: (t) => b.save(t),
    removeOwned: (t) => b.removeOwned(t),
    async restore(table, lines, opts) {
      m.record((x) => x.iptablesRestoreCalls.inc());
      try {
        await b.restore(table, lines, opts);
      } catch (err) {
        m.record((x) => x.iptablesRestoreErrors.inc());
        throw err;
      }
    },
  };
}
