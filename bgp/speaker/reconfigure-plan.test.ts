import { describe, expect, it } from 'vitest';
import { parseBgpdConfig } from '../config-file.js';
import { planReconfigure, type ReconfigureAction, type RunningPeer } from './reconfigure-plan.js';
import type { SpeakerConfig } from './translate.js';

const BASE = `
routerId: 10.0.0.1
asn: 65001
listen: { addresses: [127.0.0.1], port: 1179 }
originate: [{ prefix: 10.244.1.0/26 }]
policies:
  all: { defaultAction: accept }
  none: { defaultAction: reject }
peers:
  - { address: 10.0.0.2, asn: 65002, import: all, export: all }
  - { address: 10.0.0.3, asn: internal, routeReflectorClient: true }
listenRanges:
  - { prefix: 10.9.0.0/16, asn: external }
`;
const cfg = (yaml: string): SpeakerConfig => parseBgpdConfig(yaml);
const base = cfg(BASE);

/** The speaker as it runs with BASE: both configured peers, plus one dynamic neighbour from the range. */
function running(c: SpeakerConfig, dynamic: readonly string[] = ['10.9.1.1']): RunningPeer[] {
  return [
    ...c.peers.map((p) => ({ address: p.address, dynamic: false, settings: p })),
    ...dynamic.map((address) => ({ address, dynamic: true, settings: { ...c.listenRanges[0]!, address } })),
  ];
}

/** Actions without the bulky peer configs, for readable tables. */
const brief = (as: readonly ReconfigureAction[]): string[] =>
  as.map((a) => {
    switch (a.do) {
      case 'remove-peer':
        return `remove ${a.address} (${a.why})`;
      case 'reset-peer':
        return `reset ${a.address}`;
      case 'update-peer':
        return `update ${a.address} (${a.why})`;
      case 'keep-peer':
        return `keep ${a.address}`;
      case 'add-peer':
        return `add ${a.peer.address}`;
      case 'restart-all':
        return `restart-all ${a.changed.join(',')}`;
      case 'add-listen-ranges':
        return `add-ranges ${a.ranges.map((r) => r.prefix).join(',')}`;
      case 'warn':
        return `warn ${a.message}`;
      case 'set-cluster-id':
        return `set-cluster-id ${a.from} -> ${a.clusterId}`;
      default:
        return a.do;
    }
  });

const cases: readonly { name: string; edit: (y: string) => string; actions: string[]; summary: object }[] = [
  {
    name: 'the same config plans nothing that touches a session',
    edit: (y) => y,
    actions: ['keep 10.0.0.2', 'keep 10.0.0.3', 'reconcile-originated'],
    summary: { added: 0, removed: 0, reset: 0, updated: 0, unchanged: 2, restartedAll: false },
  },
  {
    name: 'a peer removed from config is deconfigured (Cease 3); a new one is added',
    edit: (y) =>
      y.replace(
        '  - { address: 10.0.0.3, asn: internal, routeReflectorClient: true }',
        '  - { address: 10.0.0.4, asn: 65004 }',
      ),
    actions: ['keep 10.0.0.2', 'remove 10.0.0.3 (deconfigured)', 'add 10.0.0.4', 'reconcile-originated'],
    summary: { added: 1, removed: 1, reset: 0, updated: 0, unchanged: 1, restartedAll: false },
  },
  {
    name: 'an OPEN-level change (hold time) resets only that session',
    edit: (y) => y.replace('import: all, export: all }', 'import: all, export: all, holdTime: 30 }'),
    actions: ['reset 10.0.0.2', 'keep 10.0.0.3', 'reconcile-originated'],
    summary: { added: 0, removed: 0, reset: 1, updated: 0, unchanged: 1, restartedAll: false },
  },
  {
    name: 'a RIB-level change (route-reflector client) updates the RIB without a reset',
    edit: (y) => y.replace('routeReflectorClient: true', 'routeReflectorClient: false'),
    actions: ['keep 10.0.0.2', 'update 10.0.0.3 (settings)', 'reconcile-originated'],
    summary: { added: 0, removed: 0, reset: 0, updated: 1, unchanged: 1, restartedAll: false },
  },
  {
    name: 'a change inside a policy a peer uses updates that peer only',
    edit: (y) =>
      y.replace(
        'all: { defaultAction: accept }',
        'all: { defaultAction: accept, rules: [{ match: { originAs: [65099] }, action: reject }] }',
      ),
    actions: ['update 10.0.0.2 (policy)', 'keep 10.0.0.3', 'reconcile-originated'],
    summary: { added: 0, removed: 0, reset: 0, updated: 1, unchanged: 1, restartedAll: false },
  },
  {
    name: 'a global change (ASN) restarts everything and plans nothing else',
    edit: (y) => y.replace('asn: 65001', 'asn: 65009'),
    actions: ['restart-all asn'],
    summary: { added: 2, removed: 2, reset: 0, updated: 0, unchanged: 0, restartedAll: true },
  },
  {
    name: 'a route-reflector cluster ID set (default was the router ID) is applied in the RIB, no session touched',
    edit: (y) => `${y}routeReflector: { clusterId: 10.255.0.1 }\n`,
    actions: ['set-cluster-id 10.0.0.1 -> 10.255.0.1', 'keep 10.0.0.2', 'keep 10.0.0.3', 'reconcile-originated'],
    summary: { added: 0, removed: 0, reset: 0, updated: 0, unchanged: 2, restartedAll: false },
  },
  {
    name: 'a cluster ID set to the router ID (what was in effect) plans no cluster change',
    edit: (y) => `${y}routeReflector: { clusterId: 10.0.0.1 }\n`,
    actions: ['keep 10.0.0.2', 'keep 10.0.0.3', 'reconcile-originated'],
    summary: { added: 0, removed: 0, reset: 0, updated: 0, unchanged: 2, restartedAll: false },
  },
  {
    name: 'routeReflector without a cluster ID plans no cluster change',
    edit: (y) => `${y}routeReflector: {}\n`,
    actions: ['keep 10.0.0.2', 'keep 10.0.0.3', 'reconcile-originated'],
    summary: { added: 0, removed: 0, reset: 0, updated: 0, unchanged: 2, restartedAll: false },
  },
  {
    name: 'a router ID change still restarts everything (the default cluster ID follows it inside that restart)',
    edit: (y) => y.replace('routerId: 10.0.0.1', 'routerId: 10.0.0.9'),
    actions: ['restart-all routerId'],
    summary: { added: 2, removed: 2, reset: 0, updated: 0, unchanged: 0, restartedAll: true },
  },
  {
    name: 'a dynamic neighbour whose range is gone is removed, and the back-off is cleared',
    edit: (y) => y.replace('  - { prefix: 10.9.0.0/16, asn: external }', '  - { prefix: 10.8.0.0/16, asn: external }'),
    actions: [
      'keep 10.0.0.2',
      'keep 10.0.0.3',
      'remove 10.9.1.1 (range-gone)',
      'add-ranges 10.8.0.0/16',
      'clear-dynamic-backoff',
      'reconcile-originated',
    ],
    summary: { added: 0, removed: 1, reset: 0, updated: 0, unchanged: 2, restartedAll: false },
  },
  {
    name: 'a dynamic neighbour now configured statically is replaced by the static peer',
    edit: (y) =>
      y.replace(
        '  - { address: 10.0.0.3, asn: internal, routeReflectorClient: true }',
        '  - { address: 10.0.0.3, asn: internal, routeReflectorClient: true }\n  - { address: 10.9.1.1, asn: 65111 }',
      ),
    actions: ['keep 10.0.0.2', 'keep 10.0.0.3', 'remove 10.9.1.1 (now-static)', 'add 10.9.1.1', 'reconcile-originated'],
    summary: { added: 1, removed: 1, reset: 0, updated: 0, unchanged: 2, restartedAll: false },
  },
  {
    name: 'a TCP-MD5 password set on one peer resets that session only (an OPEN-level setting)',
    edit: (y) => y.replace('import: all, export: all }', 'import: all, export: all, password: s3cret }'),
    actions: ['reset 10.0.0.2', 'keep 10.0.0.3', 'reconcile-originated'],
    summary: { added: 0, removed: 0, reset: 1, updated: 0, unchanged: 1, restartedAll: false },
  },
  {
    name: 'a families change resets the session (capabilities are negotiated in OPEN)',
    edit: (y) => y.replace('routeReflectorClient: true }', 'routeReflectorClient: true, families: [ipv4, ipv6] }'),
    actions: ['keep 10.0.0.2', 'reset 10.0.0.3', 'reconcile-originated'],
    summary: { added: 0, removed: 0, reset: 1, updated: 0, unchanged: 1, restartedAll: false },
  },
  {
    name: 'switching a peer to another export policy updates its Adj-RIB-Out without a reset',
    edit: (y) => y.replace('import: all, export: all }', 'import: all, export: none }'),
    actions: ['update 10.0.0.2 (settings)', 'keep 10.0.0.3', 'reconcile-originated'],
    summary: { added: 0, removed: 0, reset: 0, updated: 1, unchanged: 1, restartedAll: false },
  },
  {
    name: 'a change inside a policy no peer uses touches no peer',
    edit: (y) => y.replace('none: { defaultAction: reject }', 'none: { defaultAction: accept }'),
    actions: ['keep 10.0.0.2', 'keep 10.0.0.3', 'reconcile-originated'],
    summary: { added: 0, removed: 0, reset: 0, updated: 0, unchanged: 2, restartedAll: false },
  },
  {
    name: 'a listen range added beside the old one keeps the dynamic neighbour and lets ranges retry',
    edit: (y) =>
      y.replace(
        '  - { prefix: 10.9.0.0/16, asn: external }',
        '  - { prefix: 10.9.0.0/16, asn: external }\n  - { prefix: 10.7.0.0/16, asn: external }',
      ),
    actions: [
      'keep 10.0.0.2',
      'keep 10.0.0.3',
      'add-ranges 10.7.0.0/16',
      'clear-dynamic-backoff',
      'reconcile-originated',
    ],
    summary: { added: 0, removed: 0, reset: 0, updated: 0, unchanged: 2, restartedAll: false },
  },
  {
    name: 'a changed originated prefix touches no session (the executor reconciles originated routes)',
    edit: (y) => y.replace('originate: [{ prefix: 10.244.1.0/26 }]', 'originate: [{ prefix: 10.244.2.0/26 }]'),
    actions: ['keep 10.0.0.2', 'keep 10.0.0.3', 'reconcile-originated'],
    summary: { added: 0, removed: 0, reset: 0, updated: 0, unchanged: 2, restartedAll: false },
  },
  {
    name: 'multipath is global: turning it on restarts every session',
    edit: (y) => `${y}multipath: { maxPaths: 4 }\n`,
    actions: ['restart-all multipath'],
    summary: { added: 2, removed: 2, reset: 0, updated: 0, unchanged: 0, restartedAll: true },
  },
  {
    name: 'a FIB settings change is only a warning (it applies at restart)',
    edit: (y) => `${y}fib: { enabled: true, table: 200 }\n`,
    actions: [
      'warn fib settings change takes effect on restart',
      'keep 10.0.0.2',
      'keep 10.0.0.3',
      'reconcile-originated',
    ],
    summary: { added: 0, removed: 0, reset: 0, updated: 0, unchanged: 2, restartedAll: false },
  },
];

describe('planReconfigure', () => {
  it.each(cases)('$name', ({ edit, actions, summary }) => {
    const next = cfg(edit(BASE));
    const plan = planReconfigure({ config: base, peers: running(base) }, next);
    expect(brief(plan.actions)).toEqual(actions);
    expect(plan.summary).toEqual(summary);
  });

  it('is pure: planning twice gives the same plan and leaves its inputs alone', () => {
    const next = cfg(BASE.replace('asn: 65002', 'asn: 65003'));
    const state = { config: base, peers: running(base) };
    const snapshot = JSON.stringify(state);
    expect(planReconfigure(state, next)).toEqual(planReconfigure(state, next));
    expect(JSON.stringify(state)).toBe(snapshot);
  });
});
