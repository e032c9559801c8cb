import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FAMILY } from '../codec/constants.js';
import { parseBgpdConfig } from '../config-file.js';
import type { BestPathChange } from './types.js';
import { YAML, setup, update } from './testing/speaker-setup.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('BgpSpeaker routing', () => {
  it('graceful restart helper: keeps routes stale on TCP loss, sweeps when the restart time passes', async () => {
    const { sessions, rib } = await setup();
    const s = sessions.last('10.0.0.2');
    const gr = {
      restarting: false,
      notification: true,
      restartTimeSeconds: 60,
      families: [{ family: FAMILY.IPV4_UNICAST, forwardingPreserved: true }],
    };
    s.establish({ peerGracefulRestart: gr });
    s.emit('down', { reason: 'tcp-closed', error: true });
    expect(rib.named('startPeerDown').at(-1)).toEqual(['startPeerDown', '10.0.0.2', { gracefulRestart: true }]);
    await vi.advanceTimersByTimeAsync(59_000);
    expect(rib.named('startSweepStale')).toEqual([]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(rib.named('startSweepStale')).toEqual([['startSweepStale', '10.0.0.2', undefined]]);
  });

  it('graceful restart helper: peer back in time keeps preserved families until End-of-RIB, else stale-path time', async () => {
    const { sessions, rib } = await setup();
    const s = sessions.last('10.0.0.2');
    const gr = {
      restarting: false,
      notification: true,
      restartTimeSeconds: 60,
      families: [{ family: FAMILY.IPV4_UNICAST, forwardingPreserved: true }],
    };
    s.establish({ peerGracefulRestart: gr, families: new Set([FAMILY.IPV4_UNICAST, FAMILY.IPV6_UNICAST]) });
    s.emit('down', { reason: 'tcp-closed', error: true });
    await vi.advanceTimersByTimeAsync(10_000);
    s.establish({
      peerGracefulRestart: { ...gr, restarting: true },
      families: new Set([FAMILY.IPV4_UNICAST, FAMILY.IPV6_UNICAST]),
    });
    expect(rib.named('startSweepStale')).toEqual([['startSweepStale', '10.0.0.2', 'ipv6']]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(rib.named('startSweepStale')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(240_000);
    expect(rib.named('startSweepStale').at(-1)).toEqual(['startSweepStale', '10.0.0.2', undefined]);
  });

  it('no graceful restart after a Hard Reset, or when the peer did not offer it', async () => {
    const { sessions, rib } = await setup();
    const s = sessions.last('10.0.0.2');
    const gr = { restarting: false, notification: true, restartTimeSeconds: 60, families: [] };
    s.establish({ peerGracefulRestart: gr });
    s.emit('down', {
      reason: 'notification-received',
      received: { type: 'notification', errorCode: 6, subcode: 9, data: Buffer.alloc(0) },
      error: true,
    });
    expect(rib.named('startPeerDown').at(-1)![2]).toEqual({ gracefulRestart: false });
    s.establish();
    s.emit('down', { reason: 'tcp-closed', error: true });
    expect(rib.named('startPeerDown').at(-1)![2]).toEqual({ gracefulRestart: false });
  });

  it('route refresh in: normal, BoRR and EoRR reach the RIB; refresh out sends ROUTE-REFRESH', async () => {
    const { sessions, rib, speaker } = await setup();
    const s = sessions.last('10.0.0.2');
    s.establish();
    for (const subtype of [0, 1, 2]) s.emit('routeRefresh', { type: 'route-refresh', afi: 1, safi: 1, subtype });
    expect(rib.calls.filter((c) => /[Rr]efresh/.test(String(c[0])))).toEqual([
      ['refreshOutbound', '10.0.0.2', 'ipv4'],
      ['beginRouteRefresh', '10.0.0.2', 'ipv4'],
      ['endRouteRefresh', '10.0.0.2', 'ipv4'],
    ]);
    expect(speaker.refresh('10.0.0.2', 'ipv6')).toBe(true);
    expect(s.calls.at(-1)).toEqual(['refresh', '2/1/0']);
  });

  it('enhanced route refresh out: BoRR, the re-advertisement, then EoRR (RFC 7313 §4)', async () => {
    const { sessions, rib } = await setup();
    const s = sessions.last('10.0.0.2');
    s.establish({ enhancedRouteRefresh: true });
    await vi.advanceTimersByTimeAsync(1);
    s.emit('routeRefresh', { type: 'route-refresh', afi: 1, safi: 1, subtype: 0 });
    rib.outbound.set('10.0.0.2', [Buffer.from('table')]);
    expect(s.calls.filter((c) => c[0] === 'refresh')).toEqual([['refresh', '1/1/1']]);
    s.sent.length = 0;
    await vi.advanceTimersByTimeAsync(1);
    expect(s.sent.map(String)).toEqual(['table']);
    expect(s.calls.filter((c) => c[0] === 'refresh')).toEqual([
      ['refresh', '1/1/1'],
      ['refresh', '1/1/2'],
    ]);
    // Without enhanced route refresh: a plain re-send, no BoRR/EoRR.
    s.establish({ enhancedRouteRefresh: false });
    s.emit('routeRefresh', { type: 'route-refresh', afi: 1, safi: 1, subtype: 0 });
    await vi.advanceTimersByTimeAsync(1);
    expect(s.calls.filter((c) => c[0] === 'refresh')).toHaveLength(2);
  });

  it('enhanced route refresh in: BoRR without EoRR purges after the stale-path time', async () => {
    const { sessions, rib } = await setup();
    const s = sessions.last('10.0.0.2');
    s.establish({ enhancedRouteRefresh: true });
    s.emit('routeRefresh', { type: 'route-refresh', afi: 1, safi: 1, subtype: 1 });
    await vi.advanceTimersByTimeAsync(299_000);
    expect(rib.named('endRouteRefresh')).toEqual([]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(rib.named('endRouteRefresh')).toEqual([['endRouteRefresh', '10.0.0.2', 'ipv4']]);
    // An EoRR in time cancels the timer.
    s.emit('routeRefresh', { type: 'route-refresh', afi: 1, safi: 1, subtype: 1 });
    s.emit('routeRefresh', { type: 'route-refresh', afi: 1, safi: 1, subtype: 2 });
    await vi.advanceTimersByTimeAsync(400_000);
    expect(rib.named('endRouteRefresh')).toHaveLength(2);
  });

  it('a dynamic neighbour shut down by max-prefix stays refused for restartSeconds although it is forgotten', async () => {
    const yaml = YAML.replace(
      '{ prefix: 10.9.0.0/16, asn: external }',
      '{ prefix: 10.9.0.0/16, asn: external, import: all, maxPrefix: { limit: 2, restartSeconds: 5 } }',
    );
    const { listener, sessions, rib, speaker } = await setup(yaml);
    expect(listener.offer('10.9.0.5')).toBeDefined();
    const s = sessions.last('10.9.0.5');
    s.establish({ peerAs: 65099 });
    rib.nextIngest = { maxPrefixExceeded: { family: 'ipv4', limit: 2, data: new Uint8Array([0, 1, 1, 0, 0, 0, 2]) } };
    s.emit('update', update());
    expect(speaker.peerStatus().some((p) => p.address === '10.9.0.5')).toBe(false); // forgotten
    await vi.advanceTimersByTimeAsync(1_500);
    expect(listener.offer('10.9.0.5')).toBeUndefined();
    expect(listener.offer('10.9.0.6')).toBeDefined(); // others are not affected
    await vi.advanceTimersByTimeAsync(3_600);
    expect(listener.offer('10.9.0.5')).toBe(sessions.last('10.9.0.5'));
    expect(sessions.created.filter((x) => x.input.peerAddress === '10.9.0.5')).toHaveLength(2);
  });

  it('dynamic neighbours: accepted from a listen range, refused otherwise, forgotten when down', async () => {
    const { listener, sessions, rib, speaker } = await setup();
    expect(listener.offer('10.8.0.5')).toBeUndefined();
    const sess = listener.offer('10.9.0.5');
    expect(sess).toBe(sessions.last('10.9.0.5'));
    expect(sessions.last('10.9.0.5').input).toMatchObject({ passive: true, peerAs: 'external' });
    sessions.last('10.9.0.5').establish({ peerAs: 65099 });
    expect(speaker.peerStatus().find((p) => p.address === '10.9.0.5')).toMatchObject({
      dynamic: true,
      asn: 65099,
      type: 'ebgp',
    });
    sessions.last('10.9.0.5').emit('down', { reason: 'tcp-closed', error: true });
    expect(rib.named('startRemovePeer')).toEqual([['startRemovePeer', '10.9.0.5']]);
    expect(speaker.peerStatus().map((p) => p.address)).toEqual(['10.0.0.2', '10.0.0.3']);
  });

  it('reconfigure: removed peer gets Cease 3, changed session Cease 6, policy change only updates the RIB, others untouched', async () => {
    const { sessions, rib, speaker } = await setup();
    const s2 = sessions.last('10.0.0.2');
    const s3 = sessions.last('10.0.0.3');
    s2.establish();
    s3.establish({ peerAs: 65001, isIbgp: true });
    const next = parseBgpdConfig(
      YAML.replace('all: { defaultAction: accept }', 'all: { defaultAction: reject }').replace(
        '- { address: 10.0.0.3, asn: internal, routeReflectorClient: true }',
        '- { address: 10.0.0.4, asn: 65004, holdTime: 30 }',
      ),
    );
    const sum = await speaker.reconfigure(next);
    expect(sum).toMatchObject({ added: 1, removed: 1, reset: 0, updated: 1, unchanged: 0, restartedAll: false });
    expect(s3.calls.find((c) => c[0] === 'stop')![1]).toMatchObject({ code: 6, subcode: 3 });
    expect(rib.named('startRemovePeer')).toEqual([['startRemovePeer', '10.0.0.3']]);
    expect(s2.calls.some((c) => c[0] === 'stop')).toBe(false);
    expect(
      (rib.named('updatePeer')[0]![1] as { importPolicy: { defaultResult: string } }).importPolicy.defaultResult,
    ).toBe('reject');
    expect(sessions.last('10.0.0.4').calls[0]).toEqual(['start']);
    const sum2 = await speaker.reconfigure(
      parseBgpdConfig(YAML.replace('import: all, export: all,', 'import: all, export: all, holdTime: 30,')),
    );
    expect(sum2).toMatchObject({ reset: 1, added: 1, removed: 1 });
    expect(s2.calls.find((c) => c[0] === 'stop')![1]).toMatchObject({ code: 6, subcode: 6 });
    expect(sessions.last('10.0.0.2')).not.toBe(s2);
    expect(sessions.last('10.0.0.2').input.holdTimeSeconds).toBe(30);
  });

  it('reconfigure: a global change (ASN) restarts every session with Cease 6 on a fresh RIB', async () => {
    const { sessions, speaker, listener } = await setup();
    const before = [...sessions.created];
    const reconfigured = speaker.reconfigure(parseBgpdConfig(YAML.replace('asn: 65001', 'asn: 65009')));
    await vi.advanceTimersByTimeAsync(1);
    // The Cease 6s go out at once; the new sessions wait until the peers have read them.
    for (const s of before) expect(s.calls.find((c) => c[0] === 'stop')![1]).toMatchObject({ code: 6, subcode: 6 });
    expect(sessions.created).toHaveLength(before.length);
    await vi.advanceTimersByTimeAsync(300);
    const sum = await reconfigured;
    expect(sum.restartedAll).toBe(true);
    for (const s of before) expect(s.calls.find((c) => c[0] === 'stop')![1]).toMatchObject({ code: 6, subcode: 6 });
    expect(listener.closed).toBe(true);
    const fresh = sessions.created.slice(before.length);
    expect(fresh.map((s) => [s.input.peerAddress, s.input.localAs])).toEqual([
      ['10.0.0.2', 65009],
      ['10.0.0.3', 65009],
    ]);
    expect(fresh.every((s) => s.calls[0]?.[0] === 'start')).toBe(true);
  });

  it('reconfigure: originated prefixes are diffed', async () => {
    const { rib, speaker } = await setup();
    await speaker.reconfigure(
      parseBgpdConfig(
        YAML.replace(
          'originate: [{ prefix: 10.244.1.0/26, communities: ["65001:1"] }]',
          'originate: [{ prefix: 10.244.2.0/26 }]',
        ),
      ),
    );
    expect(rib.named('withdrawOriginated')).toEqual([['withdrawOriginated', '10.244.1.0/26']]);
    expect(rib.named('originate').at(-1)).toEqual(['originate', '10.244.2.0/26', {}]);
  });

  it('streams best-path changes to subscribers and learned ones into the FIB', async () => {
    const { rib, speaker, routeTable, sessions } = await setup(YAML, true);
    const seen: BestPathChange[] = [];
    speaker.onBestPathChange((c) => seen.push(...c));
    rib.bestChanges = [
      { family: 'ipv4', prefix: '10.1.0.0/24', nextHops: ['10.0.0.2', '10.0.0.3'], local: false },
      { family: 'ipv4', prefix: '10.244.1.0/26', nextHops: ['0.0.0.0'], local: true },
    ];
    sessions.last('10.0.0.2').emit('updatesDone');
    await vi.advanceTimersByTimeAsync(10);
    expect(seen.map((c) => c.prefix)).toEqual(['10.1.0.0/24', '10.244.1.0/26']);
    expect([...routeTable.routes.values()]).toEqual([
      { dst: '10.1.0.0/24', table: 254, proto: 110, nexthops: [{ via: '10.0.0.2' }, { via: '10.0.0.3' }] },
    ]);
  });

  it('installs link-local next hops on the device of the session they came over', async () => {
    const eth = (address: string, cidr: string) => ({
      address,
      cidr,
      netmask: '255.255.255.0',
      family: 'IPv4' as const,
      mac: '',
      internal: false,
    });
    const interfaces = () => ({ eth3: [eth('10.0.0.1', '10.0.0.1/24')] });
    const { rib, routeTable, sessions } = await setup(YAML, true, false, { interfaces });
    sessions.last('10.0.0.2').establish(); // local address 10.0.0.1 (on eth3)
    const route = {
      family: 'ipv4' as const,
      pathId: 0,
      best: true,
      multipath: false,
      stale: false,
      accepted: true,
      asPath: '65002',
      origin: 'igp' as const,
      communities: [],
      largeCommunities: [],
    };
    rib.routes = [{ ...route, prefix: '10.1.0.0/24', peer: '10.0.0.2', nextHop: 'fe80::2' }];
    rib.bestChanges = [
      { family: 'ipv4', prefix: '10.1.0.0/24', nextHops: ['fe80::2'], local: false },
      { family: 'ipv4', prefix: '10.2.0.0/24', nextHops: ['fe80::9'], local: false }, // no path says where: not installed
    ];
    sessions.last('10.0.0.2').emit('updatesDone');
    await vi.advanceTimersByTimeAsync(10);
    expect([...routeTable.routes.values()]).toEqual([
      { dst: '10.1.0.0/24', table: 254, proto: 110, via: 'fe80::2', dev: 'eth3' },
    ]);
  });

  it('the RIB view hides paths that are kept but not accepted unless asked (rejected=true)', async () => {
    const { rib, speaker } = await setup();
    const route = {
      family: 'ipv4' as const,
      prefix: '10.1.0.0/24',
      pathId: 0,
      multipath: false,
      stale: false,
      asPath: '65002',
      origin: 'igp' as const,
      communities: [],
      largeCommunities: [],
    };
    rib.routes = [
      { ...route, peer: '10.0.0.2', best: true, accepted: true, nextHop: '10.0.0.2' },
      {
        ...route,
        peer: '10.0.0.3',
        best: false,
        accepted: false,
        rejection: 'next-hop-unreachable',
        nextHop: '10.99.0.1',
      },
    ];
    expect(speaker.queryRib({ prefix: '10.1.0.0/24' }).routes.map((r) => r.from)).toEqual(['10.0.0.2']);
    const all = speaker.queryRib({ prefix: '10.1.0.0/24', rejected: true });
    expect(all.matched).toBe(2);
    expect(all.routes[1]).toMatchObject({ from: '10.0.0.3', accepted: false, rejection: 'next-hop-unreachable' });
    expect(all.routes[0]).not.toHaveProperty('accepted');
  });

  it('installs only the prefixes fib.prefixes selects', async () => {
    const { rib, routeTable, sessions } = await setup(
      `${YAML}\nfib: { enabled: true, prefixes: [{ prefix: 10.1.0.0/16, le: 24 }] }\n`,
      true,
    );
    rib.bestChanges = ['10.1.2.0/24', '10.1.2.128/25', '10.2.0.0/24', '10.1.0.0/16'].map((prefix) => ({
      family: 'ipv4' as const,
      prefix,
      nextHops: ['10.0.0.2'],
      local: false,
    }));
    sessions.last('10.0.0.2').emit('updatesDone');
    await vi.advanceTimersByTimeAsync(10);
    expect([...routeTable.routes.values()].map((r) => r.dst).sort()).toEqual(['10.1.0.0/16', '10.1.2.0/24']);
  });
});
