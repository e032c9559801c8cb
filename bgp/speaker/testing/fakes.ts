/**
 * Fakes of the speaker's ports (a Session, the listener, the RIB) that record what the speaker did.
 * For unit tests only: no sockets, no timers of their own.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../../../src/log.js';
import { FAMILY } from '../../codec/constants.js';
import type { OutNotification } from '../../fsm/types.js';
import type { OriginateAttrs, RibApi, RibSlicedRemoval } from '../../rib/api.js';
import type {
  BestPathChange,
  Family,
  IngestResult,
  PeerRibCounts,
  RibNegotiated,
  RibPeerConfig,
  RibQuery,
  RibRoute,
  RibUpdate,
} from '../../rib/types.js';
import type { Negotiated, PeerStatus, SessionConfigInput, SessionState } from '../../session/types.js';
import type { ListenerFactory, ListenerPort, SessionFactory, SessionPort } from '../ports.js';
import { prefixTextContains } from '../../../src/net/index.js';

export class FakeSession extends EventEmitter implements SessionPort {
  readonly calls: (string | OutNotification | undefined)[][] = [];
  readonly sent: Buffer[] = [];
  state: SessionState = 'Idle';
  writable = true;
  local = '10.0.0.1';
  /** What the session reports as its last error (the real one records connect and OPEN failures). */
  lastErrorText: string | undefined;
  constructor(readonly input: SessionConfigInput) {
    super();
  }
  start(): void {
    this.calls.push(['start']);
    this.state = 'Active';
  }
  stop(n?: OutNotification): void {
    this.calls.push(['stop', n]);
    const was = this.state;
    this.state = 'Idle';
    if (was === 'Established') this.emit('down', { reason: 'admin-stop', sent: n, error: false });
  }
  send(messages: Buffer[]): boolean {
    this.sent.push(...messages);
    return this.writable;
  }
  sendRouteRefresh(afi: number, safi: number, subtype = 0): boolean {
    this.calls.push(['refresh', `${afi}/${safi}/${subtype}`]);
    return this.state === 'Established';
  }
  status(): PeerStatus {
    return {
      peerAddress: this.input.peerAddress,
      state: this.state,
      stateSince: 1000,
      messagesIn: 0,
      messagesOut: 0,
      updatesIn: 0,
      updatesOut: 0,
      keepalivesIn: 0,
      keepalivesOut: 0,
      notificationsIn: 0,
      notificationsOut: 0,
      flaps: 0,
      failures: 0,
      backlogBytes: 0,
      lastError: this.lastErrorText,
    };
  }
  localAddress(): string | undefined {
    return this.local;
  }
  destroy(): void {
    this.calls.push(['destroy']);
  }
  /** Drive it Established with these negotiated facts. */
  establish(n: Partial<Negotiated> = {}): void {
    this.state = 'Established';
    this.emit('established', negotiated(n));
  }
}

export function negotiated(n: Partial<Negotiated> = {}): Negotiated {
  return {
    holdTimeSeconds: 90,
    keepaliveSeconds: 30,
    peerAs: 65002,
    localAs: 65001,
    isIbgp: false,
    peerRouterId: 0x0a000002,
    peerRouterIdText: '10.0.0.2',
    fourOctetAs: true,
    families: new Set([FAMILY.IPV4_UNICAST]),
    addPathReceive: new Set(),
    addPathSend: new Set(),
    extendedMessages: false,
    routeRefresh: true,
    enhancedRouteRefresh: false,
    localGracefulRestart: true,
    peerOpen: {
      type: 'open',
      version: 4,
      myAs: 65002,
      asn: 65002,
      holdTime: 90,
      bgpId: 0x0a000002,
      capabilities: [],
      extendedParams: false,
    },
    ...n,
  };
}

export class FakeSessions implements SessionFactory {
  readonly created: FakeSession[] = [];
  create(input: SessionConfigInput, _log: Logger): FakeSession {
    const s = new FakeSession(input);
    this.created.push(s);
    return s;
  }
  last(address: string): FakeSession {
    const s = this.created.filter((x) => x.input.peerAddress === address).at(-1);
    if (!s) throw new Error(`no session for ${address}`);
    return s;
  }
}

export class FakeListener implements ListenerFactory, ListenerPort {
  readonly registered = new Map<string, SessionPort>();
  readonly ranges: { prefix: string; accept: (address: string) => SessionPort | undefined }[] = [];
  closed = false;
  async listen(): Promise<ListenerPort> {
    return this;
  }
  register(session: SessionPort): void {
    this.registered.set((session as FakeSession).input.peerAddress, session);
  }
  unregister(session: SessionPort): void {
    const addr = (session as FakeSession).input.peerAddress;
    if (this.registered.get(addr) === session) this.registered.delete(addr); // like BgpListener.removePeer
  }
  addRange(range: { prefix: string }, accept: (address: string) => SessionPort | undefined): void {
    this.ranges.push({ prefix: range.prefix, accept });
  }
  /** What the real listener does for an unknown address: the first range containing it decides. */
  offer(address: string): SessionPort | undefined {
    const r = this.ranges.find((x) => prefixTextContains(x.prefix, address));
    return r?.accept(address);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

/**
 * Records every call; outbound and best-path queues are filled by the test. Sliced removal: each
 * start* call queues `sliceSteps` steps of pending work, `peerDownStep` runs one (recorded with its budget).
 */
export class FakeRib implements RibApi, RibSlicedRemoval {
  sliceSteps = 1;
  #pendingSteps = 0;
  readonly calls: unknown[][] = [];
  readonly outbound = new Map<string, Buffer[]>();
  bestChanges: BestPathChange[] = [];
  nextIngest: Partial<IngestResult> = {};
  counts: PeerRibCounts = { received: 0, accepted: 0, advertised: 0 };
  #c(...a: unknown[]): void {
    this.calls.push(a);
  }
  named(name: string): unknown[][] {
    return this.calls.filter((c) => c[0] === name);
  }
  addPeer(c: RibPeerConfig): void {
    this.#c('addPeer', c);
  }
  removePeer(id: string): void {
    this.#c('removePeer', id);
  }
  updatePeer(c: RibPeerConfig): void {
    this.#c('updatePeer', c);
  }
  setClusterId(id: string): void {
    this.#c('setClusterId', id);
  }
  peerUp(id: string, n: RibNegotiated): void {
    this.#c('peerUp', id, n);
  }
  peerDown(id: string, o?: { gracefulRestart?: boolean }): void {
    this.#c('peerDown', id, o);
  }
  sweepStale(id: string, f?: Family): void {
    this.#c('sweepStale', id, f);
  }
  startPeerDown(id: string, o?: { readonly gracefulRestart?: boolean }): void {
    this.#c('startPeerDown', id, o);
    this.#pendingSteps += this.sliceSteps;
  }
  startSweepStale(id: string, f?: Family): void {
    this.#c('startSweepStale', id, f);
    this.#pendingSteps += this.sliceSteps;
  }
  startRemovePeer(id: string): void {
    this.#c('startRemovePeer', id);
    this.#pendingSteps += this.sliceSteps;
  }
  peerDownStep(budget: number): boolean {
    this.#c('peerDownStep', budget);
    if (this.#pendingSteps > 0) this.#pendingSteps--;
    return this.#pendingSteps > 0;
  }
  get peerDownPending(): boolean {
    return this.#pendingSteps > 0;
  }
  beginRouteRefresh(id: string, f: Family): void {
    this.#c('beginRouteRefresh', id, f);
  }
  endRouteRefresh(id: string, f: Family): void {
    this.#c('endRouteRefresh', id, f);
  }
  ingestUpdate(id: string, u: RibUpdate): IngestResult {
    this.#c('ingestUpdate', id, u);
    const r = { announced: 0, withdrawn: 0, rejected: 0, ...this.nextIngest };
    this.nextIngest = {};
    return r;
  }
  refreshOutbound(id: string, f?: Family): void {
    this.#c('refreshOutbound', id, f);
  }
  originate(p: string, a?: OriginateAttrs): void {
    this.#c('originate', p, a);
  }
  withdrawOriginated(p: string): void {
    this.#c('withdrawOriginated', p);
  }
  takeOutbound(id: string, _max: number): Buffer[] {
    const q = this.outbound.get(id) ?? [];
    this.outbound.delete(id);
    return q;
  }
  hasOutbound(id: string): boolean {
    return (this.outbound.get(id)?.length ?? 0) > 0;
  }
  takeBestPathChanges(max: number): BestPathChange[] {
    return this.bestChanges.splice(0, max);
  }
  /** What queryRoutes answers (filtered by exact prefix). */
  routes: RibRoute[] = [];
  queryRoutes(q: RibQuery): RibRoute[] {
    this.#c('queryRoutes', q);
    return this.routes.filter((r) => q.prefix === undefined || r.prefix === q.prefix);
  }
  countRoutes(): { prefixes: number; paths: number } {
    return { prefixes: 0, paths: 0 };
  }
  peerCounts(): PeerRibCounts {
    return this.counts;
  }
  setImportPolicy(): void {
    this.#c('setImportPolicy');
  }
  setExportPolicy(): void {
    this.#c('setExportPolicy');
  }
}
