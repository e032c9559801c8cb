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
 * Start order: servers → datastore (retried, never fatal) and kernel adapters in parallel (the
 * kernel only read: BGP routes of a previous run mean a graceful restart) → dataplane → IPAM → CNI
 * server (re-registers the endpoints of earlier attachments *before* the graph is in sync, so a
 * restart keeps them) → cache. On in-sync: the graph emits the whole desired state (nothing reached
 * the kernel before), the node's addresses are resolved, BGP starts at once (planned with the node's
 * address as it is about to be recorded), and meanwhile the node's BGP address is recorded and
 * default pools created. Routes first (startup-gates.ts): the dataplane programs only routes until
 * this node's routes are in; then the rest of it and the status socket; metrics and the CNI
 * co-processes 1 s later. `start-up step` log lines give each milestone's time and CPU since the fork.
 * Each part joins a ServiceGroup (src/runtime) as it comes up, and SIGTERM stops them through it, last
 * first: BGP (sessions abandoned without Cease), CNI (joins after the cache, so no new pod work starts
 * while the rest stops), cache, status socket, datastore, dataplane (waits for the apply in progress),
 * metrics, health. The kernel state stays as it is.
 */
import { BgpSpeaker, defaultSpeakerPorts, startControlServer } from '../bgp/index.js';
import type { AgentConfig } from '../src/config/index.js';
import { openDatastore } from '../src/datastore/index.js';
import type { Datastore } from '../src/datastore/index.js';
import { createKernelAdapters, createCommandRunner, OWNERSHIP, type KernelAdapters } from '../src/kernel/index.js';
import type { Logger } from '../src/log.js';
import type { BGPConfiguration, BGPPeer, BlockAffinity, IPAMBlock, IPPool, KindId, Node } from '../src/model/index.js';
import { Ipam } from '../ipam/index.js';
import { AdvertisementScope, advertisedPrefixes } from './bgp/index.js';
import { nodeBgp, withOwnBgp, type NodeBgp, type OwnNodeBgp } from './bgp/index.js';
import { BgpHost } from './bgp/index.js';
import { CalcGraph, CALC_KINDS } from './calc/index.js';
import { CniServer } from './cni/index.js';
import { connectDatastore } from './datastore-connect.js';
import { Dataplane } from './dataplane/index.js';
import { cniIpamAdapter } from './ipam-adapter.js';
import { DesiredStateTap } from './desired-tap.js';
import { HealthServer } from './health.js';
import { resolveNodeIp, type DetectedIp } from './ip-autodetect.js';
import { startIpamGc } from './ipam-gc.js';
import { ipamUsage } from './ipam-usage.js';
import { countingIptables, LazyAgentMetrics } from './metrics-lazy.js';
import { ensureDefaultPools, recordNodeBgp } from './node-register.js';
import { readSecret } from './secrets.js';
import { agentControlHandler, StatusSocket } from './status-socket.js';
import { ResourceCache } from './sync/index.js';
import { ServiceGroup, ServiceStopError } from '../src/runtime/index.js';
import { processAgeMs } from './startup-clock.js';
import { compileIpv6CheckNatively } from './ipv6-check.js';
import { LOCK_GUARD_LATEST_MS, StartupGates } from './startup-gates.js';
import { AGENT_KINDS, BGP_INPUT_KINDS } from './agent-kinds.js';

const CALC = new Set<KindId>(CALC_KINDS);

function datastoreSpec(c: AgentConfig): string {
  return c.datastore.type === 'kubernetes' ? 'kubernetes' : `file:${c.datastore.dir}`;
}

export class NodeAgent {
  readonly health: HealthServer;
  readonly metrics = new LazyAgentMetrics();
  readonly #abort = new AbortController();
  readonly #log: Logger;
  #cache: ResourceCache | undefined;
  #graph: CalcGraph | undefined;
  #dataplane: Dataplane | undefined;
  #cni: CniServer | undefined;
  #bgp: BgpHost | undefined;
  #kernel: KernelAdapters | undefined;
  /** BGP routes the kernel held at start (read before anything could write it): > 0 is a graceful restart. */
  #previousBgpRoutes = 0;
  /** What this agent records as its node's BGP identity, used for planning until the record is written. */
  #ownBgp: OwnNodeBgp | undefined;
  #ownBgpRecorded = false;
  #ownBgpSeen = false;
  #inSyncAt: number | undefined;
  #firstProgrammed = false;
  /** Routes first: the rest of the dataplane, then deferred work (CNI co-processes, ...): startup-gates.ts. */
  readonly #gates = new StartupGates((reason) => {
    if (reason === 'routes') this.#step('routes programmed');
    this.#dataplane?.releaseHeld();
    this.#status?.start();
  });
  #status: StatusSocket | undefined;
  #learnedAny = false;
  #ips: { v4: DetectedIp | undefined; v6: DetectedIp | undefined } | undefined;
  #stopping: Promise<void> | undefined;
  #ipam: Ipam | undefined;
  #gcTimer: NodeJS.Timeout | undefined;
  /** First datastore change not yet in the kernel (policy implementation delay). */
  #changeSeenAt: number | undefined;
  #scope: AdvertisementScope | undefined; // which IPAM changes bear on this node's BGP plan
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

  /** A start-up milestone, with the process's age (agent/startup-clock.ts): where a cold start goes. */
  #step(step: string): void {
    const cpu = process.cpuUsage(); // getrusage: counts the tuned re-exec's first image too
    this.#log.info({ step, ms: processAgeMs(), cpuMs: Math.round((cpu.user + cpu.system) / 1000) }, 'start-up step');
  }

  async start(): Promise<void> {
    const c = this.config;
    const log = this.#log;
    this.#step('modules loaded');
    this.health.setReady('datastore', false);
    // The node's record (BGP address, AS) and the default pools are written after in-sync: the CNI
    // plugin and the other nodes rely on them, so the agent is not ready before they are.
    this.health.setReady('node-registered', false);
    this.health.setCheck('dataplane', () => this.#dataplane?.isProgrammed === true);
    if (c.bgp) this.health.setCheck('bgp', () => this.#bgp?.speaker !== undefined && this.#bgp.allPeersEstablished());
    await this.#services.adopt(this.health);
    compileIpv6CheckNatively(); // before the first listen(port, host): ipv6-check.ts
    if (c.healthPort !== 0) await this.health.listen(c.healthPort, c.healthHost);
    await this.#services.adopt(this.metrics);
    // prom-client and Node's default metrics load after the routes (metrics-lazy.ts), or at the first scrape.
    void this.#gates.deferred.then(() => this.metrics.load().then((m) => m.startDefaultMetrics()));
    if (c.metricsPort !== 0)
      await this.metrics.listen(c.metricsPort, c.healthHost, log.child({ component: 'metrics' }));

    // The datastore and the kernel adapters (iptables mode detection, the `ip -batch` co-process)
    // come up in parallel: both are mostly waiting on other processes and files. The kernel is only
    // read here (our BGP routes from a previous run: a graceful restart); nothing is written to it
    // before the datastore is in sync.
    const storeP = connectDatastore(
      () =>
        openDatastore(datastoreSpec(c), {
          log,
          ...(c.kubeconfig !== undefined ? { kubeconfig: c.kubeconfig } : {}),
          // The file store's lock-probe thread (≈ 90 ms of CPU to start a worker) waits for this
          // node's first routes, like the CNI co-processes; 6 s at the latest (never in sync).
          lockGuardDelayMs: LOCK_GUARD_LATEST_MS,
          lockGuardStart: this.#gates.deferred,
        }),
      { log: log.child({ component: 'datastore' }), policy: c.datastoreRetry, signal: this.#abort.signal },
    ).then((s) => {
      this.#step('datastore open');
      return s;
    });
    const kernelP = this.#openKernel(log);
    const [storeR, kernelR] = await Promise.allSettled([storeP, kernelP]);
    if (storeR.status === 'rejected' || kernelR.status === 'rejected') {
      if (storeR.status === 'fulfilled') await storeR.value.close();
      if (kernelR.status === 'fulfilled') await kernelR.value.close?.();
      throw storeR.status === 'rejected' ? storeR.reason : (kernelR as PromiseRejectedResult).reason;
    }
    const store = storeR.value;
    this.#kernel = kernelR.value;
    const families = [...('none' in c.ip ? [] : [4 as const]), ...('none' in c.ip6 ? [] : [6 as const])];
    const dataplane = new Dataplane(this.#kernel, log.child({ component: 'dataplane' }), {
      families,
      routesFirst: true,
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
        upserted: (kind, obj) => this.#changed(kind, obj, false, () => graph.upserted(kind, obj)),
        removed: (kind, key, last) => this.#changed(kind, last, true, () => graph.removed(kind, key, last)),
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
      warmAfter: this.#gates.deferred,
    });
    const cni = this.#cni;
    await cni.start();
    this.#step('CNI server started');
    const statusLog = log.child({ component: 'status-socket' });
    const handler = agentControlHandler({
      peers: () => this.#bgp?.peers() ?? [],
      rib: (q) => this.#bgp?.speaker?.queryRib(q),
    });
    const status = new StatusSocket(
      () => startControlServer(`${c.runDir}/bgp.sock`, handler, statusLog),
      statusLog,
      (ok) => this.health.setReady('status-socket', ok),
    );
    this.#status = status; // started with the rest of the dataplane, once the routes are in (startup-gates.ts)
    await this.#services.adopt({ name: 'status-socket', stop: () => status.stop() });
    await cache.start();
    await this.#services.adopt({ name: 'cache', stop: () => cache.stop() });
    await this.#services.adopt({ name: 'cni', stop: () => cni.stop() });
    log.info(
      { node: c.nodeName, datastore: datastoreSpec(c), bgp: c.bgp },
      'started; waiting for the datastore to be in sync',
    );
  }

  /**
   * Kernel adapters with counted iptables calls, and (BGP on) the BGP routes the kernel holds from a
   * previous run, read once here: their presence makes this start a graceful restart.
   */
  async #openKernel(log: Logger): Promise<KernelAdapters> {
    const runner = createCommandRunner(log.child({ component: 'exec' }));
    // iptables detection on first use: the dataplane programs routes first (startup-gates.ts).
    const kernel = await createKernelAdapters(runner, log, { iptablesDetection: 'on-first-use' });
    const counted: KernelAdapters = {
      ...kernel,
      iptables: {
        4: countingIptables(kernel.iptables[4], this.metrics),
        6: countingIptables(kernel.iptables[6], this.metrics),
      },
    };
    this.#step('kernel adapters ready');
    if (this.config.bgp) {
      // Every owned route, kept for the dataplane's same read before in-sync: one `ip` process, not two.
      const routes = await counted.routes.list({ shareWithNext: true });
      this.#previousBgpRoutes = routes.filter((r) => r.proto === OWNERSHIP.routeProtocol.bgp).length;
      this.#step('kernel BGP routes read');
    }
    return counted;
  }

  #changed(kind: KindId, obj: { readonly kind: string }, removed: boolean, feed: () => void): void {
    this.#changeSeenAt ??= Date.now();
    if (CALC.has(kind)) feed();
    // Another node's block claim or pod address leaves this node's plan as it was: not re-made.
    const concerns = (this.#scope ??= new AdvertisementScope(this.config.nodeName)).concerns(obj, removed);
    if (concerns && BGP_INPUT_KINDS.has(kind) && this.#cache?.isInSync) this.#replanBgp();
  }

  #onApply(ms: number, errors: number): void {
    this.metrics.record((m) => m.applyTime.observe(ms / 1000));
    if (errors > 0) this.metrics.record((m) => m.applyFailures.inc());
    if (errors === 0 && this.#changeSeenAt !== undefined && this.#dataplane?.isProgrammed) {
      const delay = (Date.now() - this.#changeSeenAt) / 1000;
      this.metrics.record((m) => m.policyDelay.observe(delay));
      this.#changeSeenAt = undefined;
    }
    if (!this.#firstProgrammed && this.#inSyncAt !== undefined && this.#dataplane?.isProgrammed) {
      this.#firstProgrammed = true;
      const s = (Date.now() - this.#inSyncAt) / 1000;
      this.metrics.record((m) => m.firstProgramming.set(s));
      this.#log.info({ seconds: s }, 'dataplane programmed after in-sync');
      this.#step('dataplane programmed');
    }
    const bgp = this.#bgp;
    const learned = bgp?.allPeersEstablished() === true && (this.#learnedAny || bgp.peers().length === 0);
    this.#gates.applied({
      routesProgrammed: this.#dataplane?.routesProgrammed === true,
      programmed: this.#firstProgrammed,
      routesLearned: !this.config.bgp || learned,
    });
  }

  async #onInSync(store: Datastore, log: Logger): Promise<void> {
    const c = this.config;
    this.#inSyncAt = Date.now();
    this.#gates.inSync();
    this.#step('datastore in sync');
    this.health.setReady('datastore', true);
    log.info(
      {
        kinds: this.#cache!.status()
          .map((k) => `${k.kind}=${k.objects}`)
          .join(' '),
      },
      'datastore in sync',
    );
    // The node's addresses first (BGP needs them), then BGP at once: the speaker listens and connects
    // (its first plan applied) before the first full programming (≈ 60 ms of CPU: on a cold start the
    // peers wait for us) and before the node record and default pools are written; the plan uses the
    // address about to be recorded. A new node's record follows the speaker's start.
    const retrying = async (what: string, fn: () => Promise<void>, failed?: () => void): Promise<void> => {
      for (let attempt = 1; !this.#abort.signal.aborted; attempt++) {
        try {
          await fn();
          return;
        } catch (err) {
          failed?.();
          const delay = Math.min(30_000, 250 * 2 ** Math.min(attempt, 7));
          log.warn({ err, retryInMs: delay }, `${what} failed; retrying`);
          await new Promise((r) => setTimeout(r, delay));
        }
      }
    };
    const programAll = () => this.#graph!.inSync(); // idempotent; at once if the addresses are retried
    await retrying("resolving the node's addresses", () => this.#resolveIps(store), programAll);
    this.#step('node addresses resolved');
    if (c.bgp && !this.#abort.signal.aborted) await this.#startBgp();
    programAll();
    await retrying('recording the node or default pools', () => this.#register(store));
    if (!this.#abort.signal.aborted) {
      this.#step('node registered');
      this.#ownBgpRecorded = true;
      this.health.setReady('node-registered', true);
      if (this.#ipam && this.#gcTimer === undefined)
        this.#gcTimer = startIpamGc(this.#ipam, log.child({ component: 'ipam-gc' }), this.#abort.signal);
    }
  }

  async #resolveIps(store: Datastore): Promise<void> {
    const c = this.config;
    const internalIp = async (): Promise<string | undefined> => {
      const n = (await store.get('Node', c.nodeName)) as Node | undefined;
      return n?.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
    };
    const v4 = await resolveNodeIp(c.ip, 4, { internalIp });
    const v6 = await resolveNodeIp(c.ip6, 6, { internalIp });
    this.#ips = { v4, v6 };
    this.#ownBgp = {
      ipv4Cidr: v4 && `${v4.address}/${v4.prefixLength}`,
      ipv6Cidr: v6 && `${v6.address}/${v6.prefixLength}`,
      asNumber: c.asNumber,
    };
  }

  async #register(store: Datastore): Promise<void> {
    const c = this.config;
    await recordNodeBgp(store, {
      nodeName: c.nodeName,
      mode: c.datastore.type,
      own: this.#ownBgp!,
      log: this.#log.child({ component: 'node' }),
    });
    await ensureDefaultPools(store, c.defaultPools, this.#log.child({ component: 'pools' }));
  }

  async #startBgp(): Promise<void> {
    const graph = this.#graph!;
    const restarting = this.#previousBgpRoutes > 0;
    const bgp = new BgpHost({
      log: this.#log.child({ component: 'bgp' }),
      restarting,
      onSpeakerStarted: () => this.#step('BGP speaker started'),
      sink: {
        learned: (routes) => {
          if (!this.#learnedAny) {
            this.#learnedAny = true;
            this.#step('first BGP route learned');
          }
          graph.learnedRoutesChanged(routes);
        },
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
    if (restarting)
      this.#log.info(
        { routes: this.#previousBgpRoutes },
        'kernel holds BGP routes from a previous run: graceful restart',
      );
    this.#replanBgp();
    await bgp.settled();
  }

  #replanBgp(): void {
    const cache = this.#cache;
    if (!this.#bgp || !cache) return;
    const c = this.config;
    this.#bgp.update(() => ({
      nodeName: c.nodeName,
      nodes: this.#plannedNodes(cache),
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

  /**
   * Every Node's BGP identity for the planner. Until this agent's own record is written (just after
   * BGP starts) and seen back in the cache, its node is taken as it will be recorded, so sessions
   * need not wait for that write; afterwards the datastore says (an operator's later edit is
   * followed, as before).
   */
  #plannedNodes(cache: ResourceCache): Map<string, NodeBgp> {
    const c = this.config;
    const nodes = new Map(
      cache
        .list('Node')
        .map((n) => nodeBgp(n as Node))
        .map((b): [string, NodeBgp] => [b.name, b]),
    );
    if (!this.#ownBgpSeen && this.#ownBgp !== undefined) {
      const cur =
        (cache.get('Node', c.nodeName) as Node | undefined) ??
        ({ apiVersion: 'v1', kind: 'Node', metadata: { name: c.nodeName }, spec: {} } as unknown as Node);
      const next = withOwnBgp(cur, this.#ownBgp, c.datastore.type);
      if (next !== undefined) nodes.set(c.nodeName, nodeBgp(next));
      else if (this.#ownBgpRecorded) this.#ownBgpSeen = true; // the cache has our record: it says from now on
    }
    return nodes;
  }

  /** SIGTERM: components stop in reverse order; the dataplane stays as it is in the kernel. */
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
