import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FAMILY } from '../codec/constants.js';
import { FakeRouteTable } from '../../src/kernel/testing/fake-route-table.js';
import { parseBgpdConfig } from '../config-file.js';
import { FibSync } from '../fib/index.js';
import { YAML, setup, update } from './testing/speaker-setup.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('BgpSpeaker', () => {
  it('starts a session per peer, registers them with the listener and originates configured prefixes', async () => {
    const { sessions, listener, rib } = await setup();
    expect(sessions.created.map((s) => s.input.peerAddress)).toEqual(['10.0.0.2', '10.0.0.3']);
    expect(sessions.created.every((s) => s.calls[0]?.[0] === 'start')).toBe(true);
    expect([...listener.registered.keys()]).toEqual(['10.0.0.2', '10.0.0.3']);
    expect(rib.named('originate')).toEqual([['originate', '10.244.1.0/26', { communities: ['65001:1'] }]]);
  });

  it('on Established registers the peer with its real AS and local address, then sends the RIB outbound', async () => {
    const { sessions, rib } = await setup();
    const s = sessions.last('10.0.0.2');
    rib.outbound.set('10.0.0.2', [Buffer.from('u1'), Buffer.from('u2')]);
    s.local = '10.0.0.1';
    s.establish({ families: new Set([FAMILY.IPV4_UNICAST, FAMILY.IPV6_UNICAST]) });
    expect(rib.named('addPeer')[0]![1]).toMatchObject({
      id: '10.0.0.2',
      peerAs: 65002,
      localAddress: '10.0.0.1',
      maxPrefixes: 10,
    });
    expect(rib.named('peerUp')[0]![2]).toMatchObject({ peerRouterId: '10.0.0.2', families: ['ipv4', 'ipv6'] });
    await vi.advanceTimersByTimeAsync(1);
    expect(s.sent.map(String)).toEqual(['u1', 'u2']);
  });

  it('stops sending when the socket is full and resumes on drain', async () => {
    const { sessions, rib } = await setup();
    const s = sessions.last('10.0.0.2');
    s.establish();
    s.writable = false;
    rib.outbound.set('10.0.0.2', [Buffer.from('a')]);
    s.emit('updatesDone');
    await vi.advanceTimersByTimeAsync(1);
    rib.outbound.set('10.0.0.2', [Buffer.from('b')]);
    s.emit('updatesDone');
    await vi.advanceTimersByTimeAsync(1);
    expect(s.sent.map(String)).toEqual(['a']);
    s.writable = true;
    s.emit('drain');
    await vi.advanceTimersByTimeAsync(1);
    expect(s.sent.map(String)).toEqual(['a', 'b']);
  });

  it('after our restart defers all advertising until every GR peer sent End-of-RIB (RFC 4724 §4.1)', async () => {
    const { sessions, rib } = await setup(YAML, false, true);
    const [s2, s3] = [sessions.last('10.0.0.2'), sessions.last('10.0.0.3')];
    expect(s2.input.gracefulRestart).toMatchObject({ restarting: true });
    const gr = {
      restarting: false,
      notification: true,
      restartTimeSeconds: 60,
      families: [{ family: FAMILY.IPV4_UNICAST, forwardingPreserved: true }],
    };
    s2.establish({ peerGracefulRestart: gr });
    s3.establish({ peerAs: 65001, isIbgp: true }); // no GR: owes no End-of-RIB
    rib.outbound.set('10.0.0.2', [Buffer.from('to2')]);
    rib.outbound.set('10.0.0.3', [Buffer.from('to3')]);
    s2.emit('updatesDone');
    await vi.advanceTimersByTimeAsync(1);
    expect([...s2.sent, ...s3.sent]).toEqual([]);
    rib.nextIngest = { endOfRib: 'ipv4' };
    s2.emit('update', update());
    s2.emit('updatesDone');
    await vi.advanceTimersByTimeAsync(1);
    expect(s2.sent.map(String)).toEqual(['to2']);
    expect(s3.sent.map(String)).toEqual(['to3']);
  });

  it('after our restart the FIB is told in-sync only once the routes learned before the last End-of-RIB are published to it', async () => {
    // Our route from the previous run, still in the kernel.
    const routeTable = new FakeRouteTable();
    routeTable.routes.set('k', { dst: '10.1.0.0/24', table: 254, proto: 110, via: '10.0.0.2' });
    const { sessions, rib } = await setup(YAML, true, true, { routeTable });
    const wantedAtInSync: number[] = [];
    const markInSync = FibSync.prototype.markInSync;
    const spy = vi.spyOn(FibSync.prototype, 'markInSync').mockImplementation(function (this: FibSync) {
      wantedAtInSync.push(this.desiredCount);
      markInSync.call(this);
    });
    const [s2, s3] = [sessions.last('10.0.0.2'), sessions.last('10.0.0.3')];
    const gr = { restarting: false, notification: true, restartTimeSeconds: 60, families: [] };
    s2.establish({ peerGracefulRestart: gr });
    s3.establish({ peerAs: 65001, isIbgp: true });
    await vi.advanceTimersByTimeAsync(10);
    // The peer re-sends the route and its End-of-RIB in one read: the best path waits in the RIB for a
    // flush slice when the End-of-RIB ends the initial sync. Told in-sync before that, the FIB would
    // remove the route from the kernel as unwanted (and re-add it a moment later).
    rib.bestChanges = [{ family: 'ipv4', prefix: '10.1.0.0/24', nextHops: ['10.0.0.2'], local: false }];
    rib.nextIngest = { endOfRib: 'ipv4' };
    s2.emit('update', update());
    s2.emit('updatesDone');
    await vi.advanceTimersByTimeAsync(10);
    spy.mockRestore();
    expect(wantedAtInSync).toEqual([1]);
    expect(routeTable.ops.filter((o) => o.startsWith('remove'))).toEqual([]);
    expect([...routeTable.routes.values()].map((r) => r.dst)).toEqual(['10.1.0.0/24']);
  });

  it('after our restart only the first session carries the Restarting bit; its successor does not', async () => {
    const { sessions, listener, rib } = await setup(YAML, false, true);
    const first = sessions.last('10.0.0.2');
    first.establish();
    first.emit('down', { reason: 'tcp-closed', error: true });
    const second = sessions.last('10.0.0.2');
    expect(second).not.toBe(first);
    expect(first.input.gracefulRestart).toMatchObject({ restarting: true });
    expect(second.input.gracefulRestart).toMatchObject({ restarting: false });
    expect(first.calls.at(-1)).toEqual(['destroy']);
    expect(second.calls).toEqual([['start']]);
    expect(listener.registered.get('10.0.0.2')).toBe(second);
    second.establish();
    expect(rib.named('peerUp')).toHaveLength(2);
    second.emit('down', { reason: 'tcp-closed', error: true });
    expect(sessions.last('10.0.0.2')).toBe(second); // renewed once only
    first.emit('update', update()); // a stray event from the old session is ignored
    expect(rib.named('ingestUpdate')).toHaveLength(0);
  });

  it('after our restart stops deferring once the restart time passes even if a peer never came', async () => {
    const { sessions, rib } = await setup(YAML, false, true);
    const s2 = sessions.last('10.0.0.2');
    s2.establish();
    rib.outbound.set('10.0.0.2', [Buffer.from('x')]);
    s2.emit('updatesDone');
    await vi.advanceTimersByTimeAsync(119_000);
    expect(s2.sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(1_001);
    expect(s2.sent.map(String)).toEqual(['x']);
  });

  it('feeds UPDATEs to the RIB (RFC 7606 treat-as-withdraw passed on)', async () => {
    const { sessions, rib } = await setup();
    const s = sessions.last('10.0.0.2');
    s.establish();
    const raw = Buffer.from([0x40, 1, 1, 0]);
    s.emit('update', update({ rawAttributes: raw, action: 'treat-as-withdraw' }));
    const [, id, u] = rib.named('ingestUpdate')[0]! as [string, string, { attrs: Buffer; treatAsWithdraw: boolean }];
    expect(id).toBe('10.0.0.2');
    expect(u.attrs).toBe(raw);
    expect(u.treatAsWithdraw).toBe(true);
  });

  it('max-prefix: Cease 1 with the RIB data, then restarts after the configured back-off', async () => {
    const { sessions, rib, speaker } = await setup();
    const s = sessions.last('10.0.0.2');
    s.establish();
    const data = new Uint8Array([0, 1, 1, 0, 0, 0, 10]);
    rib.nextIngest = { maxPrefixExceeded: { family: 'ipv4', limit: 10, data } };
    s.emit('update', update());
    const stop = s.calls.find((c) => c[0] === 'stop')![1] as { code: number; subcode: number; data: Buffer };
    expect([stop.code, stop.subcode, [...stop.data]]).toEqual([6, 1, [...data]]);
    expect(rib.named('startPeerDown').at(-1)).toEqual(['startPeerDown', '10.0.0.2', { gracefulRestart: false }]);
    s.emit('update', update()); // queued behind the Cease in the same slice: dropped, not fed to the RIB
    expect(rib.named('ingestUpdate')).toHaveLength(1);
    expect(speaker.peerStatus()[0]).toMatchObject({
      state: 'Idle (max-prefix)',
      lastError: 'max-prefix 10 exceeded (ipv4): sent Cease 1',
    });
    s.lastErrorText = 'connect failed: ECONNREFUSED';
    expect(speaker.peerStatus()[0]!.lastError).toBe('connect failed: ECONNREFUSED');
    const starts = () => s.calls.filter((c) => c[0] === 'start').length;
    await vi.advanceTimersByTimeAsync(29_000);
    expect(starts()).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(starts()).toBe(2);
  });

  it('a lost session is removed in slices, one peerDownStep per flush turn, with the other peers drained in between', async () => {
    const { sessions, rib } = await setup();
    const [s2, s3] = [sessions.last('10.0.0.2'), sessions.last('10.0.0.3')];
    s2.establish();
    s3.establish({ peerAs: 65001, isIbgp: true });
    await vi.advanceTimersByTimeAsync(1);
    rib.sliceSteps = 3;
    let slice = 0;
    const step = rib.peerDownStep.bind(rib);
    rib.peerDownStep = (budget: number): boolean => {
      const more = step(budget);
      rib.outbound.set('10.0.0.3', [Buffer.from(`withdraw-${++slice}`)]); // what the RIB queues per slice
      return more;
    };
    s2.emit('down', { reason: 'tcp-closed', error: true });
    expect(rib.named('startPeerDown').at(-1)).toEqual(['startPeerDown', '10.0.0.2', { gracefulRestart: false }]);
    expect(rib.named('peerDownStep')).toEqual([]); // nothing removed inside the 'down' handler
    for (let k = 1; k <= 3; k++) {
      await vi.advanceTimersToNextTimerAsync(); // one event-loop turn: timers and I/O run between slices
      expect(rib.named('peerDownStep')).toEqual(Array.from({ length: k }, () => ['peerDownStep', 20_000]));
      expect(s3.sent.map(String)).toEqual(Array.from({ length: k }, (_, i) => `withdraw-${i + 1}`));
    }
    expect(rib.peerDownPending).toBe(false);
    await vi.advanceTimersByTimeAsync(10);
    expect(rib.named('peerDownStep')).toHaveLength(3);
  });

  it('a removed peer and a reset peer hand their paths to sliced removal', async () => {
    const { sessions, rib, speaker } = await setup();
    sessions.last('10.0.0.2').establish();
    sessions.last('10.0.0.3').establish({ peerAs: 65001, isIbgp: true });
    await speaker.reconfigure(
      parseBgpdConfig(
        YAML.replace('- { address: 10.0.0.3, asn: internal, routeReflectorClient: true }', '').replace(
          'import: all, export: all,',
          'import: all, export: all, holdTime: 30,',
        ),
      ),
    );
    expect(rib.named('startRemovePeer')).toEqual([['startRemovePeer', '10.0.0.3']]);
    expect(rib.named('startSweepStale')).toEqual([['startSweepStale', '10.0.0.2', undefined]]);
    expect(rib.named('removePeer').concat(rib.named('peerDown'), rib.named('sweepStale'))).toEqual([]);
    await vi.advanceTimersByTimeAsync(10);
    expect(rib.peerDownPending).toBe(false);
    expect(rib.named('peerDownStep').length).toBeGreaterThan(0);
  });

  it('a cluster ID change goes to the RIB in place: no session is stopped or replaced', async () => {
    const { sessions, rib, speaker } = await setup();
    sessions.last('10.0.0.2').establish();
    sessions.last('10.0.0.3').establish({ peerAs: 65001, isIbgp: true });
    const before = sessions.created.length;
    const summary = await speaker.reconfigure(parseBgpdConfig(`${YAML}routeReflector: { clusterId: 10.255.0.1 }\n`));
    expect(summary.restartedAll).toBe(false);
    expect(rib.named('setClusterId')).toEqual([['setClusterId', '10.255.0.1']]);
    expect(sessions.created).toHaveLength(before);
    expect(sessions.created.flatMap((s) => s.calls.filter((c) => c[0] === 'stop'))).toEqual([]);
    expect(rib.named('removePeer').concat(rib.named('startRemovePeer'), rib.named('startPeerDown'))).toEqual([]);
  });

  it('stop sends Cease 2 with the RFC 9003 message to every peer', async () => {
    const { sessions, speaker, listener } = await setup();
    const p = speaker.stop({ message: 'bye' });
    await vi.advanceTimersByTimeAsync(100);
    await p;
    for (const s of sessions.created) {
      const n = s.calls.find((c) => c[0] === 'stop')![1] as { code: number; subcode: number; data: Buffer };
      expect([n.code, n.subcode, n.data.toString('hex')]).toEqual([6, 2, '03627965']);
    }
    expect(listener.closed).toBe(true);
  });
});
