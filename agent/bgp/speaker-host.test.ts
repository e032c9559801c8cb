import { describe, expect, it } from 'vitest';
import type { BestPathChange, PeerStatusView, RibQuery, RibQueryResult, SpeakerConfig } from '../../bgp/index.js';
import { silentLogger } from '../../src/log.js';
import { validateResourceOf, type BGPConfiguration, type Node } from '../../src/model/index.js';
import { nodeBgp } from './node-bgp.js';
import type { PlannerInput } from './planner.js';
import { BgpHost, type LearnedRoute, type SpeakerLike } from './speaker-host.js';

class FakeSpeaker implements SpeakerLike {
  configs: SpeakerConfig[] = [];
  established = new Set<string>();
  learned = new Map<string, { prefix: string; nextHop: string }[]>();
  cb: ((c: readonly BestPathChange[]) => void) | undefined;
  #sync: ((why: string) => void) | undefined;
  constructor(c: SpeakerConfig) {
    this.configs.push(c);
  }
  async start(): Promise<void> {}
  async reconfigure(next: SpeakerConfig): Promise<unknown> {
    this.configs.push(next);
    return {};
  }
  peerStatus(): PeerStatusView[] {
    return this.configs
      .at(-1)!
      .peers.map(
        (p) =>
          ({ address: p.address, state: this.established.has(p.address) ? 'Established' : 'Active' }) as PeerStatusView,
      );
  }
  queryRib(q: RibQuery): RibQueryResult {
    const all = [...this.learned].flatMap(([from, rs]) => rs.map((r) => ({ ...r, from })));
    const routes = all.filter(
      (r) => (q.peer === undefined || r.from === q.peer) && (q.prefix === undefined || r.prefix === q.prefix),
    );
    return {
      matched: routes.length,
      prefixes: { ipv4: 0, ipv6: 0 },
      paths: { ipv4: 0, ipv6: 0 },
      routes: routes as never,
    };
  }
  onBestPathChange(cb: (c: readonly BestPathChange[]) => void): () => void {
    this.cb = cb;
    return () => undefined;
  }
  whenInitialSync(): Promise<string> {
    return new Promise((r) => (this.#sync = r));
  }
  sync(): void {
    this.#sync?.('every peer sent End-of-RIB');
  }
}

const API = 'margay.dev/v1';
const node = (name: string, ip: string, labels: Record<string, string> = {}) =>
  nodeBgp(
    validateResourceOf('Node', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels },
      spec: { bgp: { ipv4Address: `${ip}/24` } },
    }) as Node,
  );
const cfg = (spec: Record<string, unknown>): BGPConfiguration =>
  validateResourceOf('BGPConfiguration', {
    apiVersion: API,
    kind: 'BGPConfiguration',
    metadata: { name: 'default' },
    spec,
  });
const NODES = new Map(
  [node('a', '10.0.0.1'), node('b', '10.0.0.2'), node('rr', '10.0.0.9', { rr: 'y' })].map((n) => [n.name, n]),
);
const base: PlannerInput = {
  nodeName: 'a',
  nodes: NODES,
  configs: [],
  peers: [],
  pools: [],
  advertise: [],
  password: () => undefined,
};

async function tick(ms = 40): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

function host(
  now: { t: number },
  throttle: { coalesceMs?: number; burstPlans?: number; monotonic?: () => number } = {},
) {
  const learned: LearnedRoute[][] = [];
  let inSync = 0;
  let speaker: FakeSpeaker | undefined;
  const h = new BgpHost({
    log: silentLogger(),
    restarting: true,
    coalesceMs: 1,
    ...throttle,
    settleMs: 100,
    now: () => now.t,
    sink: { learned: (r) => learned.push([...r]), learnedInSync: () => inSync++ },
    createSpeaker: (c) => (speaker = new FakeSpeaker(c)),
  });
  return { h, learned, inSync: () => inSync, speaker: () => speaker! };
}

describe('BgpHost', () => {
  describe('planning: at once when idle, coalesced under a burst', () => {
    const withAdvert = (n: number): PlannerInput => ({ ...base, advertise: [`10.1.${n}.0/26`] });
    const advertised = (s: FakeSpeaker): string[] => s.configs.at(-1)!.originate.map((o) => o.prefix);

    it('leading edge: the first update plans at once, not after the window', async () => {
      const x = host({ t: 0 }, { coalesceMs: 5_000 });
      const t0 = performance.now();
      x.h.update(withAdvert(1));
      await tick(5);
      expect(x.h.plans).toBe(1);
      expect(advertised(x.speaker())).toEqual(['10.1.1.0/26']);
      expect(performance.now() - t0).toBeLessThan(1_000);
      // Idle again, well inside the window: a later single change is planned at once too.
      x.h.update(withAdvert(2));
      await tick(5);
      expect(x.h.plans).toBe(2);
      expect(advertised(x.speaker())).toEqual(['10.1.2.0/26']);
      await x.h.stop();
    });

    it('settled() resolves once the queued plan is applied: the speaker has started', async () => {
      let started = false;
      const h = new BgpHost({
        log: silentLogger(),
        restarting: false,
        now: () => 0,
        sink: { learned: () => undefined, learnedInSync: () => undefined },
        createSpeaker: (c) =>
          Object.assign(new FakeSpeaker(c), {
            start: async () => {
              await tick(20);
              started = true;
            },
          }),
      });
      h.update(withAdvert(1));
      expect(started).toBe(false);
      await h.settled();
      expect(started).toBe(true);
      expect(h.speaker).toBeDefined();
      await h.stop();
    });

    it('updates made in one synchronous run share one plan', async () => {
      const x = host({ t: 0 }, { coalesceMs: 5_000 });
      for (let i = 0; i < 100; i++) x.h.update(withAdvert(i));
      await tick(5);
      expect(x.h.plans).toBe(1);
      expect(advertised(x.speaker())).toEqual(['10.1.99.0/26']);
      await x.h.stop();
    });

    it('a burst beyond burstPlans within the window is coalesced into one trailing plan with the latest state', async () => {
      // The burst window's clock stands still, so every update is inside it however slow this machine is.
      const x = host({ t: 0 }, { coalesceMs: 300, burstPlans: 2, monotonic: () => 0 });
      for (let i = 0; i < 20; i++) {
        x.h.update(withAdvert(i));
        await tick(2);
      }
      // Two plans at once (leading edge), then everything else waits for the window's end.
      expect(x.h.plans).toBe(2);
      expect(advertised(x.speaker())).toEqual(['10.1.1.0/26']);
      await tick(600);
      expect(x.h.plans).toBe(3);
      expect(advertised(x.speaker())).toEqual(['10.1.19.0/26']);
      await x.h.stop();
    });
  });

  it('starts the speaker from the plan, passes learned (non-local) paths on and signals the initial sync', async () => {
    const now = { t: 0 };
    const x = host(now);
    x.h.update(base);
    await tick();
    expect(x.speaker().configs[0]!.peers.map((p) => p.address)).toEqual(['10.0.0.2', '10.0.0.9']);
    x.speaker().cb!([
      { prefix: '10.2.0.0/26', family: 'ipv4', nextHops: ['10.0.0.2'], local: false },
      { prefix: '10.1.0.0/26', family: 'ipv4', nextHops: [], local: true },
    ]);
    expect(x.learned).toEqual([[{ prefix: '10.2.0.0/26', family: 'ipv4', nextHops: ['10.0.0.2'] }]]);
    expect(x.inSync()).toBe(0);
    x.speaker().sync();
    await tick(1);
    expect(x.inSync()).toBe(1);
  });

  it('mesh → route reflector: old peers stay until the new session has the routes, then go', async () => {
    const now = { t: 0 };
    const x = host(now);
    x.h.update(base);
    await tick();
    const s = x.speaker();
    s.established = new Set(['10.0.0.2', '10.0.0.9']);
    s.learned.set('10.0.0.2', [{ prefix: '10.2.0.0/26', nextHop: '10.0.0.2' }]);
    const rrPeer = validateResourceOf('BGPPeer', {
      apiVersion: API,
      kind: 'BGPPeer',
      metadata: { name: 'to-rr' },
      spec: { peerSelector: 'has(rr)' },
    });
    x.h.update({ ...base, configs: [cfg({ nodeToNodeMeshEnabled: false })], peers: [rrPeer] });
    await tick();
    expect(s.configs.at(-1)!.peers.map((p) => p.address)).toEqual(['10.0.0.9', '10.0.0.2']); // 10.0.0.2 retiring
    expect(x.h.allPeersEstablished()).toBe(true);
    now.t = 1000;
    await tick(600);
    expect(s.configs.at(-1)!.peers.map((p) => p.address)).toEqual(['10.0.0.9', '10.0.0.2']); // not covered yet
    s.learned.set('10.0.0.9', [{ prefix: '10.2.0.0/26', nextHop: '10.0.0.2' }]); // reflected by the RR
    await tick(600);
    expect(s.configs.at(-1)!.peers.map((p) => p.address)).toEqual(['10.0.0.9']);
    await x.h.stop();
  });

  it('becoming a route reflector: clients change in place, the running cluster ID is kept (no restart of every session)', async () => {
    const now = { t: 0 };
    const x = host(now);
    x.h.update(base);
    await tick();
    const s = x.speaker();
    const rrNode = (id: string | undefined) =>
      nodeBgp(
        validateResourceOf('Node', {
          apiVersion: 'v1',
          kind: 'Node',
          metadata: { name: 'a' },
          spec: { bgp: { ipv4Address: '10.0.0.1/24', ...(id !== undefined && { routeReflectorClusterID: id }) } },
        }) as Node,
      );
    x.h.update({ ...base, nodes: new Map([...NODES, ['a', rrNode('224.0.0.1')]]) });
    await tick();
    const c = s.configs.at(-1)!;
    expect(c.routeReflector).toBeUndefined();
    expect(c.peers.map((p) => [p.address, p.routeReflectorClient])).toEqual([
      ['10.0.0.2', true],
      ['10.0.0.9', true],
    ]);
    // Another node joins cluster 224.0.0.1 and this one leaves it: kept until it is not safe. Here it
    // is safe (this speaker still runs with its router ID), so nothing global changes.
    const b2 = nodeBgp(
      validateResourceOf('Node', {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: 'b' },
        spec: { bgp: { ipv4Address: '10.0.0.2/24', routeReflectorClusterID: '224.0.0.1' } },
      }) as Node,
    );
    x.h.update({ ...base, nodes: new Map([...NODES, ['b', b2]]) });
    await tick();
    expect(s.configs.at(-1)!.routeReflector).toBeUndefined();
    await x.h.stop();
  });

  it('a speaker started as a reflector keeps its cluster ID when it leaves the role, unless others use that ID', async () => {
    const now = { t: 0 };
    const x = host(now);
    const withId = (name: string, ip: string, id: string | undefined) =>
      nodeBgp(
        validateResourceOf('Node', {
          apiVersion: 'v1',
          kind: 'Node',
          metadata: { name },
          spec: { bgp: { ipv4Address: `${ip}/24`, ...(id !== undefined && { routeReflectorClusterID: id }) } },
        }) as Node,
      );
    x.h.update({ ...base, nodes: new Map([...NODES, ['a', withId('a', '10.0.0.1', '224.0.0.1')]]) });
    await tick();
    const s = x.speaker();
    expect(s.configs.at(-1)!.routeReflector).toEqual({ clusterId: '224.0.0.1' });
    x.h.update(base);
    await tick();
    expect(s.configs.at(-1)!.routeReflector).toEqual({ clusterId: '224.0.0.1' });
    // node b is now a reflector of 224.0.0.1: its reflections to us carry that ID, so it is applied.
    x.h.update({ ...base, nodes: new Map([...NODES, ['b', withId('b', '10.0.0.2', '224.0.0.1')]]) });
    await tick();
    expect(s.configs.at(-1)!.routeReflector).toBeUndefined();
    await x.h.stop();
  });
});

describe('BgpHost: the route path (propagation)', () => {
  const withAdvert = (...n: number[]): PlannerInput => ({ ...base, advertise: n.map((i) => `10.1.${i}.0/26`) });

  it('an update that leaves the plan as it was does not reconfigure the speaker', async () => {
    const x = host({ t: 0 }, { coalesceMs: 1, burstPlans: 100 });
    x.h.update(withAdvert(1));
    await tick(5);
    expect(x.speaker().configs).toHaveLength(1); // the start
    // Another node's state changed (here: the same input again): planned, nothing applied.
    x.h.update({ ...withAdvert(1), nodes: new Map(NODES) });
    await tick(5);
    expect(x.h.plans).toBe(2);
    expect(x.speaker().configs).toHaveLength(1);
    // A real change is applied.
    x.h.update(withAdvert(1, 2));
    await tick(5);
    expect(
      x
        .speaker()
        .configs.at(-1)!
        .originate.map((o) => o.prefix),
    ).toEqual(['10.1.1.0/26', '10.1.2.0/26']);
    await x.h.stop();
  });

  it('a new block is originated under the running policies first; the new policies follow after the flush', async () => {
    const events: string[] = [];
    let speaker: FakeSpeaker | undefined;
    const h = new BgpHost({
      log: silentLogger(),
      restarting: false,
      coalesceMs: 1,
      burstPlans: 100,
      now: () => 0,
      sink: { learned: () => undefined, learnedInSync: () => undefined },
      createSpeaker: (c) => {
        speaker = new FakeSpeaker(c);
        const reconfigure = speaker.reconfigure.bind(speaker);
        speaker.reconfigure = async (next) => {
          events.push(
            `reconfigure ${next.originate.length} originated, policies ${JSON.stringify(next.policies).length}`,
          );
          setImmediate(() => events.push('flush')); // as the speaker's flush: the next check phase
          return reconfigure(next);
        };
        return speaker;
      },
    });
    h.update(withAdvert(1));
    await tick(5);
    const oldPolicies = JSON.stringify(speaker!.configs[0]!.policies);
    h.update(withAdvert(1, 2));
    await tick(5);
    const [early, final] = speaker!.configs.slice(1);
    expect(early!.originate.map((o) => o.prefix)).toEqual(['10.1.1.0/26', '10.1.2.0/26']);
    expect(JSON.stringify(early!.policies)).toBe(oldPolicies);
    expect(JSON.stringify(final!.policies)).not.toBe(oldPolicies);
    expect(final!.originate).toEqual(early!.originate);
    // The early config's flush ran before the final reconfigure.
    expect(events.slice(0, 3)).toEqual([
      `reconfigure 2 originated, policies ${oldPolicies.length}`,
      'flush',
      `reconfigure 2 originated, policies ${JSON.stringify(final!.policies).length}`,
    ]);
    await h.stop();
  });
});
