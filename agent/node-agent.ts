/**
 * NodeAgent: margay-node composed from its parts (ARCHITECTURE.md §1), one lifecycle.
 *
 *   health + metrics servers ─ first up, last down (not-ready until every reporter says so)
 *   kernel adapters ─▶ Dataplane (reconcilers, apply loop)  ◀─ CalcGraph (pure) ◀─┬─ ResourceCache ◀─ datastore
 *                                                                                 ├─ CniServer (endpoints)
 *                                                                                 └─ BgpHost (learned routes)
 *   datastore (connected with back-off) ─▶ Ipam ─▶ CniServer;  ResourceCache ─▶ BgpHost (planner input)
 *   status socket (<run dir>/bgp.sock) ─ margayctl node status
 *
 * Start order: servers → kernel → dataplane → datastore (retried, never fatal) → IPAM → CNI server
 * (re-registers the endpoints of earlier attachments *before* the graph is in sync, so a restart
 * keeps them) → cache. On in-sync: the graph emits the whole desired state (nothing reached the
 * kernel before), the node's BGP address is recorded, default pools created, BGP started.
 * Each part joins a ServiceGroup (src/runtime) as it comes up, and SIGTERM stops them through it, last
 * first: BGP (sessions abandoned without Cease), CNI (joins after the cache, so no new pod work starts
 * while the rest stops), cache, status socket, datastore, dataplane (waits for the apply in progress),
 * metrics, health. The kernel state stays as it is.
 */
import { BgpSpeaker, defaultSpeakerPorts, startControlServer } from '../bgp/index.js';
import type { AgentConfig } from '../src/config/index.js';
import { openDatastore } from '../src/datastore/index.js';
import { ConfigError } from '../src/errors.js';
import type { Datastore } from '../src/datastore/index.js';
import {
  createKernelAdapters,
  createCommandRunner,
  OWNERSHIP,
  type IptablesBackend,
  type KernelAdapters,
} from '../src/kernel/index.js';
import type { Logger } from '../src/log.js';
import type { BGPConfiguration, BGPPeer, BlockAffinity, IPAMBlock, IPPool, KindId, Node } from '../src/model/index.js';
import { Ipam } from '../ipam/index.js';
import { advertisedPrefixes } from './bgp/index.js';
import { nodeBgp, type NodeBgp } from './bgp/index.js';
import { BgpHost } from './bgp/index.js';
import { CalcGraph, CALC_KINDS } from './calc/index.js';
import { CniServer } from './cni/index.js';
import { connectDatastore } from './datastore-connect.js';
import { Dataplane } from './dataplane/index.js';
import { cniIpamAdapter } from './ipam-adapter.js';
import { DesiredStateTap } from './desired-tap.js';
import { HealthServer } from './health.js';
import { resolveNodeIp, type DetectedIp } from './ip-autodetect.js';
import { ipamUsage } from './ipam-usage.js';
import { AgentMetrics } from './metrics.js';
import { ensureDefaultPools, recordNodeBgp } from './node-register.js';
import { readSecret } from './secrets.js';
import { agentControlHandler } from './status-socket.js';
import { ResourceCache } from './sync/index.js';
import { ServiceGroup, ServiceStopError } from '../src/runtime/index.js';

/** Every kind the agent reads (ARCHITECTURE.md §3 "Resources"). */
export const AGENT_KINDS: readonly KindId[] = [
  'Node',
  'Namespace',
  'Pod',
  'K8sNetworkPolicy',
  'IPPool',
  'IPAMBlock',
  'BlockAffinity',
  'IPAMConfiguration',
  'BGPConfiguration',
  'BGPPeer',
  'NetworkPolicy',
  'GlobalNetworkPolicy',
];
const BGP_INPUT_KINDS = new Set<KindId>([
  'Node',
  'BGPConfiguration',
  'BGPPeer',
  'IPPool',
  'IPAMBlock',
  'BlockAffinity',
]);
const CALC = new Set<KindId>(CALC_KINDS);

function datastoreSpec(c: AgentConfig): string {
  return c.datastore.type === 'kubernetes' ? 'kubernetes' : `file:${c.datastore.dir}`;
}

function countingIptables(b: IptablesBackend, m: AgentMetrics): IptablesBackend {
  return {
    family: b.family,
    mode: b.mode,
    save: (t) => b.save(t),
    removeOwned: (t) => b.removeOwned(t),
    async restore(table, lines, opts) {
      m.iptablesRestoreCalls.inc();
      try {
        await b.restore(table, lines, opts);
      } catch (err) {
        m.iptablesRestoreErrors.inc();
        throw err;
      }
    },
  };
}

/**
 * IPAM GC cadence and the grace a leak must outlive (Calico kube-controllers: 15 min). Tests shorten
 * both with MARGAY_IPAM_GC_INTERVAL_MS / MARGAY_IPAM_GC_GRACE_MS (test/cni/churn.int.test.ts).
 */
const IPAM_GC_INTERVAL_MS = 60_000;
const IPAM_GC_GRACE_MS = 15 * 60_000;

function envMs(name: string, def: number, min: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > 86_400_000)
    throw new ConfigError(
      name,
      `must be an integer number of milliseconds in ${min}..86400000, got ${JSON.stringify(v)}`,
    );
  return n;
}

export class NodeAgent {
  readonly health: HealthServer;
  readonly metrics = new AgentMetrics();
  readonly #abort = new AbortController();
  readonly #log: Logger;
  #store: Datastore | undefined;
  #cache: ResourceCache | undefined;
  #graph: CalcGraph | undefined;
  #dataplane: Dataplane | undefined;
  #cni: CniServer | undefined;
  #bgp: BgpHost | undefined;
  #kernel: KernelAdapters | undefined;
  #inSyncAt: number | undefined;
  #firstProgrammed = false;
  #ips: { v4: DetectedIp | undefined; v6: DetectedIp | undefined } | undefined;
  #stopping: Promise<void> | undefined;
  #ipam: Ipam | undefined;
  #gcTimer: NodeJS.Timeout | undefined;
  /** First datastore change not yet in the kernel (policy implementation delay). */
  #changeSeenAt: number | undefined;
  readonly #desired = new DesiredStateTap();
  /** What SIGTERM stops, in reverse order of joining (see the file comment). */
  readonly #services: ServiceGroup;

  constructor(
    readonly config: AgentConfig,
    log: Logger,
  ) {
    this.#log = log;
    this.health = new HealthServer(log.child({ component: 'health' }));
    this.#services = new ServiceGroup(log.child({ component: 'lifecycle' }));
  }

  async start(): Promise<void> {
    const c = this.config;
    const log = this.#log;
    this.health.setReady('datastore', false);
    this.health.setCheck('dataplane', () => this.#dataplane?.isProgrammed === true);
    if (c.bgp) this.health.setCheck('bgp', () => this.#bgp?.speaker !== undefined && this.#bgp.allPeersEstablished());
    await this.#services.adopt(this.health);
    if (c.healthPort !== 0) await this.health.listen(c.healthPort, c.healthHost);
    await this.#services.adopt(this.metrics);
    if (c.metricsPort !== 0)
      await this.metrics.listen(c.metricsPort, c.healthHost, log.child({ component: 'metrics' }));

    const runner = createCommandRunner(log.child({ component: 'exec' }));
    const kernel = await createKernelAdapters(runner, log);
    this.#kernel = {
      ...kernel,
      iptables: {
        4: countingIptables(kernel.iptables[4], this.metrics),
        6: countingIptables(kernel.iptables[6], this.metrics),
      },
    };
    const families = [...('none' in c.ip ? [] : [4 as const]), ...('none' in c.ip6 ? [] : [6 as const])];
    const dataplane = new Dataplane(this.#kernel, log.child({ component: 'dataplane' }), {
      families,
      onApply: (r) => this.#onApply(r.ms, r.errors.length),
    });
    this.#dataplane = dataplane;
    const graph = new CalcGraph(
      {
        nodeName: c.nodeName,
        routingMode: c.bgp ? 'bgp' : 'host-gw',
        ipv4: families.includes(4),
        ipv6: families.includes(6),
        hostMtu: 1500,
      },
      this.#desired.wrap(dataplane),
    );
    this.#graph = graph;
    dataplane.start();
    await this.#services.adopt({ name: 'dataplane', stop: () => dataplane.stop() });

    const store = await connectDatastore(
      () =>
        openDatastore(datastoreSpec(c), { log, ...(c.kubeconfig !== undefined ? { kubeconfig: c.kubeconfig } : {}) }),
      { log: log.child({ component: 'datastore' }), policy: c.datastoreRetry, signal: this.#abort.signal },
    );
    this.#store = store;
    await this.#services.adopt({ name: 'datastore', stop: () => store.close() });
    // The file datastore reports when its database cannot be read at all: not ready meanwhile.
    store.onStatus?.((st) => this.health.setReady('datastore-storage', st.readable));
    const ipam = new Ipam({ store, log: log.child({ component: 'ipam' }) });
    this.#ipam = ipam;

    const cacheLog = log.child({ component: 'cache' });
    const cache = new ResourceCache(
      store,
      AGENT_KINDS,
      {
        upserted: (kind, obj) => this.#changed(kind, () => graph.upserted(kind, obj)),
        removed: (kind, key, last) => this.#changed(kind, () => graph.removed(kind, key, last)),
        inSync: () =>
          void this.#onInSync(store, cacheLog).catch((err: unknown) => {
            // A bug, not an outage (those are retried inside): say so loudly and stay up; readiness shows it.
            cacheLog.error({ err }, 'post-sync start-up failed');
            this.health.setReady('startup', false);
          }),
      },
      cacheLog,
    );
    this.#cache = cache;
    this.metrics.setProviders({
      bgpPeers: () => this.#bgp?.peers() ?? [],
      ipam: () =>
        ipamUsage(
          c.nodeName,
          cache.list('IPAMBlock') as IPAMBlock[],
          cache.list('IPPool') as IPPool[],
          (ns, name) => cache.get('Pod', `${ns}/${name}`) !== undefined,
        ),
      localEndpoints: () => this.#desired.endpoints.size,
      routes: () => this.#desired.routeCounts(),
      inSync: () => cache.isInSync,
    });

    this.#cni = new CniServer({
      nodeName: c.nodeName,
      ipam: cniIpamAdapter(ipam, c.nodeName, () => cache.list('IPAMBlock') as IPAMBlock[]),
      endpoints: {
        register: (reg) => graph.registerEndpoint(reg),
        unregister: (key) => graph.unregisterEndpoint(key),
        waitProgrammed: (key, timeoutMs) =>
          dataplane.waitForEndpoint(key, { timeoutMs }).then(
            () => true,
            () => false,
          ),
      },
      pods: { getPod: async (ns, name) => cache.get('Pod', `${ns}/${name}`) ?? (await store.get('Pod', name, ns)) },
      log: log.child({ component: 'cni' }),
      runDir: c.runDir,
      mtu: () => graph.vethMtu,
    });
    const cni = this.#cni;
    await cni.start();
    const control = await startControlServer(
      `${c.runDir}/bgp.sock`,
      agentControlHandler({ peers: () => this.#bgp?.peers() ?? [], rib: (q) => this.#bgp?.speaker?.queryRib(q) }),
      log.child({ component: 'status-socket' }),
    );
    await this.#services.adopt({ name: 'status-socket', stop: () => control.close() });
    await cache.start();
    await this.#services.adopt({ name: 'cache', stop: () => cache.stop() });
    await this.#services.adopt({ name: 'cni', stop: () => cni.stop() });
    log.info(
      { node: c.nodeName, datastore: datastoreSpec(c), bgp: c.bgp },
      'started; waiting for the datastore to be in sync',
    );
  }

  #changed(kind: KindId, feed: () => void): void {
    this.#changeSeenAt ??= Date.now();
    if (CALC.has(kind)) feed();
    if (BGP_INPUT_KINDS.has(kind) && this.#cache?.isInSync) this.#replanBgp();
  }

  #onApply(ms: number, errors: number): void {
    this.metrics.applyTime.observe(ms / 1000);
    if (errors > 0) this.metrics.applyFailures.inc();
    if (errors === 0 && this.#changeSeenAt !== undefined && this.#dataplane?.isProgrammed) {
      this.metrics.policyDelay.observe((Date.now() - this.#changeSeenAt) / 1000);
      this.#changeSeenAt = undefined;
    }
    if (!this.#firstProgrammed && this.#inSyncAt !== undefined && this.#dataplane?.isProgrammed) {
      this.#firstProgrammed = true;
      const s = (Date.now() - this.#inSyncAt) / 1000;
      this.metrics.firstProgramming.set(s);
      this.#log.info({ seconds: s }, 'dataplane programmed after in-sync');
    }
  }

  async #onInSync(store: Datastore, log: Logger): Promise<void> {
    const c = this.config;
    this.#inSyncAt = Date.now();
    this.#graph!.inSync();
    this.health.setReady('datastore', true);
    log.info(
      {
        kinds: this.#cache!.status()
          .map((k) => `${k.kind}=${k.objects}`)
          .join(' '),
      },
      'datastore in sync',
    );
    for (let attempt = 1; !this.#abort.signal.aborted; attempt++) {
      try {
        await this.#register(store);
        break;
      } catch (err) {
        const delay = Math.min(30_000, 250 * 2 ** Math.min(attempt, 7));
        log.warn({ err, retryInMs: delay }, 'recording the node or default pools failed; retrying');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    if (!this.#abort.signal.aborted) this.#startIpamGc(log.child({ component: 'ipam-gc' }));
    if (c.bgp && !this.#abort.signal.aborted) await this.#startBgp();
  }

  async #register(store: Datastore): Promise<void> {
    const c = this.config;
    const internalIp = async (): Promise<string | undefined> => {
      const n = (await store.get('Node', c.nodeName)) as Node | undefined;
      return n?.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
    };
    const v4 = await resolveNodeIp(c.ip, 4, { internalIp });
    const v6 = await resolveNodeIp(c.ip6, 6, { internalIp });
    this.#ips = { v4, v6 };
    await recordNodeBgp(store, {
      nodeName: c.nodeName,
      mode: c.datastore.type,
      own: {
        ipv4Cidr: v4 && `${v4.address}/${v4.prefixLength}`,
        ipv6Cidr: v6 && `${v6.address}/${v6.prefixLength}`,
        asNumber: c.asNumber,
      },
      log: this.#log.child({ component: 'node' }),
    });
    await ensureDefaultPools(store, c.defaultPools, this.#log.child({ component: 'pools' }));
  }

  async #startBgp(): Promise<void> {
    const _c = this.config;
    const graph = this.#graph!;
    const ours = await this.#kernel!.routes.list({ protos: [OWNERSHIP.routeProtocol.bgp] });
    const bgp = new BgpHost({
      log: this.#log.child({ component: 'bgp' }),
      restarting: ours.length > 0,
      sink: {
        learned: (routes) => graph.learnedRoutesChanged(routes),
        learnedInSync: () => graph.learnedRoutesInSync(),
      },
      createSpeaker: (config, { restarting }) =>
        new BgpSpeaker(config, {
          log: this.#log.child({ component: 'bgp' }),
          ...defaultSpeakerPorts(),
          trackBestPaths: true,
          restarting,
          forwardingPreserved: true,
        }),
    });
    this.#bgp = bgp;
    await this.#services.adopt({ name: 'bgp', stop: () => bgp.stop() });
    if (ours.length > 0)
      this.#log.info({ routes: ours.length }, 'kernel holds BGP routes from a previous run: graceful restart');
    this.#replanBgp();
  }

  #replanBgp(): void {
    const cache = this.#cache;
    if (!this.#bgp || !cache) return;
    const c = this.config;
    this.#bgp.update(() => ({
      nodeName: c.nodeName,
      nodes: new Map(
        cache
          .list('Node')
          .map((n) => nodeBgp(n as Node))
          .map((b): [string, NodeBgp] => [b.name, b]),
      ),
      configs: cache.list('BGPConfiguration') as BGPConfiguration[],
      peers: cache.list('BGPPeer') as BGPPeer[],
      pools: cache.list('IPPool') as IPPool[],
      advertise: advertisedPrefixes({
        nodeName: c.nodeName,
        blocks: cache.list('IPAMBlock') as IPAMBlock[],
        affinities: cache.list('BlockAffinity') as BlockAffinity[],
        pools: cache.list('IPPool') as IPPool[],
      }),
      password: (ref) => readSecret(c.secretsDir, ref, this.#log),
    }));
  }

  /** SIGTERM: components stop in reverse order; the dataplane stays as it is in the kernel. */
  /**
   * IPAM garbage collection (allocations and handles whose pod is gone, deleted nodes' affinities and
   * empty blocks): every IPAM_GC_INTERVAL_MS once in sync. A problem must persist across runs for
   * IPAM_GC_GRACE_MS (Calico's leak grace period) before it is acted on; several agents may run it at
   * once (every IPAM write is compare-and-swap).
   */
  #startIpamGc(log: Logger): void {
    const ipam = this.#ipam;
    if (this.#gcTimer !== undefined || ipam === undefined) return;
    const intervalMs = envMs('MARGAY_IPAM_GC_INTERVAL_MS', IPAM_GC_INTERVAL_MS, 100);
    const graceMs = envMs('MARGAY_IPAM_GC_GRACE_MS', IPAM_GC_GRACE_MS, 0);
    let running = false;
    this.#gcTimer = setInterval(() => {
      if (running || this.#abort.signal.aborted) return;
      running = true;
      ipam
        .gc({ gracePeriodMs: graceMs })
        .then(
          (r) => {
            const acted =
              r.releasedAddresses.length +
              r.deletedHandles.length +
              r.releasedNodes.length +
              r.removedAffinities.length;
            if (acted > 0)
              log.info(
                {
                  addresses: r.releasedAddresses.length,
                  handles: r.deletedHandles.length,
                  nodes: r.releasedNodes,
                  affinities: r.removedAffinities.length,
                  waiting: r.waiting,
                },
                'IPAM garbage collected',
              );
          },
          (err: unknown) => log.warn({ err }, 'IPAM garbage collection failed; retried at the next interval'),
        )
        .finally(() => {
          running = false;
        });
    }, intervalMs);
    this.#gcTimer.unref();
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#abort.abort(new Error('stopping'));
      if (this.#gcTimer !== undefined) clearInterval(this.#gcTimer);
      try {
        await this.#services.stop();
      } catch (err) {
        // Every part was still stopped; the group logged each failure with its name.
        if (!(err instanceof ServiceStopError)) throw err;
      }
      this.#log.info('stopped; dataplane left in place');
    })();
    return this.#stopping;
  }

  /** For status and tests: the addresses the agent resolved for its node. */
  get nodeIps(): { v4: DetectedIp | undefined; v6: DetectedIp | undefined } | undefined {
    return this.#ips;
  }
}
