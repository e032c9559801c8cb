/**
 * BgpHost: the agent's BGP component. It turns cluster state into the embedded speaker's config
 * (planner.ts), applies changes make-before-break (transition.ts), and passes learned best paths to
 * the agent's route reconciler through a sink; the speaker itself never writes the kernel here.
 *
 *   update(PlannerInput) ──throttled──▶ planBgp ─▶ stepTransition ─▶ speaker.start / reconfigure
 *   speaker best-path changes ────────▶ sink.learned()
 *   speaker initial sync (End-of-RIB) ─▶ sink.learnedInSync()   (stale remote routes may go now)
 *
 * Restart without disruption: when the kernel still holds BGP routes from a previous run, the
 * speaker starts "restarting" (GR R bit and F bit in its OPENs, advertising deferred until peers'
 * End-of-RIB); the route reconciler keeps those routes until learnedInSync. stop()
 * abandons the sessions without a NOTIFICATION (a Cease would make peers flush our routes; with the
 * N bit the speaker would send a Hard Reset): the process exit closes the TCP connections, peers
 * keep forwarding as graceful-restart helpers until we are back.
 *
 * Planning is throttled, not delayed (a new block reaches the peers as soon as the datastore says so):
 * an update when the host is idle plans at once (leading edge, in the next microtask, so updates made
 * in the same synchronous run still share it); updates that arrive while a plan runs share one plan
 * right after it. Only a burst — `burstPlans` plans started within `coalesceMs` — makes later updates
 * wait for that window to end, and every update meanwhile is covered by that one trailing plan.
 */
import type { SpeakerConfig } from '../../bgp/index.js';
import {
  parseOriginate,
  validateBgpdConfig,
  type BestPathChange,
  type PeerStatusView,
  type RibQuery,
  type RibQueryResult,
} from '../../bgp/index.js';
import type { Logger } from '../../src/log.js';
import { Backoff } from '../../src/runtime/index.js';
import { chooseClusterId } from './cluster-id.js';
import { planBgp, plannedOriginate, type PlannedOrigination, type PlannedPeer, type PlannerInput } from './planner.js';
import { stepTransition, type PeerFacts, type RetiringPeer } from './transition.js';

/** What the host needs of the speaker (BgpSpeaker implements it). */
export interface SpeakerLike {
  start(): Promise<void>;
  reconfigure(next: SpeakerConfig): Promise<unknown>;
  peerStatus(): PeerStatusView[];
  queryRib(q: RibQuery): RibQueryResult;
  onBestPathChange(cb: (changes: readonly BestPathChange[]) => void): () => void;
  whenInitialSync(): Promise<string>;
}

export interface LearnedRoute {
  readonly prefix: string;
  readonly family: 'ipv4' | 'ipv6';
  /** Empty: withdrawn. */
  readonly nextHops: readonly string[];
}

export interface LearnedRouteSink {
  learned(routes: readonly LearnedRoute[]): void;
  /** Every peer sent End-of-RIB (or the restart time passed): learned routes are complete. */
  learnedInSync(): void;
}

export interface BgpHostDeps {
  readonly log: Logger;
  readonly createSpeaker: (config: SpeakerConfig, opts: { readonly restarting: boolean }) => SpeakerLike;
  readonly sink: LearnedRouteSink;
  /** The kernel held our BGP routes at start: a graceful restart (GR R and F bits). */
  readonly restarting: boolean;
  readonly settleMs?: number;
  readonly maxRetireMs?: number;
  /** The burst window (default 20 ms): see burstPlans. */
  readonly coalesceMs?: number;
  /** Plans that may start within coalesceMs before updates are coalesced to the window's end (default 3). */
  readonly burstPlans?: number;
  readonly now?: () => number;
  /** Monotonic milliseconds for the burst window (default performance.now). */
  readonly monotonic?: () => number;
  /** Called once the speaker runs (its listener and first connections are up). */
  readonly onSpeakerStarted?: () => void;
}

export class BgpHost {
  readonly #log: Logger;
  #speaker: SpeakerLike | undefined;
  #input: (() => PlannerInput) | undefined;
  #applied: readonly PlannedPeer[] = [];
  #retiring: ReadonlyMap<string, RetiringPeer> = new Map();
  #timer: NodeJS.Timeout | undefined;
  /** A plan is queued (chained, or waiting on #timer) that has not read its input yet. */
  #queued = false;
  /** Start times (monotonic ms) of the plans within the current burst window. */
  #recentStarts: number[] = [];
  /** Plans made so far (tests and debug logs). */
  #plans = 0;
  #retireTimer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();
  #stopped = false;
  #problems = '';
  /** The route-reflector cluster ID the running speaker was given (cluster-id.ts). */
  #clusterId: string | undefined;
  #deferredClusterId: string | undefined;
  /** The speaker config last applied (and its JSON before validation): an unchanged plan is skipped. */
  #appliedConfig: SpeakerConfig | undefined;
  #appliedKey: string | undefined;
  /** The planner's originations the speaker runs (JSON): a change is sent before the rest is planned. */
  #appliedOriginate: string | undefined;
  /** Failed applies (e.g. the listen address is not on this host yet) retry with capped back-off, not at line rate. */
  readonly #failures = new Backoff({ initial: 250, max: 30_000, factor: 2, jitter: [0.8, 1] });

  constructor(private readonly deps: BgpHostDeps) {
    this.#log = deps.log;
  }

  /**
   * New cluster state; planned at once when idle, coalesced under a burst (see the file comment). A
   * function is called only when the plan is made, so a burst of datastore changes costs one read
   * of the state.
   */
  update(input: PlannerInput | (() => PlannerInput)): void {
    this.#input = typeof input === 'function' ? input : () => input;
    if (this.#stopped || this.#queued) return;
    this.#queued = true;
    const wait = this.#burstWait();
    if (wait <= 0) {
      this.#enqueue();
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#enqueue();
    }, wait);
  }

  /** 0 when a plan may start now; else how long until the burst window lets one. */
  #burstWait(): number {
    const windowMs = this.deps.coalesceMs ?? 20;
    const burst = this.deps.burstPlans ?? 3;
    const now = this.#monotonic();
    this.#recentStarts = this.#recentStarts.filter((t) => now - t < windowMs);
    if (this.#recentStarts.length < burst) return 0;
    return Math.max(1, this.#recentStarts[0]! + windowMs - now);
  }

  #monotonic(): number {
    return this.deps.monotonic?.() ?? performance.now();
  }

  /**
   * Resolves once every plan queued so far has been applied (or failed and been scheduled for a
   * retry): the agent waits for the first one, so the speaker listens and connects before the agent
   * goes on with slower start-up work that shares the event loop.
   */
  async settled(): Promise<void> {
    await this.#running;
  }

  /** How many plans were made (each reads the input once). */
  get plans(): number {
    return this.#plans;
  }

  #enqueue(): void {
    this.#running = this.#running
      .then(async () => {
        await this.#apply();
        this.#failures.reset();
      })
      .catch((err: unknown) => {
        const delay = this.#failures.next();
        this.#log.error(
          { err, attempt: this.#failures.attempt, retryInMs: delay },
          'applying BGP configuration failed; retrying',
        );
        if (this.#stopped || this.#queued) return;
        this.#queued = true;
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.#enqueue();
        }, delay);
      });
  }

  async #apply(): Promise<void> {
    this.#queued = false;
    if (this.#stopped || !this.#input) return;
    this.#recentStarts.push(this.#monotonic());
    this.#plans++;
    const input = this.#input();
    if (this.#speaker) await this.#originateFirst(plannedOriginate(input));
    const plan = planBgp(input);
    const problems = plan.problems.join('; ');
    if (problems !== this.#problems) {
      this.#problems = problems;
      for (const p of plan.problems) this.#log.warn({ problem: p }, 'BGP configuration problem');
    }
    if (!plan.config) return;
    const step = stepTransition({
      desired: plan.config.peers,
      current: this.#applied,
      retiring: this.#retiring,
      facts: (a) => this.#facts(a),
      nowMs: this.#now(),
      settleMs: this.deps.settleMs ?? 2000,
      maxWaitMs: this.deps.maxRetireMs ?? 60_000,
    });
    for (const d of step.dropped) this.#log.info(d, 'peer retired (make-before-break)');
    for (const a of step.retiring.keys())
      if (!this.#retiring.has(a))
        this.#log.info({ peer: a }, 'peer retiring: kept until its routes are learned elsewhere');
    const wanted = plan.config.routeReflector?.clusterId;
    const cid = this.#speaker
      ? chooseClusterId({
          running: this.#clusterId,
          wanted,
          routerId: plan.config.routerId,
          others: [...input.nodes.values()].filter((n) => n.name !== input.nodeName).map((n) => n.rrClusterId),
        })
      : { clusterId: wanted, deferred: false };
    const deferredNote = cid.deferred ? `${wanted ?? 'none'}` : undefined;
    if (deferredNote !== undefined && deferredNote !== this.#deferredClusterId)
      this.#log.info(
        { running: cid.clusterId ?? `router ID ${plan.config.routerId}`, wanted: wanted ?? 'none' },
        'route-reflector cluster ID changed: reflector roles change now without a session reset; the running speaker keeps its cluster ID until the next start',
      );
    this.#deferredClusterId = deferredNote;
    const { routeReflector: _rr, ...rest } = plan.config;
    const wantedConfig = {
      ...rest,
      peers: step.peers,
      ...(cid.clusterId !== undefined && { routeReflector: { clusterId: cid.clusterId } }),
    };
    // Most datastore changes (another node's block, a pod) leave this node's plan as it was: then
    // neither validation (~1 ms) nor the speaker's reconfigure runs, so a change that matters (an
    // UPDATE already in the socket) is not queued behind one that does not.
    const key = JSON.stringify(wantedConfig);
    if (this.#speaker && key === this.#appliedKey) {
      this.#retiring = step.retiring;
      this.#applied = step.peers;
      this.#scheduleRetire(step.retiring.size);
      return;
    }
    const config = validateBgpdConfig(wantedConfig, 'planned BGP configuration');
    this.#retiring = step.retiring;
    if (!this.#speaker) {
      const restarting = this.deps.restarting;
      const s = this.deps.createSpeaker(config, { restarting });
      s.onBestPathChange((changes) => this.#onBest(changes));
      await s.start();
      this.#speaker = s;
      this.#log.info(
        { asn: config.asn, routerId: config.routerId, peers: config.peers.length, restarting },
        'BGP speaker started',
      );
      this.deps.onSpeakerStarted?.();
      void s.whenInitialSync().then((why) => {
        if (this.#stopped) return;
        this.#log.info({ why }, 'BGP initial sync done: learned routes complete');
        this.deps.sink.learnedInSync();
      });
    } else {
      const r = (await this.#speaker.reconfigure(config)) as Partial<
        Record<'added' | 'removed' | 'reset' | 'updated', number>
      >;
      const changed = (r.added ?? 0) + (r.removed ?? 0) + (r.reset ?? 0) + (r.updated ?? 0) > 0;
      if (changed || this.#log.isLevelEnabled('debug')) {
        this.#log[changed ? 'info' : 'debug'](
          { summary: r, peers: config.peers.length, originate: config.originate.length },
          'BGP configuration applied',
        );
      }
    }
    this.#applied = step.peers;
    this.#clusterId = config.routeReflector?.clusterId;
    this.#appliedKey = key;
    this.#appliedConfig = config;
    this.#appliedOriginate = JSON.stringify(wantedConfig.originate);
    this.#scheduleRetire(step.retiring.size);
  }

  #scheduleRetire(retiring: number): void {
    if (this.#retireTimer) clearTimeout(this.#retireTimer);
    if (retiring > 0 && !this.#stopped) {
      this.#retireTimer = setTimeout(() => this.#enqueue(), 500);
    }
  }

  /**
   * A new block changes what this node originates *and* its export policies (Calico's
   * calico_export_to_bgp_peers names each own block), and a policy change makes the speaker re-run
   * export for every peer: several ms of CPU before anything is sent. So a change of the originations
   * goes first, before the rest is even planned (plannedOriginate: no peers, no policies), under the
   * policies already running (a new block lies in an enabled pool, which those accept towards cluster
   * nodes); the speaker sends its UPDATE within that reconfigure. One macrotask later the whole plan
   * (policies, the ToR's export) is made, validated and follows. Only the originations are validated
   * for the first step.
   */
  async #originateFirst(originate: readonly PlannedOrigination[] | undefined): Promise<void> {
    const prev = this.#appliedConfig;
    if (!prev || !this.#speaker || originate === undefined) return;
    const key = JSON.stringify(originate);
    if (key === this.#appliedOriginate) return;
    const parsed = parseOriginate(originate);
    if (!parsed.success) return; // the whole plan's validation reports it
    await this.#speaker.reconfigure({ ...prev, originate: parsed.data });
    this.#appliedOriginate = key;
    await new Promise<void>((r) => setImmediate(r));
  }

  #facts(address: string): PeerFacts {
    const st = this.#speaker?.peerStatus().find((p) => p.address === address);
    const established = st?.state === 'Established';
    if (!established || !this.#speaker) return { established, covered: false };
    const speaker = this.#speaker;
    const retiring = new Set([...this.#retiring.keys(), address]);
    // Read from the RIB only when asked (a getter): most questions are only "established?".
    return {
      established,
      get covered() {
        return speaker
          .queryRib({ peer: address, limit: 1_000_000 })
          .routes.every((r) =>
            speaker
              .queryRib({ prefix: r.prefix, limit: 1000 })
              .routes.some((o) => !retiring.has(o.from) && o.from !== 'local' && o.nextHop === r.nextHop),
          );
      },
    };
  }

  #onBest(changes: readonly BestPathChange[]): void {
    const out: LearnedRoute[] = [];
    for (const c of changes) {
      if (c.local) continue;
      out.push({ prefix: c.prefix, family: c.family, nextHops: c.nextHops });
    }
    if (out.length > 0) this.deps.sink.learned(out);
  }

  #now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  /** Configured peers (not those retiring) and whether each is Established. */
  peers(): PeerStatusView[] {
    return this.#speaker?.peerStatus() ?? [];
  }

  /** Ready when every configured peer is Established (true with none configured). */
  allPeersEstablished(): boolean {
    const want = this.#applied.filter((p) => !this.#retiring.has(p.address)).map((p) => p.address);
    const up = new Set(
      this.peers()
        .filter((p) => p.state === 'Established')
        .map((p) => p.address),
    );
    return want.every((a) => up.has(a));
  }

  get speaker(): SpeakerLike | undefined {
    return this.#speaker;
  }

  /** Stops planning; sessions are abandoned without a NOTIFICATION (see the design comment). */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#retireTimer) clearTimeout(this.#retireTimer);
    await this.#running;
    this.#log.info('BGP stopped: sessions left for the process exit to close (peers keep our routes)');
  }
}
