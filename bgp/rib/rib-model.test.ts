import { describe, expect, it } from 'vitest';
import * as fc from 'fast-check';
import type { RoutePolicy } from '../route-policy/types.js';
import { Rib } from './rib.js';
import { decodeOut, update } from './test-helpers.js';
import type { Family, RibNegotiated } from './types.js';

const ACCEPT: RoutePolicy = { name: 'all', statements: [], defaultResult: 'accept' };
const ONLY_LOW: RoutePolicy = {
  name: 'low',
  defaultResult: 'reject',
  statements: [
    {
      match: {
        prefix: {
          entries: [
            { prefix: '10.0.0.0/24', le: 32 },
            { prefix: '2001:db8::/40', le: 128 },
          ],
        },
      },
    },
  ],
};
const PREFIXES = ['10.0.0.0/24', '10.0.1.0/24', '10.0.0.128/25', '2001:db8::/48', '2001:db9::/48'];
const PEERS = ['p1', 'p2', 'p3'] as const;
const NEG: RibNegotiated = {
  peerRouterId: '1.1.1.1',
  fourOctetAs: true,
  families: ['ipv4', 'ipv6'],
  addPathReceive: ['ipv4', 'ipv6'],
};

type Op =
  | { op: 'announce'; peer: number; prefix: number; pathId: number; pathLen: number }
  | { op: 'withdraw'; peer: number; prefix: number; pathId: number }
  | { op: 'down'; peer: number; gr: boolean; sliced: boolean }
  | { op: 'step' }
  | { op: 'remove'; peer: number }
  | { op: 'eor'; peer: number; family: Family }
  | { op: 'policy'; peer: number; strict: boolean }
  | { op: 'drain' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('announce' as const),
    peer: fc.nat(2),
    prefix: fc.nat(PREFIXES.length - 1),
    pathId: fc.nat(1),
    pathLen: fc.integer({ min: 1, max: 3 }),
  }),
  fc.record({
    op: fc.constant('withdraw' as const),
    peer: fc.nat(2),
    prefix: fc.nat(PREFIXES.length - 1),
    pathId: fc.nat(1),
  }),
  fc.record({ op: fc.constant('down' as const), peer: fc.nat(2), gr: fc.boolean(), sliced: fc.boolean() }),
  fc.constant({ op: 'step' as const }),
  fc.record({ op: fc.constant('remove' as const), peer: fc.nat(2) }),
  fc.record({ op: fc.constant('eor' as const), peer: fc.nat(2), family: fc.constantFrom<Family>('ipv4', 'ipv6') }),
  fc.record({ op: fc.constant('policy' as const), peer: fc.nat(2), strict: fc.boolean() }),
  fc.constant({ op: 'drain' as const }),
);

/** Reference model: (peer, prefix, pathId) → { stale, accepted }. */
function run(ops: readonly Op[]): void {
  const rib = new Rib({ localAs: 65000, routerId: '9.9.9.9', maxPaths: 4 });
  const strict = [false, false, false];
  const addUp = (id: string, i: number) => {
    rib.addPeer({
      id,
      address: `10.9.0.${i + 1}`,
      peerAs: 65001 + i,
      localAddress: '10.9.0.100',
      localAddressV6: 'fd00::100',
      importPolicy: ACCEPT,
      exportPolicy: ACCEPT,
    });
    rib.peerUp(id, { ...NEG, peerRouterId: `10.9.0.${i + 1}` });
  };
  PEERS.forEach(addUp);
  rib.addPeer({
    id: 'col',
    address: '10.9.0.99',
    peerAs: 65099,
    localAddress: '10.9.0.100',
    localAddressV6: 'fd00::100',
    importPolicy: ACCEPT,
    exportPolicy: ACCEPT,
  });
  rib.peerUp('col', NEG);
  const up = [true, true, true];
  const model = new Map<string, { stale: boolean }>();
  const key = (peer: number, prefix: number, pathId: number) => `${peer}|${prefix}|${pathId}`;
  const adv = new Map<string, Set<string>>([...PEERS, 'col'].map((id) => [id, new Set<string>()]));
  const advertised = adv.get('col')!;
  const drain = () => {
    for (const [id, set] of adv) {
      if (id !== 'col' && !up[PEERS.indexOf(id as never)]) continue;
      for (let b = rib.takeOutbound(id, 1 << 20); b.length > 0; b = rib.takeOutbound(id, 1 << 20)) {
        for (const m of decodeOut(b)) {
          m.withdrawn.forEach((p) => set.delete(p));
          m.announced.forEach((p) => set.add(p));
        }
      }
    }
  };
  for (const o of ops) {
    if (o.op === 'drain') {
      drain();
      continue;
    }
    if (o.op === 'step') {
      rib.peerDownStep(1);
      continue;
    } // one path of a pending sliced removal
    const id = PEERS[o.peer]!;
    if (o.op === 'remove') {
      // deleted in slices, the same id re-added and up at once
      rib.startRemovePeer(id);
      addUp(id, o.peer);
      up[o.peer] = true;
      strict[o.peer] = false;
      adv.get(id)!.clear();
      for (const k of [...model.keys()]) if (k.startsWith(`${o.peer}|`)) model.delete(k);
      continue;
    }
    if (o.op === 'down') {
      if (!up[o.peer]) {
        rib.peerUp(id, { ...NEG, peerRouterId: `10.9.0.${o.peer + 1}` });
        up[o.peer] = true;
        continue;
      }
      if (o.sliced) rib.startPeerDown(id, { gracefulRestart: o.gr });
      else rib.peerDown(id, { gracefulRestart: o.gr });
      up[o.peer] = false;
      adv.get(id)!.clear();
      for (const [k, v] of [...model])
        if (k.startsWith(`${o.peer}|`)) {
          if (o.gr) v.stale = true;
          else model.delete(k);
        }
      continue;
    }
    if (o.op === 'policy') {
      strict[o.peer] = o.strict;
      rib.setImportPolicy(id, o.strict ? ONLY_LOW : ACCEPT);
      continue;
    }
    if (!up[o.peer]) continue;
    if (o.op === 'eor') {
      const r = rib.ingestUpdate(id, o.family === 'ipv4' ? update({}) : { attrs: Uint8Array.of(0x80, 15, 3, 0, 2, 1) });
      expect(r.endOfRib).toBe(o.family);
      for (const [k, v] of [...model]) {
        const [peer, prefix] = k.split('|').map(Number);
        if (peer === o.peer && v.stale && PREFIXES[prefix!]!.includes(':') === (o.family === 'ipv6')) model.delete(k);
      }
      continue;
    }
    const prefix = PREFIXES[o.prefix]!;
    if (o.op === 'announce') {
      const nextHop = prefix.includes(':') ? `fd00::${o.peer + 1}` : `10.9.0.${o.peer + 1}`;
      rib.ingestUpdate(
        id,
        update({
          announce: [prefix],
          pathIds: [o.pathId],
          route: { asPath: Array.from({ length: o.pathLen }, (_, i) => 65001 + o.peer + i * 0), nextHop },
        }),
      );
      model.set(key(o.peer, o.prefix, o.pathId), { stale: false });
    } else {
      rib.ingestUpdate(id, update({ withdraw: [prefix], withdrawPathIds: [o.pathId] }));
      model.delete(key(o.peer, o.prefix, o.pathId));
    }
  }
  while (rib.peerDownStep(2)); // finish sliced removals still pending
  // Adj-RIB-In matches the model (paths, stale flags, acceptance under the current policy).
  const routes = rib.queryRoutes({}).filter((r) => r.peer !== 'local');
  const got = routes
    .map((r) => `${PEERS.indexOf(r.peer as never)}|${PREFIXES.indexOf(r.prefix)}|${r.pathId}|${r.stale}`)
    .sort();
  expect(got).toEqual([...model].map(([k, v]) => `${k}|${v.stale}`).sort());
  const low = (p: string) => p.startsWith('10.0.0.') || p.startsWith('2001:db8:');
  for (const r of routes) expect(r.accepted).toBe(!strict[PEERS.indexOf(r.peer as never)] || low(r.prefix));
  // Loc-RIB: a best path exactly where an accepted path exists; the collector has exactly those.
  const withBest = new Set(rib.queryRoutes({ bestOnly: true }).map((r) => r.prefix));
  expect([...withBest].sort()).toEqual([...new Set(routes.filter((r) => r.accepted).map((r) => r.prefix))].sort());
  drain();
  expect([...advertised].sort()).toEqual([...withBest].sort());
  expect(rib.peerCounts('col').advertised).toBe(withBest.size);
  // Every up peer has every best route except those whose best path it sent itself (split horizon).
  const bestFrom = new Map(rib.queryRoutes({ bestOnly: true }).map((r) => [r.prefix, r.peer]));
  PEERS.forEach((id, i) => {
    if (!up[i]) return;
    expect([...adv.get(id)!].sort()).toEqual(
      [...bestFrom]
        .filter(([, from]) => from !== id)
        .map(([p]) => p)
        .sort(),
    );
  });
  // Tear down: nothing may leak.
  PEERS.forEach((id, i) => {
    rib.removePeer(id);
    up[i] = false;
  });
  drain();
  expect(advertised.size).toBe(0);
  expect(rib.countRoutes()).toEqual({ prefixes: 0, paths: 0 });
  expect(rib.attrSetCount).toBe(0);
  // Every prefix slot is freed once the FIB stream has been taken too (slots are reused, never leaked).
  rib.takeBestPathChanges(1 << 20);
  expect(rib.prefixSlots).toEqual({ ipv4: 0, ipv6: 0 });
}

describe('Rib against a reference model', () => {
  it('keeps Adj-RIB-In, Loc-RIB, Adj-RIB-Out and refcounts consistent under random operations', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => run(ops)),
      { numRuns: 300 },
    );
  });
});
