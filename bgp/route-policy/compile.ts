/**
 * Policy compiler: a RoutePolicy becomes a closure over parsed, numeric matchers. Evaluation is
 * copy-on-write: an accepted route whose actions change nothing returns the same RouteAttrs object, so
 * the RIB can keep the interned set. `prefixDependent` is false when no statement looks at the prefix;
 * the RIB then evaluates once per attribute set and caches the result (O(attribute sets), not prefixes).
 */
import { ConfigError, MargayError } from '../../src/errors.js';
import { parseAddressBytes } from '../../src/net/index.js';
import type { IpFamily as Family } from '../../src/net/index.js';
import {
  asPathLength,
  asPathText,
  parseCommunity,
  parseLargeCommunity,
  parsePrefix,
  prefixWithin,
  prependAs,
  type AsPathSegment,
  type RouteAttrs,
} from '../attrs/index.js';
import type {
  CommunityMatch,
  RoutePolicyActions,
  RoutePolicy,
  RoutePolicyMatch,
  PrefixList,
  PrefixListEntry,
} from './types.js';

export class RoutePolicyCompileError extends MargayError {
  readonly code = 'MGY_BGP_POLICY';
  constructor(
    readonly policy: string,
    readonly where: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`policy ${JSON.stringify(policy)} ${where}: ${detail}`, options);
  }
}

/** Facts about the route besides its attributes. */
export interface RouteContext {
  readonly family: Family;
  /** Prefix words (1 for IPv4, 4 for IPv6) and length; read only by prefix-dependent policies. */
  readonly words: ArrayLike<number>;
  readonly len: number;
  /** Locally originated. */
  readonly local: boolean;
  /** Next hop 'self' stands for (4 or 16/32 bytes). */
  readonly selfNextHop: Uint8Array;
  /** AS prepended by `prepend` without an explicit `as`. */
  readonly localAs: number;
}

export interface CompiledRoutePolicy {
  readonly name: string;
  readonly prefixDependent: boolean;
  /**
   * True when no route can be accepted (the default result rejects and no statement accepts): the RIB
   * then does no Adj-RIB-Out work for a peer with this export policy while nothing is advertised to it.
   */
  readonly rejectsAll?: boolean;
  /** Returns the (possibly new) attributes when accepted, null when rejected. */
  evaluate(attrs: RouteAttrs, ctx: RouteContext): RouteAttrs | null;
}

interface CompiledEntry {
  readonly family: Family;
  readonly words: Uint32Array;
  readonly len: number;
  readonly ge: number;
  readonly le: number;
  readonly permit: boolean;
}

export function compilePrefixEntries(entries: readonly PrefixListEntry[]): CompiledEntry[] {
  return entries.map((e) => {
    const p = parsePrefix(e.prefix);
    const max = p.family === 'ipv4' ? 32 : 128;
    const ge = e.ge ?? p.len;
    const le = e.le ?? (e.ge !== undefined ? max : p.len);
    if (ge < p.len || le < ge || le > max)
      throw new ConfigError('bgp prefix list', `bad ge/le for ${e.prefix}: need len ≤ ge ≤ le ≤ ${max}`);
    return { family: p.family, words: p.words, len: p.len, ge, le, permit: (e.action ?? 'permit') === 'permit' };
  });
}

/** First-match over entries; undefined when no entry matched. */
export function matchPrefixEntries(entries: readonly CompiledEntry[], ctx: RouteContext): boolean | undefined {
  for (const e of entries) {
    if (e.family !== ctx.family || ctx.len < e.ge || ctx.len > e.le) continue;
    if (prefixWithin(ctx.words, ctx.len, e.words, e.len)) return e.permit;
  }
  return undefined;
}

const textCache = new WeakMap<readonly AsPathSegment[], string>();
function cachedPathText(path: readonly AsPathSegment[]): string {
  let t = textCache.get(path);
  if (t === undefined) textCache.set(path, (t = asPathText(path)));
  return t;
}

function allAsns(path: readonly AsPathSegment[]): number[] {
  return path.flatMap((s) => s.asns);
}

type Pred = (a: RouteAttrs, c: RouteContext) => boolean;

function compileCommunityMatch(
  m: CommunityMatch,
  values: (a: RouteAttrs) => readonly number[],
  parse: (t: string) => number[],
  arity: number,
): Pred {
  const has = (vals: readonly number[], want: number[]): boolean => {
    outer: for (let i = 0; i + arity - 1 < vals.length; i += arity) {
      for (let k = 0; k < arity; k++) if (vals[i + k] !== want[k]) continue outer;
      return true;
    }
    return false;
  };
  const any = m.any?.map(parse),
    all = m.all?.map(parse),
    none = m.none?.map(parse);
  return (a) => {
    const v = values(a);
    if (any && !any.some((w) => has(v, w))) return false;
    if (all && !all.every((w) => has(v, w))) return false;
    if (none?.some((w) => has(v, w))) return false;
    return true;
  };
}

function compileMatch(
  m: RoutePolicyMatch,
  lists: ReadonlyMap<string, CompiledEntry[]>,
): { pred: Pred; prefixDependent: boolean } {
  const preds: Pred[] = [];
  let prefixDependent = false;
  if (m.family) {
    const f = m.family;
    preds.push((_a, c) => c.family === f);
  }
  if (m.prefix) {
    prefixDependent = true;
    const named = m.prefix.list !== undefined ? lists.get(m.prefix.list) : [];
    if (named === undefined)
      throw new ConfigError('bgp policy', `unknown prefix list ${JSON.stringify(m.prefix.list)}`);
    const inline = compilePrefixEntries(m.prefix.entries ?? []);
    const invert = m.prefix.invert === true;
    preds.push((_a, c) => (matchPrefixEntries(named, c) ?? matchPrefixEntries(inline, c) ?? false) !== invert);
  }
  if (m.community)
    preds.push(
      compileCommunityMatch(
        m.community,
        (a) => a.communities,
        (t) => [parseCommunity(t)],
        1,
      ),
    );
  if (m.largeCommunity)
    preds.push(
      compileCommunityMatch(
        m.largeCommunity,
        (a) => a.largeCommunities,
        (t) => [...parseLargeCommunity(t)],
        3,
      ),
    );
  if (m.asPath) {
    const p = m.asPath;
    const re = p.regex !== undefined ? new RegExp(p.regex) : undefined;
    preds.push((a) => {
      if (re && !re.test(cachedPathText(a.asPath))) return false;
      if (p.contains && !allAsns(a.asPath).some((x) => p.contains!.includes(x))) return false;
      const flat = allAsns(a.asPath);
      if (p.originAs && !(flat.length > 0 && p.originAs.includes(flat[flat.length - 1]!))) return false;
      if (p.neighborAs && !(flat.length > 0 && p.neighborAs.includes(flat[0]!))) return false;
      if (p.maxLength !== undefined && asPathLength(a.asPath) > p.maxLength) return false;
      if (p.empty !== undefined && (flat.length === 0) !== p.empty) return false;
      return true;
    });
  }
  if (m.nextHopIn) {
    const nets = compilePrefixEntries(m.nextHopIn.map((prefix) => ({ prefix })));
    preds.push((a) => {
      const nh = a.nextHop;
      if (nh.length === 4)
        return nets.some(
          (n) =>
            n.family === 'ipv4' &&
            prefixWithin([((nh[0]! << 24) | (nh[1]! << 16) | (nh[2]! << 8) | nh[3]!) >>> 0], 32, n.words, n.len),
        );
      if (nh.length >= 16) {
        const w = [0, 1, 2, 3].map(
          (i) => ((nh[4 * i]! << 24) | (nh[4 * i + 1]! << 16) | (nh[4 * i + 2]! << 8) | nh[4 * i + 3]!) >>> 0,
        );
        return nets.some((n) => n.family === 'ipv6' && prefixWithin(w, 128, n.words, n.len));
      }
      return false;
    });
  }
  if (m.origin) {
    const o = { igp: 0, egp: 1, incomplete: 2 }[m.origin];
    preds.push((a) => a.origin === o);
  }
  if (m.local !== undefined) {
    const l = m.local;
    preds.push((_a, c) => c.local === l);
  }
  return { pred: (a, c) => preds.every((p) => p(a, c)), prefixDependent };
}

function compileActions(x: RoutePolicyActions): (a: RouteAttrs, c: RouteContext) => RouteAttrs {
  const steps: ((a: RouteAttrs, c: RouteContext) => RouteAttrs)[] = [];
  if (x.setLocalPref !== undefined) {
    const v = x.setLocalPref;
    steps.push((a) => (a.localPref === v ? a : { ...a, localPref: v }));
  }
  if (x.setMed !== undefined) {
    const v = x.setMed;
    steps.push((a) => {
      if (v === 'remove') {
        if (a.med === undefined) return a;
        const { med: _drop, ...rest } = a;
        return rest;
      }
      return a.med === v ? a : { ...a, med: v };
    });
  }
  if (x.setOrigin) {
    const o = { igp: 0, egp: 1, incomplete: 2 }[x.setOrigin];
    steps.push((a) => (a.origin === o ? a : { ...a, origin: o }));
  }
  if (x.setCommunities) {
    const v = x.setCommunities.map(parseCommunity);
    steps.push((a) => ({ ...a, communities: v }));
  }
  if (x.removeCommunities) {
    const rm = new Set(x.removeCommunities.map(parseCommunity));
    steps.push((a) =>
      a.communities.some((c) => rm.has(c)) ? { ...a, communities: a.communities.filter((c) => !rm.has(c)) } : a,
    );
  }
  if (x.addCommunities) {
    const add = x.addCommunities.map(parseCommunity);
    steps.push((a) =>
      add.every((c) => a.communities.includes(c))
        ? a
        : { ...a, communities: [...a.communities, ...add.filter((c) => !a.communities.includes(c))] },
    );
  }
  const sameTriple = (f: readonly number[], i: number, t: readonly number[]): boolean =>
    f[i] === t[0] && f[i + 1] === t[1] && f[i + 2] === t[2];
  if (x.removeLargeCommunities) {
    const rm = x.removeLargeCommunities.map(parseLargeCommunity);
    steps.push((a) => {
      const out: number[] = [];
      for (let i = 0; i + 2 < a.largeCommunities.length; i += 3)
        if (!rm.some((t) => sameTriple(a.largeCommunities, i, t)))
          out.push(a.largeCommunities[i]!, a.largeCommunities[i + 1]!, a.largeCommunities[i + 2]!);
      return out.length === a.largeCommunities.length ? a : { ...a, largeCommunities: out };
    });
  }
  if (x.addLargeCommunities) {
    const add = x.addLargeCommunities.map(parseLargeCommunity);
    steps.push((a) => {
      const out = [...a.largeCommunities];
      for (const t of add) {
        let has = false;
        for (let i = 0; i + 2 < out.length; i += 3) if (sameTriple(out, i, t)) has = true;
        if (!has) out.push(...t);
      }
      return out.length === a.largeCommunities.length ? a : { ...a, largeCommunities: out };
    });
  }
  if (x.setNextHop !== undefined) {
    const fixed = x.setNextHop === 'self' ? undefined : parseAddressBytes(x.setNextHop);
    steps.push((a, c) => ({ ...a, nextHop: fixed ?? c.selfNextHop }));
  }
  if (x.prepend) {
    const p = x.prepend;
    steps.push((a, c) => ({ ...a, asPath: prependAs(a.asPath, p.as ?? c.localAs, p.count) }));
  }
  return (a, c) => steps.reduce((acc, s) => s(acc, c), a);
}

export function compileRoutePolicy(def: RoutePolicy, prefixLists: readonly PrefixList[] = []): CompiledRoutePolicy {
  const lists = new Map<string, CompiledEntry[]>();
  for (const l of prefixLists) {
    try {
      lists.set(l.name, compilePrefixEntries(l.entries));
    } catch (err) {
      throw new RoutePolicyCompileError(
        def.name,
        `prefix list ${JSON.stringify(l.name)}`,
        String((err as Error).message),
        { cause: err },
      );
    }
  }
  let prefixDependent = false;
  const stmts = def.statements.map((s, i) => {
    try {
      const m = compileMatch(s.match ?? {}, lists);
      prefixDependent ||= m.prefixDependent;
      return { pred: m.pred, act: compileActions(s.actions ?? {}), result: s.result ?? 'accept' };
    } catch (err) {
      throw new RoutePolicyCompileError(def.name, `statement ${s.name ?? i}`, String((err as Error).message), {
        cause: err,
      });
    }
  });
  const dflt = def.defaultResult;
  return {
    name: def.name,
    prefixDependent,
    rejectsAll: dflt !== 'accept' && stmts.every((s) => s.result !== 'accept'),
    evaluate(attrs, ctx) {
      let a = attrs;
      for (const s of stmts) {
        if (!s.pred(a, ctx)) continue;
        a = s.act(a, ctx);
        if (s.result === 'accept') return a;
        if (s.result === 'reject') return null;
      }
      return dflt === 'accept' ? a : null;
    },
  };
}

const compiledByDef = new WeakMap<RoutePolicy, { lists: readonly PrefixList[]; compiled: CompiledRoutePolicy }>();

/**
 * compileRoutePolicy, once per definition object (and prefix lists): a speaker gives every peer of a
 * policy the same object, so a reconfigure that changes it (a node's export policy names each of its
 * blocks) compiles it once, not once per peer. A compiled policy holds no state, so sharing is safe.
 */
export function compileRoutePolicyOnce(def: RoutePolicy, prefixLists: readonly PrefixList[] = []): CompiledRoutePolicy {
  const hit = compiledByDef.get(def);
  if (hit && hit.lists === prefixLists) return hit.compiled;
  const compiled = compileRoutePolicy(def, prefixLists);
  compiledByDef.set(def, { lists: prefixLists, compiled });
  return compiled;
}
