import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { AS_PATH_SEGMENT, FAMILY } from '../codec/constants.js';
import {
  encodePathAttributes,
  decodeMessage,
  decodeOptions,
  nlriListToStrings,
  packUpdates,
  parsePrefix,
} from '../codec/index.js';
import type { PrefixBatch, UpdateMessage } from '../codec/types.js';
import { parseBgpdConfig } from '../config-file.js';
import { defaultRibFactory } from './adapters.js';
import { BgpSpeaker } from './speaker.js';
import { FakeListener, FakeSessions } from './testing/fakes.js';
import type { BestPathChange } from './types.js';

// The speaker with the real RIB and codec (sessions faked): an UPDATE from one eBGP peer comes out,
// re-encoded, toward another with our AS prepended and next hop self; best-path changes stream out.

function batch(texts: readonly string[]): PrefixBatch {
  const lengths = new Uint8Array(texts.length);
  const addresses = new Uint8Array(texts.length * 4);
  texts.forEach((t, i) => {
    const p = parsePrefix(t)!;
    lengths[i] = p.length;
    addresses.set(p.address.subarray(0, 4), i * 4);
  });
  return { afi: 1, count: texts.length, lengths, addresses };
}

function updateFrom(prefixes: readonly string[], asPath: number[], nextHop: string): UpdateMessage {
  const attributes = encodePathAttributes(
    { origin: 0, asPath: [{ type: AS_PATH_SEGMENT.AS_SEQUENCE, asns: asPath }], nextHop },
    { fourOctetAs: true, extendedMessages: false },
  );
  const [msg] = packUpdates({ attributes, prefixes: batch(prefixes), addPath: false, maxMessageLength: 4096 });
  return decodeMessage(msg!, decodeOptions({ localAs: 65001, peerAs: asPath[0]! })) as UpdateMessage;
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('BgpSpeaker with the real RIB', () => {
  it('re-advertises eBGP routes to another eBGP peer with AS prepend and next-hop-self; streams best paths', async () => {
    const sessions = new FakeSessions();
    const config = parseBgpdConfig(`
routerId: 10.0.0.1
asn: 65001
listen: { addresses: [], port: 0 }
ebgpRequiresPolicy: false
peers:
  - { address: 10.0.0.2, asn: 65002 }
  - { address: 10.0.0.3, asn: 65003 }
`);
    const speaker = new BgpSpeaker(config, {
      log: silentLogger(),
      sessions,
      listener: new FakeListener(),
      ribFactory: defaultRibFactory,
      trackBestPaths: true,
    });
    const changes: BestPathChange[] = [];
    speaker.onBestPathChange((c) => changes.push(...c));
    await speaker.start();
    const a = sessions.last('10.0.0.2');
    const b = sessions.last('10.0.0.3');
    a.local = '10.0.0.1';
    b.local = '10.0.1.1';
    a.establish({ peerAs: 65002, peerRouterIdText: '10.0.0.2', families: new Set([FAMILY.IPV4_UNICAST]) });
    b.establish({ peerAs: 65003, peerRouterIdText: '10.0.0.3', families: new Set([FAMILY.IPV4_UNICAST]) });
    await vi.advanceTimersByTimeAsync(1);
    b.sent.length = 0;

    a.emit('update', updateFrom(['10.1.0.0/24', '10.2.0.0/24'], [65002, 65010], '10.0.0.2'));
    a.emit('updatesDone');
    await vi.advanceTimersByTimeAsync(1);

    const got = b.sent
      .map((m) => decodeMessage(m, decodeOptions({ localAs: 65001, peerAs: 65003 })))
      .filter((m): m is UpdateMessage => m.type === 'update');
    const announced = got.flatMap((u) => nlriListToStrings(u.nlri));
    expect(announced.sort()).toEqual(['10.1.0.0/24', '10.2.0.0/24']);
    const u = got.find((x) => x.nlri.count > 0)!;
    expect(u.attributes.asPath).toEqual([{ type: AS_PATH_SEGMENT.AS_SEQUENCE, asns: [65001, 65002, 65010] }]);
    expect(u.attributes.nextHop).toBe('10.0.1.1');
    expect(changes.map((c) => [c.prefix, c.nextHops, c.local])).toEqual([
      ['10.1.0.0/24', ['10.0.0.2'], false],
      ['10.2.0.0/24', ['10.0.0.2'], false],
    ]);
    const st = speaker.peerStatus();
    expect(st.map((p) => [p.address, p.prefixesReceived, p.prefixesAccepted, p.prefixesAdvertised])).toEqual([
      ['10.0.0.2', 2, 2, 0],
      ['10.0.0.3', 0, 0, 2],
    ]);
    const rib = speaker.queryRib({ prefix: '10.1.0.0/24' });
    expect(rib.matched).toBe(1);
    expect(rib.routes[0]).toMatchObject({
      prefix: '10.1.0.0/24',
      from: '10.0.0.2',
      nextHop: '10.0.0.2',
      asPath: '65002 65010',
      best: true,
    });
    expect(rib.prefixes.ipv4).toBe(2);

    // The source peer goes away without graceful restart: withdrawn toward B, best paths gone.
    b.sent.length = 0;
    changes.length = 0;
    a.emit('down', {
      reason: 'notification-received',
      received: { type: 'notification', errorCode: 6, subcode: 2, data: Buffer.alloc(0) },
      error: true,
    });
    await vi.advanceTimersByTimeAsync(1);
    const wd = b.sent
      .map((m) => decodeMessage(m, decodeOptions()))
      .filter((m): m is UpdateMessage => m.type === 'update');
    expect(wd.flatMap((x) => nlriListToStrings(x.withdrawn)).sort()).toEqual(['10.1.0.0/24', '10.2.0.0/24']);
    expect(changes.map((c) => [c.prefix, c.nextHops])).toEqual([
      ['10.1.0.0/24', []],
      ['10.2.0.0/24', []],
    ]);
    const p = speaker.stop();
    await vi.advanceTimersByTimeAsync(100);
    await p;
  });
});
