import type { IPAMBlock } from '../src/model/index.js';
import {
  allocationsOf,
  checkSnapshot,
  REPORT_FORMAT,
  type CheckProblem,
  type CheckReport,
  type Snapshot,
} from './check.js';
import { dropAffinity } from './claim.js';
import { IpamRequestError } from './errors.js';
import type { IpamCore } from './ipam-core.js';
import { releaseAddresses, releaseHandle } from './release.js';
import { retrying } from './store.js';
import type { CniAttachment, ReleasedAddress } from './types.js';

/**
 * Garbage collection and repair, built on check.ts: load one snapshot, judge it purely, then act
 * through the same CAS paths as assign/release. Every release names what it saw (handle, sequence
 * number, handle version), so nothing that changed since the snapshot is touched.
 */
export async function loadSnapshot(ipam: IpamCore): Promise<Snapshot> {
  const [blocks, handles, affinities, pods, nodes, cluster] = await Promise.all([
    ipam.bs.listBlocks(),
    ipam.bs.listHandles(),
    ipam.bs.listAffinities(),
    ipam.bs.listPods(),
    ipam.bs.listNodes(),
    ipam.cluster(),
  ]);
  return { blocks, handles, affinities, pods, nodes, pools: cluster.pools };
}

export interface GcOptions {
  /** A problem must be seen for this long (across gc() calls of this Ipam) before it is acted on. Default 60 s. */
  readonly gracePeriodMs?: number;
  /** Release affinities of nodes that no longer exist (only when at least one Node object exists). Default true. */
  readonly deletedNodes?: boolean;
}

export interface GcResult {
  readonly releasedAddresses: readonly ReleasedAddress[];
  readonly deletedHandles: readonly string[];
  readonly releasedNodes: readonly string[];
  readonly removedAffinities: readonly string[];
  /** Problems seen but still inside the grace period. */
  readonly waiting: number;
}

/** In-memory "first seen" times of GC candidates, kept by the Ipam between gc() calls. */
export type GcMemory = Map<string, number>;

function candidateKey(p: CheckProblem): string | undefined {
  switch (p.kind) {
    case 'leaked-allocation':
    case 'orphaned-allocation':
      return p.releasable ? `${p.kind}|${p.address}|${p.sequenceNumber}` : undefined;
    case 'orphaned-handle':
    case 'handle-count-mismatch':
      return `${p.kind}|${p.handleId}|${p.handleVersion}`;
    case 'pending-affinity':
    case 'affinity-without-block':
    case 'block-of-unknown-node':
      return `${p.kind}|${p.node}|${p.block}`;
    default:
      return undefined;
  }
}

export async function runGc(ipam: IpamCore, memory: GcMemory, opts: GcOptions = {}): Promise<GcResult> {
  const grace = opts.gracePeriodMs ?? 60_000;
  const now = ipam.now();
  const report = checkSnapshot(await loadSnapshot(ipam), new Date(now));
  const due: CheckProblem[] = [];
  const seen = new Set<string>();
  for (const p of report.problems) {
    const k = candidateKey(p);
    if (!k || (p.kind === 'block-of-unknown-node' && opts.deletedNodes === false)) continue;
    seen.add(k);
    const first = memory.get(k) ?? now;
    memory.set(k, first);
    if (now - first >= grace) due.push(p);
  }
  for (const k of memory.keys()) if (!seen.has(k)) memory.delete(k);
  const result = await actOn(ipam, due);
  for (const p of due) memory.delete(candidateKey(p)!);
  return { ...result, waiting: seen.size - due.length };
}

async function actOn(ipam: IpamCore, problems: readonly CheckProblem[]): Promise<Omit<GcResult, 'waiting'>> {
  const allocs = problems.filter((p) => p.kind === 'leaked-allocation' || p.kind === 'orphaned-allocation');
  const rel =
    allocs.length > 0
      ? await releaseAddresses(
          ipam,
          allocs.map((p) => ({ address: p.address!, handleId: p.handleId, sequenceNumber: p.sequenceNumber })),
        )
      : { released: [], skipped: [] };
  const deletedHandles: string[] = [];
  // A released allocation's handle may still count other blocks (an interrupted assign): recount it
  // from the blocks, which deletes it when it holds nothing any more.
  for (const handleId of new Set(rel.released.map((r) => r.handleId).filter((h): h is string => h !== undefined))) {
    const h = await ipam.bs.getHandle(handleId);
    if (h && (await recountHandle(ipam, handleId, h.metadata.resourceVersion!)) === 'deleted')
      deletedHandles.push(handleId);
  }
  for (const p of problems.filter((x) => x.kind === 'orphaned-handle')) {
    if (await deleteEmptyHandle(ipam, p.handleId!, p.handleVersion!)) deletedHandles.push(p.handleId!);
  }
  for (const id of new Set(
    problems.filter((x) => x.kind === 'handle-count-mismatch').map((p) => `${p.handleId}\u0000${p.handleVersion}`),
  )) {
    const [handleId, version] = id.split('\u0000') as [string, string];
    await recountHandle(ipam, handleId, version);
  }
  const releasedNodes = [...new Set(problems.filter((p) => p.kind === 'block-of-unknown-node').map((p) => p.node!))];
  for (const node of releasedNodes) await releaseNode(ipam, node);
  const removedAffinities: string[] = [];
  for (const p of problems.filter((x) => x.kind === 'pending-affinity' || x.kind === 'affinity-without-block')) {
    const b = await ipam.bs.getBlock(p.block!);
    if (b?.spec.affinity === `host:${p.node}`) {
      if (p.kind === 'pending-affinity') await confirmExisting(ipam, p.node!, p.block!);
      continue;
    }
    await dropAffinity(ipam, p.node!, p.block!);
    removedAffinities.push(`${p.node}/${p.block}`);
  }
  return { releasedAddresses: rel.released, deletedHandles, releasedNodes, removedAffinities };
}

async function confirmExisting(ipam: IpamCore, node: string, cidr: string): Promise<void> {
  await retrying(ipam.retry, `confirming the affinity of ${node} to ${cidr}`, async () => {
    const a = await ipam.bs.getAffinity(node, cidr);
    if (a && a.spec.state === 'pending') await ipam.bs.updateAffinity(a, { ...a.spec, state: 'confirmed' });
    return true;
  });
}

/** Deletes a handle only if it is still at `version` and still holds no address in any block. */
async function deleteEmptyHandle(ipam: IpamCore, handleId: string, version: string): Promise<boolean> {
  const h = await ipam.bs.getHandle(handleId);
  if (!h || h.metadata.resourceVersion !== version) return false;
  for (const b of await ipam.bs.listBlocks()) {
    for (const a of allocationsOf(b)) if (a.handleId === handleId) return false;
  }
  try {
    await ipam.bs.deleteHandle(h);
  } catch (err) {
    if (
      (err as { code?: string }).code === 'MGY_DATASTORE_CONFLICT' ||
      (err as { code?: string }).code === 'MGY_DATASTORE_NOT_FOUND'
    )
      return false;
    throw err;
  }
  return true;
}

/**
 * Rewrites a handle's per-block counts from the blocks, only if the handle is still at `version`
 * (an assign in flight changes it first). Counts are what release visits, so a block where the
 * handle holds addresses is never dropped.
 */
async function recountHandle(
  ipam: IpamCore,
  handleId: string,
  version: string,
): Promise<'deleted' | 'recounted' | 'unchanged'> {
  const h = await ipam.bs.getHandle(handleId);
  if (!h || h.metadata.resourceVersion !== version) return 'unchanged';
  const block: Record<string, number> = {};
  for (const b of await ipam.bs.listBlocks()) {
    for (const a of allocationsOf(b)) if (a.handleId === handleId) block[a.block] = (block[a.block] ?? 0) + 1;
  }
  const same =
    Object.keys(block).length === Object.keys(h.spec.block).length &&
    Object.entries(block).every(([k, n]) => h.spec.block[k] === n);
  if (same) return 'unchanged';
  try {
    if (Object.keys(block).length === 0) {
      await ipam.bs.deleteHandle(h);
      return 'deleted';
    }
    await ipam.bs.updateHandle(h, { ...h.spec, block });
    return 'recounted';
  } catch (err) {
    if (
      (err as { code?: string }).code === 'MGY_DATASTORE_CONFLICT' ||
      (err as { code?: string }).code === 'MGY_DATASTORE_NOT_FOUND'
    )
      return 'unchanged';
    throw err;
  }
}

/**
 * A node is gone: its empty blocks are deleted, its non-empty ones lose their affinity (other nodes
 * may then borrow from them; the addresses stay allocated until released), its affinities go.
 */
export async function releaseNode(
  ipam: IpamCore,
  node: string,
): Promise<{ deletedBlocks: string[]; unaffinedBlocks: string[] }> {
  const deletedBlocks: string[] = [],
    unaffinedBlocks: string[] = [];
  for (const b0 of await ipam.bs.listBlocks()) {
    if (b0.spec.affinity !== `host:${node}`) continue;
    const cidr = b0.spec.cidr;
    await retrying(ipam.retry, `releasing block ${cidr} of node ${node}`, async (attempt) => {
      const b: IPAMBlock | undefined = attempt === 1 ? b0 : await ipam.bs.getBlock(cidr);
      if (!b || b.spec.affinity !== `host:${node}`) return true;
      if (b.spec.allocations.every((a) => a === null)) {
        await ipam.bs.deleteBlock(b);
        deletedBlocks.push(cidr);
      } else {
        const { affinity: _a, affinityClaimTime: _t, ...rest } = b.spec;
        await ipam.bs.updateBlock(b, rest);
        unaffinedBlocks.push(cidr);
      }
      ipam.noteBlock(undefined, cidr);
      return true;
    });
    await dropAffinity(ipam, node, cidr);
  }
  for (const a of await ipam.bs.listAffinities()) if (a.spec.node === node) await dropAffinity(ipam, node, a.spec.cidr);
  ipam.log.info({ node, deletedBlocks, unaffinedBlocks }, 'released the IPAM blocks of a deleted node');
  return { deletedBlocks, unaffinedBlocks };
}

/**
 * CNI GC (spec 1.1): releases every attachment of `network` that is not in `valid`: handles made
 * for that network, and allocations of such handles that lost their handle object.
 */
export async function cniGc(ipam: IpamCore, network: string, valid: readonly CniAttachment[]): Promise<string[]> {
  const keep = new Set(valid.map((v) => `${network}.${v.containerId}`));
  const stale = new Set<string>();
  for (const h of await ipam.bs.listHandles()) {
    const net = h.spec.network ?? (h.spec.handleID.startsWith(`${network}.`) ? network : undefined);
    if (net === network && !keep.has(h.spec.handleID)) stale.add(h.spec.handleID);
  }
  const orphans: { address: string; handleId: string; sequenceNumber: number | undefined }[] = [];
  const known = new Set((await ipam.bs.listHandles()).map((h) => h.spec.handleID));
  for (const b of await ipam.bs.listBlocks()) {
    for (const a of allocationsOf(b)) {
      if (a.handleId?.startsWith(`${network}.`) && !keep.has(a.handleId) && !known.has(a.handleId))
        orphans.push({ address: a.address, handleId: a.handleId, sequenceNumber: a.sequenceNumber });
    }
  }
  for (const h of stale) await releaseHandle(ipam, h);
  if (orphans.length > 0) await releaseAddresses(ipam, orphans);
  return [...stale, ...new Set(orphans.map((o) => o.handleId))];
}

/** `release --from-report`: acts on the releasable problems of a check report, re-checking each. */
export async function releaseFromReport(ipam: IpamCore, report: unknown): Promise<Omit<GcResult, 'waiting'>> {
  const r = report as Partial<CheckReport> | null;
  if (!r || typeof r !== 'object' || r.format !== REPORT_FORMAT || !Array.isArray(r.problems)) {
    throw new IpamRequestError(
      `not a margayctl ipam check report (expected "format": "${REPORT_FORMAT}" and a problems list)`,
    );
  }
  const problems = r.problems.filter(
    (p): p is CheckProblem => typeof p === 'object' && p !== null && (p as CheckProblem).releasable === true,
  );
  // Leaked allocations: only if the pod is still gone now.
  const current = checkSnapshot(await loadSnapshot(ipam), new Date(ipam.now()));
  const stillBad = new Set(current.problems.map((p) => candidateKey(p)).filter((k): k is string => k !== undefined));
  return actOn(
    ipam,
    problems.filter((p) => {
      const k = candidateKey(p);
      return k !== undefined && stillBad.has(k);
    }),
  );
}
