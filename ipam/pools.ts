import type { IPPool } from '../src/model/index.js';
import { compileSelector, parseSelector, type CompiledSelector } from '../src/selector/index.js';
import { toRange, type IpFamily, type Range } from './addr.js';
import { IpamNoPoolError, IpamRequestError } from './errors.js';

/**
 * Pool choice, pure. Order (as Calico's CNI plugin + IPAM): the pod's annotation
 * (`margay.dev/ipv4pools` / `ipv6pools`), else its namespace's, else the CNI config's pool list;
 * a pool named there (by name or CIDR) must exist, be enabled, allow the use and is used whatever its
 * nodeSelector. Without any of those: every enabled pool of the family whose nodeSelector matches
 * the node. Overlapping pools (refused at apply time, but a hand-written file can still hold them):
 * the older one (creationTimestamp, then name) is used and the other is ignored.
 */
export const ANNOTATION = {
  ipv4Pools: 'margay.dev/ipv4pools',
  ipv6Pools: 'margay.dev/ipv6pools',
  ipAddrs: 'margay.dev/ipAddrs',
} as const;

export type PoolUse = 'Workload' | 'Tunnel';
export type PoolSource = 'pod-annotation' | 'namespace-annotation' | 'cni-config' | 'node-selector';

export interface UsablePool {
  readonly pool: IPPool;
  readonly range: Range;
}

export interface PoolChoiceInput {
  readonly family: IpFamily;
  readonly use: PoolUse;
  readonly pools: readonly UsablePool[];
  readonly nodeName: string;
  readonly nodeLabels: Readonly<Record<string, string>>;
  readonly podAnnotations?: Readonly<Record<string, string>> | undefined;
  readonly namespaceAnnotations?: Readonly<Record<string, string>> | undefined;
  /** Pool names or CIDRs from the CNI network config (`ipam.ipv4_pools` / `ipv6_pools`). */
  readonly cniPools?: readonly string[] | undefined;
}

export interface PoolChoice {
  readonly pools: readonly UsablePool[];
  readonly source: PoolSource;
}

export interface PoolConflict {
  readonly ignored: string;
  readonly kept: string;
  readonly message: string;
}

function poolOrder(a: IPPool, b: IPPool): number {
  const ta = a.metadata.creationTimestamp ?? '',
    tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

/** Parses every pool and drops the newer of any two that overlap (reported in `conflicts`). */
export function usablePools(pools: readonly IPPool[]): { pools: UsablePool[]; conflicts: PoolConflict[] } {
  const out: UsablePool[] = [];
  const conflicts: PoolConflict[] = [];
  for (const pool of [...pools].sort(poolOrder)) {
    const range = toRange(pool.spec.cidr);
    if (!range) continue;
    const clash = out.find(
      (o) => o.range.family === range.family && o.range.first <= range.last && range.first <= o.range.last,
    );
    if (clash) {
      conflicts.push({
        ignored: pool.metadata.name,
        kept: clash.pool.metadata.name,
        message: `IPPool ${JSON.stringify(pool.metadata.name)} (${pool.spec.cidr}) overlaps IPPool ${JSON.stringify(clash.pool.metadata.name)} (${clash.pool.spec.cidr}); ignoring the newer one`,
      });
      continue;
    }
    out.push({ pool, range });
  }
  return { pools: out, conflicts };
}

/** Parses a JSON list-of-strings annotation; a malformed one is a request error naming it. */
export function parseListAnnotation(
  annotations: Readonly<Record<string, string>> | undefined,
  key: string,
  where: string,
): string[] | undefined {
  const text = annotations?.[key];
  if (text === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new IpamRequestError(
      `${where} annotation ${key} is not JSON (expected a list like ["pool-a"]): ${JSON.stringify(text.slice(0, 80))}`,
      { cause: err },
    );
  }
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string') || v.length > 64) {
    throw new IpamRequestError(
      `${where} annotation ${key} must be a JSON list of at most 64 strings, got ${JSON.stringify(text.slice(0, 80))}`,
    );
  }
  return v as string[];
}

const selectorCache = new Map<string, CompiledSelector>();

function selectorFor(text: string): CompiledSelector {
  let s = selectorCache.get(text);
  if (!s) {
    s = compileSelector(parseSelector(text));
    if (selectorCache.size > 1000) selectorCache.clear();
    selectorCache.set(text, s);
  }
  return s;
}

function allows(p: IPPool, use: PoolUse): boolean {
  return p.spec.allowedUses.includes(use);
}

/** Resolves names/CIDRs to pools of `family`; entries of the other family are skipped. */
function resolveRequested(names: readonly string[], input: PoolChoiceInput, where: string): UsablePool[] {
  const out: UsablePool[] = [];
  for (const n of names) {
    const asRange = toRange(n);
    if (asRange && asRange.family !== input.family) continue;
    const found = input.pools.find(
      (p) => p.pool.metadata.name === n || (asRange !== undefined && p.range.cidr === asRange.cidr),
    );
    if (!found)
      throw new IpamNoPoolError(
        `${where} names IP pool ${JSON.stringify(n)}, which does not exist; create it or fix the list`,
      );
    if (found.range.family !== input.family) continue;
    if (found.pool.spec.disabled)
      throw new IpamNoPoolError(`${where} names IP pool ${JSON.stringify(n)}, which is disabled`);
    if (!allows(found.pool, input.use)) {
      throw new IpamNoPoolError(
        `${where} names IP pool ${JSON.stringify(n)}, whose allowedUses (${found.pool.spec.allowedUses.join(', ')}) exclude ${input.use}`,
      );
    }
    if (!out.includes(found)) out.push(found);
  }
  return out;
}

/**
 * The candidate pools for one family, in the order to try them, and where the choice came from.
 * Returns an empty list only when a request named pools of the other family only (e.g. an IPv6 list
 * for IPv4): the caller then assigns no address of this family.
 */
export function choosePools(input: PoolChoiceInput): PoolChoice {
  const key = input.family === 'ipv4' ? ANNOTATION.ipv4Pools : ANNOTATION.ipv6Pools;
  const v = input.family === 'ipv4' ? 'IPv4' : 'IPv6';
  const fromPod = parseListAnnotation(input.podAnnotations, key, 'the pod');
  if (fromPod)
    return { pools: resolveRequested(fromPod, input, `the pod annotation ${key}`), source: 'pod-annotation' };
  const fromNs = parseListAnnotation(input.namespaceAnnotations, key, 'the namespace');
  if (fromNs)
    return {
      pools: resolveRequested(fromNs, input, `the namespace annotation ${key}`),
      source: 'namespace-annotation',
    };
  if (input.cniPools && input.cniPools.length > 0) {
    return { pools: resolveRequested(input.cniPools, input, 'the CNI network config'), source: 'cni-config' };
  }
  const pools = input.pools.filter(
    (p) =>
      p.range.family === input.family &&
      !p.pool.spec.disabled &&
      allows(p.pool, input.use) &&
      selectorFor(p.pool.spec.nodeSelector)(input.nodeLabels),
  );
  if (pools.length === 0) {
    const all = input.pools.filter((p) => p.range.family === input.family);
    const why =
      all.length === 0
        ? `there is no ${v} IPPool; create one (margayctl apply -f pool.yaml)`
        : `none of the ${v} pools (${all.map((p) => `${p.pool.metadata.name}${p.pool.spec.disabled ? ' disabled' : ''} nodeSelector ${p.pool.spec.nodeSelector}`).join('; ')}) is enabled for ${input.use} and selects node ${input.nodeName}`;
    throw new IpamNoPoolError(`no ${v} pool for node ${input.nodeName}: ${why}`);
  }
  return { pools, source: 'node-selector' };
}

/** The pool (usable or not) containing address `value`, if any. */
export function poolContaining(pools: readonly UsablePool[], family: IpFamily, value: bigint): UsablePool | undefined {
  return pools.find((p) => p.range.family === family && value >= p.range.first && value <= p.range.last);
}
