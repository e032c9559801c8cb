/**
 * Shared set-up of the BgpSpeaker unit tests (speaker.test.ts, speaker-routing.test.ts): a speaker on
 * fake sessions, listener, RIB and route table.
 */
import { silentLogger } from '../../../src/log.js';
import { FakeRouteTable } from '../../../src/kernel/testing/fake-route-table.js';
import { emptyNlriList } from '../../codec/prefix.js';
import type { UpdateMessage } from '../../codec/types.js';
import { parseBgpdConfig } from '../../config-file.js';
import { BgpSpeaker, type SpeakerDeps } from '../speaker.js';
import { FakeListener, FakeRib, FakeSessions } from './fakes.js';

export const YAML = `
routerId: 10.0.0.1
asn: 65001
listen: { addresses: [127.0.0.1], port: 1179 }
originate: [{ prefix: 10.244.1.0/26, communities: ["65001:1"] }]
policies:
  all: { defaultAction: accept }
peers:
  - { address: 10.0.0.2, asn: 65002, import: all, export: all, maxPrefix: { limit: 10, restartSeconds: 30 } }
  - { address: 10.0.0.3, asn: internal, routeReflectorClient: true }
listenRanges:
  - { prefix: 10.9.0.0/16, asn: external }
gracefulRestart: { restartTime: 120, stalePathTime: 300 }
`;

export function update(extra: Partial<UpdateMessage> = {}): UpdateMessage {
  return {
    type: 'update',
    withdrawn: emptyNlriList(1, 1),
    nlri: emptyNlriList(1, 1),
    attributes: {},
    rawAttributes: Buffer.alloc(0),
    receivedAttributes: Buffer.alloc(0),
    attributeKey: Buffer.alloc(0),
    action: 'none',
    problems: [],
    ...extra,
  };
}

export async function setup(yaml = YAML, fib = false, restarting = false, extra: Partial<SpeakerDeps> = {}) {
  const sessions = new FakeSessions();
  const listener = new FakeListener();
  const rib = new FakeRib();
  const routeTable = new FakeRouteTable();
  const config = parseBgpdConfig(fib && !yaml.includes('\nfib:') ? `${yaml}\nfib: { enabled: true }\n` : yaml);
  const speaker = new BgpSpeaker(config, {
    log: silentLogger(),
    sessions,
    listener,
    ribFactory: () => rib,
    ...(fib && { routeTable }),
    restarting,
    ...extra,
  });
  await speaker.start();
  return { sessions, listener, rib, speaker, routeTable };
}
