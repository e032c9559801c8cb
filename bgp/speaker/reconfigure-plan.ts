/**
 * planReconfigure: what a new speaker config means for the running speaker, as data. Pure and
 * table-tested, like the FSM (`step(state, event) → actions`); BgpSpeaker.reconfigure is the thin
 * executor that carries the actions out (Cease NOTIFICATIONs, new sessions, RIB updates). The agent
 * calls it on every BGPPeer/BGPConfiguration change, so "nothing changed" must plan nothing that
 * disturbs a session.
 *
 *   global setting changed (asn, routerId, multipath, listen, ...)    → restart-all (Cease 6 to all)
 *   route-reflector cluster ID changed                               → set-cluster-id (RIB re-evaluates
 *                                                                      reflection; no session impact)
 *   peer gone from config                                            → remove-peer (Cease 3)
 *   dynamic peer whose range is gone, or now configured statically    → remove-peer (Cease 3)
 *   OPEN-level setting changed (AS, timers, families, password, ...)  → reset-peer (Cease 6, new session)
 *   RIB-level setting or a policy it uses changed                     → update-peer (no session impact)
 *   anything else                                                    → keep-peer (settings swapped)
 *   new peer                                                         → add-peer
 * then listen ranges, the dynamic-neighbour back-off and originated prefixes.
 */
import type { ListenRangeConfig, PeerConfig } from '../config.js';
import type { SpeakerConfig } from './translate.js';
import { matchListenRange, peerChange, policyDefinitions, type PeerSettings } from './translate.js';

/** Global settings whose change restarts every session. */
export const GLOBAL_KEYS = ['asn', 'routerId', 'ebgpRequiresPolicy', 'multipath', 'listen'] as const;

/** The cluster ID in effect (RFC 4456 §7: the router ID unless one is configured). */
export function effectiveClusterId(c: SpeakerConfig): string {
  return c.routeReflector?.clusterId ?? c.routerId;
}

/** A running peer as the planner sees it. */
export interface RunningPeer {
  readonly address: string;
  readonly dynamic: boolean;
  readonly settings: PeerSettings;
}

export interface ReconfigureState {
  readonly config: SpeakerConfig;
  readonly peers: readonly RunningPeer[];
}

export type ReconfigureAction =
  | { readonly do: 'restart-all'; readonly changed: readonly (typeof GLOBAL_KEYS)[number][] }
  | { readonly do: 'warn'; readonly message: string }
  | { readonly do: 'set-cluster-id'; readonly from: string; readonly clusterId: string }
  | { readonly do: 'remove-peer'; readonly address: string; readonly why: 'deconfigured' | 'range-gone' | 'now-static' }
  | { readonly do: 'reset-peer'; readonly address: string; readonly peer: Readonly<PeerConfig> }
  | {
      readonly do: 'update-peer';
      readonly address: string;
      readonly peer: Readonly<PeerConfig>;
      readonly why: 'settings' | 'policy';
    }
  | { readonly do: 'keep-peer'; readonly address: string; readonly peer: Readonly<PeerConfig> }
  | { readonly do: 'add-peer'; readonly peer: Readonly<PeerConfig> }
  | { readonly do: 'add-listen-ranges'; readonly ranges: readonly Readonly<ListenRangeConfig>[] }
  | { readonly do: 'clear-dynamic-backoff' }
  | { readonly do: 'reconcile-originated' };

export interface ReconfigureSummary {
  readonly added: number;
  readonly removed: number;
  readonly reset: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly restartedAll: boolean;
}

export interface ReconfigurePlan {
  readonly actions: readonly ReconfigureAction[];
  readonly summary: ReconfigureSummary;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export function planReconfigure(current: ReconfigureState, next: SpeakerConfig): ReconfigurePlan {
  const cur = current.config;
  const changedGlobals = GLOBAL_KEYS.filter((k) => !same(cur[k], next[k]));
  if (changedGlobals.length > 0) {
    return {
      actions: [{ do: 'restart-all', changed: changedGlobals }],
      summary: {
        added: next.peers.length,
        removed: cur.peers.length,
        reset: 0,
        updated: 0,
        unchanged: 0,
        restartedAll: true,
      },
    };
  }
  const actions: ReconfigureAction[] = [];
  const fromCluster = effectiveClusterId(cur),
    toCluster = effectiveClusterId(next);
  if (fromCluster !== toCluster) actions.push({ do: 'set-cluster-id', from: fromCluster, clusterId: toCluster });
  if (!same(cur.fib, next.fib)) actions.push({ do: 'warn', message: 'fib settings change takes effect on restart' });
  const oldPolicies = new Map(policyDefinitions(cur));
  const newPolicies = new Map(policyDefinitions(next));
  const policyChanged = (name: string | undefined): boolean =>
    name !== undefined && !same(oldPolicies.get(name), newPolicies.get(name));
  const wanted = new Map(next.peers.map((p) => [p.address, p] as const));
  let added = 0,
    removed = 0,
    reset = 0,
    updated = 0,
    unchanged = 0;
  const running = new Set<string>();
  for (const peer of current.peers) {
    const addr = peer.address;
    if (peer.dynamic) {
      if (wanted.has(addr)) {
        actions.push({ do: 'remove-peer', address: addr, why: 'now-static' });
        removed++;
      } else if (!matchListenRange(next, addr)) {
        actions.push({ do: 'remove-peer', address: addr, why: 'range-gone' });
        removed++;
      } else {
        running.add(addr);
      }
      continue;
    }
    const want = wanted.get(addr);
    if (!want) {
      actions.push({ do: 'remove-peer', address: addr, why: 'deconfigured' });
      removed++;
      continue;
    }
    running.add(addr);
    const change = peerChange(peer.settings, want);
    if (change === 'reset') {
      actions.push({ do: 'reset-peer', address: addr, peer: want });
      reset++;
    } else if (change === 'rib' || policyChanged(want.import) || policyChanged(want.export)) {
      actions.push({ do: 'update-peer', address: addr, peer: want, why: change === 'rib' ? 'settings' : 'policy' });
      updated++;
    } else {
      actions.push({ do: 'keep-peer', address: addr, peer: want });
      unchanged++;
    }
  }
  for (const p of next.peers) {
    if (running.has(p.address)) continue;
    actions.push({ do: 'add-peer', peer: p });
    added++;
  }
  const oldRanges = new Set(cur.listenRanges.map((r) => JSON.stringify(r)));
  const newRanges = next.listenRanges.filter((r) => !oldRanges.has(JSON.stringify(r)));
  if (newRanges.length > 0) actions.push({ do: 'add-listen-ranges', ranges: newRanges });
  if (!same(cur.listenRanges, next.listenRanges)) actions.push({ do: 'clear-dynamic-backoff' }); // a reload lets them retry
  actions.push({ do: 'reconcile-originated' });
  return { actions, summary: { added, removed, reset, updated, unchanged, restartedAll: false } };
}

/** Originated prefixes to withdraw (gone from the config) and to (re)originate (new or changed). */
export function originatedChanges(
  cur: SpeakerConfig,
  next: SpeakerConfig,
): { withdraw: string[]; originate: SpeakerConfig['originate'][number][] } {
  const before = new Map(cur.originate.map((o) => [o.prefix, JSON.stringify(o)] as const));
  const after = new Set(next.originate.map((o) => o.prefix));
  return {
    withdraw: [...before.keys()].filter((p) => !after.has(p)),
    originate: next.originate.filter((o) => before.get(o.prefix) !== JSON.stringify(o)),
  };
}
