import type { BlockAffinity, IPAMBlock, IPAMHandle, Node, Pod } from '../src/model/index.js';
import { podIPs } from '../src/model/index.js';
import { toAddr } from './addr.js';
import { addressOf, blockRange, blockSize } from './block.js';
import type { UsablePool } from './pools.js';
import { poolOfBlock } from './plan.js';

/**
 * `ipam check`, pure: over one snapshot of blocks, handles, affinities, pods and nodes, find
 * - duplicate-address: one address allocated in two blocks, or used by two pods;
 * - leaked-allocation: allocated to a pod that no longer exists;
 * - orphaned-allocation: allocated to a handle that has no IPAMHandle object;
 * - orphaned-handle: an IPAMHandle holding no address in any block;
 * - handle-count-mismatch: a handle's per-block count differs from the block (an interrupted
 *   assign; GC rewrites the counts);
 * - pending-affinity / affinity-without-block / block-of-unknown-node: claim or node-GC leftovers;
 * - pod-address-not-allocated: a pod reports an address of a pool that IPAM does not hold for it.
 * The report is JSON-serialisable; `releasable` problems carry what a safe release needs
 * (address + handle + sequence number, or handle + version), so `release --from-report` frees
 * nothing that changed since.
 */
export const REPORT_FORMAT = 'margay.dev/ipam-check/v1';

export type ProblemKind =
  | 'duplicate-address'
  | 'leaked-allocation'
  | 'orphaned-allocation'
  | 'orphaned-handle'
  | 'handle-count-mismatch'
  | 'pending-affinity'
  | 'affinity-without-block'
  | 'block-of-unknown-node'
  | 'pod-address-not-allocated';

export interface CheckProblem {
  readonly kind: ProblemKind;
  readonly message: string;
  readonly address?: string;
  readonly block?: string;
  readonly handleId?: string;
  readonly sequenceNumber?: number;
  readonly handleVersion?: string;
  readonly pod?: string;
  readonly node?: string;
  /** True when `release --from-report` (and GC) may act on it. */
  readonly releasable: boolean;
}

export interface CheckReport {
  readonly format: typeof REPORT_FORMAT;
  readonly generatedAt: string;
  readonly summary: {
    readonly blocks: number;
    readonly allocations: number;
    readonly handles: number;
    readonly problems: Readonly<Partial<Record<ProblemKind, number>>>;
  };
  readonly problems: readonly CheckProblem[];
}

export interface Snapshot {
  readonly blocks: readonly IPAMBlock[];
  readonly handles: readonly IPAMHandle[];
  readonly affinities: readonly BlockAffinity[];
  /** Undefined when pods are not known (then leaks by pod are not judged). */
  readonly pods: readonly Pod[] | undefined;
  readonly nodes: readonly Node[] | undefined;
  readonly pools: readonly UsablePool[];
}

export interface Allocation {
  readonly address: string;
  readonly block: string;
  readonly ordinal: number;
  readonly handleId: string | undefined;
  readonly sequenceNumber: number | undefined;
  readonly namespace: string | undefined;
  readonly pod: string | undefined;
  readonly node: string | undefined;
}

export function* allocationsOf(b: IPAMBlock): Generator<Allocation> {
  for (let ord = 0; ord < b.spec.allocations.length; ord++) {
    const ai = b.spec.allocations[ord];
    if (ai === null || ai === undefined) continue;
    const attr = b.spec.attributes[ai];
    yield {
      address: addressOf(b.spec.cidr, ord),
      block: b.spec.cidr,
      ordinal: ord,
      handleId: attr?.handle_id,
      sequenceNumber: b.spec.sequenceNumberForAllocation?.[String(ord)],
      namespace: attr?.secondary?.namespace,
      pod: attr?.secondary?.pod,
      node: attr?.secondary?.node,
    };
  }
}

export function checkSnapshot(s: Snapshot, now: Date): CheckReport {
  const problems: CheckProblem[] = [];
  const add = (p: CheckProblem) => problems.push(p);
  const handles = new Map(s.handles.map((h) => [h.spec.handleID, h]));
  const pods = s.pods && new Map(s.pods.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p]));
  const byAddress = new Map<string, Allocation[]>();
  const perHandleBlock = new Map<string, number>();
  let allocations = 0;
  for (const b of s.blocks) {
    for (const a of allocationsOf(b)) {
      allocations++;
      const list = byAddress.get(a.address) ?? [];
      list.push(a);
      byAddress.set(a.address, list);
      const hk = `${a.handleId ?? ''}\u0000${a.block}`;
      perHandleBlock.set(hk, (perHandleBlock.get(hk) ?? 0) + 1);
      const podKey = a.namespace && a.pod ? `${a.namespace}/${a.pod}` : undefined;
      const base = {
        address: a.address,
        block: a.block,
        ...(a.handleId ? { handleId: a.handleId } : {}),
        ...(a.sequenceNumber !== undefined ? { sequenceNumber: a.sequenceNumber } : {}),
        ...(podKey ? { pod: podKey } : {}),
        ...(a.node ? { node: a.node } : {}),
      };
      if (pods && podKey && !pods.has(podKey)) {
        add({
          kind: 'leaked-allocation',
          message: `${a.address} is allocated to pod ${podKey}, which does not exist`,
          ...base,
          releasable: a.sequenceNumber !== undefined,
        });
      } else if (!a.handleId || !handles.has(a.handleId)) {
        add({
          kind: 'orphaned-allocation',
          message: `${a.address} is allocated to handle ${a.handleId ?? '(none)'}, which does not exist`,
          ...base,
          releasable: podKey === undefined && a.sequenceNumber !== undefined,
        });
      }
    }
  }
  for (const [address, list] of byAddress) {
    if (list.length > 1)
      add({
        kind: 'duplicate-address',
        message: `${address} is allocated ${list.length} times (blocks ${list.map((a) => a.block).join(', ')})`,
        address,
        releasable: false,
      });
  }
  if (s.pods) {
    const users = new Map<string, string[]>();
    for (const p of s.pods) {
      if (p.spec?.hostNetwork) continue;
      for (const ip of podIPs(p))
        users.set(ip, [...(users.get(ip) ?? []), `${p.metadata.namespace}/${p.metadata.name}`]);
    }
    for (const [ip, who] of users) {
      if (who.length > 1)
        add({
          kind: 'duplicate-address',
          message: `${ip} is used by ${who.length} pods: ${who.join(', ')}`,
          address: ip,
          releasable: false,
        });
      const a = toAddr(ip);
      const inPool =
        a && s.pools.some((p) => p.range.family === a.family && a.value >= p.range.first && a.value <= p.range.last);
      const held = byAddress.get(toAddr(ip) ? ip : '')?.some((x) => who.includes(`${x.namespace}/${x.pod}`));
      if (inPool && !held)
        add({
          kind: 'pod-address-not-allocated',
          message: `pod ${who.join(', ')} uses ${ip}, which IPAM does not hold for it`,
          address: ip,
          pod: who[0]!,
          releasable: false,
        });
    }
  }
  for (const h of s.handles) {
    const holds =
      Object.keys(h.spec.block).some((cidr) => (perHandleBlock.get(`${h.spec.handleID}\u0000${cidr}`) ?? 0) > 0) ||
      [...perHandleBlock.keys()].some((k) => k.startsWith(`${h.spec.handleID}\u0000`));
    if (!holds) {
      add({
        kind: 'orphaned-handle',
        message: `handle ${h.spec.handleID} holds no address`,
        handleId: h.spec.handleID,
        handleVersion: h.metadata.resourceVersion!,
        releasable: true,
      });
      continue;
    }
    for (const [cidr, n] of Object.entries(h.spec.block)) {
      const actual = perHandleBlock.get(`${h.spec.handleID}\u0000${cidr}`) ?? 0;
      if (actual !== n)
        add({
          kind: 'handle-count-mismatch',
          message: `handle ${h.spec.handleID} counts ${n} in ${cidr}, the block holds ${actual}`,
          handleId: h.spec.handleID,
          handleVersion: h.metadata.resourceVersion!,
          block: cidr,
          releasable: true,
        });
    }
  }
  const blockByCidr = new Map(s.blocks.map((b) => [b.spec.cidr, b]));
  for (const a of s.affinities) {
    const b = blockByCidr.get(a.spec.cidr);
    if (a.spec.state === 'pending')
      add({
        kind: 'pending-affinity',
        message: `affinity of ${a.spec.node} to ${a.spec.cidr} is still pending (an interrupted claim)`,
        node: a.spec.node,
        block: a.spec.cidr,
        releasable: false,
      });
    else if (!b || b.spec.affinity !== `host:${a.spec.node}`)
      add({
        kind: 'affinity-without-block',
        message: `affinity of ${a.spec.node} to ${a.spec.cidr} has no block affine to that node`,
        node: a.spec.node,
        block: a.spec.cidr,
        releasable: false,
      });
  }
  if (s.nodes && s.nodes.length > 0) {
    const nodes = new Set(s.nodes.map((n) => n.metadata.name));
    for (const b of s.blocks) {
      const host = b.spec.affinity?.startsWith('host:') ? b.spec.affinity.slice(5) : undefined;
      if (host && !nodes.has(host))
        add({
          kind: 'block-of-unknown-node',
          message: `block ${b.spec.cidr} is affine to node ${host}, which does not exist`,
          node: host,
          block: b.spec.cidr,
          releasable: false,
        });
    }
  }
  const counts: Partial<Record<ProblemKind, number>> = {};
  for (const p of problems) counts[p.kind] = (counts[p.kind] ?? 0) + 1;
  return {
    format: REPORT_FORMAT,
    generatedAt: now.toISOString(),
    summary: { blocks: s.blocks.length, allocations, handles: s.handles.length, problems: counts },
    problems,
  };
}

export interface UsageRow {
  readonly name: string;
  readonly cidr?: string;
  readonly size: number | bigint;
  readonly allocated: number;
  readonly blocks?: number;
  readonly node?: string;
}

export interface UsageReport {
  readonly pools: UsageRow[];
  readonly blocks: UsageRow[];
  readonly nodes: UsageRow[];
}

/** Usage per pool, block and node (`ipam show`). */
export function usageOf(pools: readonly UsablePool[], blocks: readonly IPAMBlock[]): UsageReport {
  const blockRows: UsageRow[] = [];
  const nodeRows = new Map<string, { allocated: number; blocks: number; size: number }>();
  const poolAlloc = new Map<string, { allocated: number; blocks: number }>();
  for (const b of [...blocks].sort((x, y) =>
    blockRange(x.spec.cidr).first < blockRange(y.spec.cidr).first ? -1 : 1,
  )) {
    const allocated = b.spec.allocations.filter((a) => a !== null).length;
    const node = b.spec.affinity?.replace(/^host:/, '');
    const size = blockSize(b.spec.cidr);
    blockRows.push({ name: b.metadata.name, cidr: b.spec.cidr, size, allocated, ...(node ? { node } : {}) });
    const n = nodeRows.get(node ?? '(none)') ?? { allocated: 0, blocks: 0, size: 0 };
    nodeRows.set(node ?? '(none)', { allocated: n.allocated + allocated, blocks: n.blocks + 1, size: n.size + size });
    const p = poolOfBlock(b.spec.cidr, pools);
    if (p) {
      const u = poolAlloc.get(p.pool.metadata.name) ?? { allocated: 0, blocks: 0 };
      poolAlloc.set(p.pool.metadata.name, { allocated: u.allocated + allocated, blocks: u.blocks + 1 });
    }
  }
  return {
    pools: pools.map((p) => ({
      name: p.pool.metadata.name,
      cidr: p.range.cidr,
      size: p.range.last - p.range.first + 1n,
      ...(poolAlloc.get(p.pool.metadata.name) ?? { allocated: 0, blocks: 0 }),
    })),
    blocks: blockRows,
    nodes: [...nodeRows]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, r]) => ({ name, size: r.size, allocated: r.allocated, blocks: r.blocks })),
  };
}
