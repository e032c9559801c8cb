import type { IPAMBlock } from '../src/model/index.js';
import { toAddr } from './addr.js';
import { addressOf, blockRange, ordinalsOfHandle, releaseOrdinals, type ReleaseItem } from './block.js';
import type { Ipam } from './ipam.js';
import { RETRY, retrying } from './store.js';
import type { ReleaseRequest, ReleaseResult, ReleasedAddress } from './types.js';

/**
 * Releases, with compare-and-swap. Order: the block first (the address is free), then the handle
 * counted down or deleted; a crash in between leaves a handle without addresses, which the next
 * release of that handle (or GC) removes.
 */
export async function releaseHandle(ipam: Ipam, handleId: string): Promise<ReleasedAddress[]> {
  const released: ReleasedAddress[] = [];
  await retrying(ipam.retry, `releasing handle ${handleId}`, async () => {
    const h = await ipam.bs.getHandle(handleId);
    if (!h) return true;
    for (const cidr of Object.keys(h.spec.block)) {
      const r = await releaseInBlock(ipam, cidr, (b) => ordinalsOfHandle(b.spec, handleId).map((ordinal) => ({ ordinal, handleId })));
      released.push(...r.released);
    }
    await ipam.bs.deleteHandle(h); // a conflict (the handle grew meanwhile) goes round again
    return true;
  });
  if (released.length > 0) ipam.log.debug({ handleId, addresses: released.map((r) => r.address) }, 'handle released');
  return released;
}

interface BlockRelease {
  readonly released: ReleasedAddress[];
  readonly skipped: { address: string; reason: string }[];
}

/** Frees what `pick` chooses in one block (re-picked on every attempt, against the fresh version). */
export async function releaseInBlock(ipam: Ipam, cidr: string, pick: (b: IPAMBlock) => ReleaseItem[]): Promise<BlockRelease> {
  return retrying(ipam.retry, `releasing addresses in block ${cidr}`, async () => {
    const b = await ipam.bs.getBlock(cidr);
    if (!b) return { released: [], skipped: [] };
    const items = pick(b);
    if (items.length === 0) return { released: [], skipped: [] };
    const cfg = (await ipam.cluster()).config;
    const out = releaseOrdinals(b.spec, items, ipam.now(), cfg.minReuseAgeSeconds * 1000);
    if (out.released.length > 0) {
      const stored = await ipam.bs.updateBlock(b, out.spec);
      ipam.noteBlock(stored, cidr);
    }
    return {
      released: out.released.map((ord) => ({ address: addressOf(cidr, ord), block: cidr, handleId: b.spec.attributes[b.spec.allocations[ord]!]?.handle_id })),
      skipped: out.skipped.map((s) => ({ address: addressOf(cidr, s.ordinal), reason: s.reason })),
    };
  });
}

/** Counts a handle down by `n` in `cidr`; deletes it when nothing is left. */
export async function countHandleDown(ipam: Ipam, handleId: string, cidr: string, n: number): Promise<void> {
  await retrying(ipam.retry, `updating handle ${handleId}`, async () => {
    const h = await ipam.bs.getHandle(handleId);
    if (!h) return true;
    const block = { ...h.spec.block };
    const left = (block[cidr] ?? 0) - n;
    if (left > 0) block[cidr] = left;
    else delete block[cidr];
    if (Object.keys(block).length === 0) await ipam.bs.deleteHandle(h);
    else await ipam.bs.updateHandle(h, { ...h.spec, block });
    return true;
  });
}

export async function releaseAddresses(ipam: Ipam, items: readonly ReleaseRequest[]): Promise<ReleaseResult> {
  const blocks = await ipam.bs.listBlocks();
  const byBlock = new Map<string, ReleaseItem[]>();
  const skipped: { address: string; reason: string }[] = [];
  for (const it of items) {
    const a = toAddr(it.address);
    if (!a) {
      skipped.push({ address: it.address, reason: 'not an IP address' });
      continue;
    }
    const b = blocks.find((x) => {
      const r = blockRange(x.spec.cidr);
      return r.family === a.family && a.value >= r.first && a.value <= r.last;
    });
    if (!b) {
      skipped.push({ address: it.address, reason: 'in no IPAM block (not allocated)' });
      continue;
    }
    const r = blockRange(b.spec.cidr);
    const list = byBlock.get(b.spec.cidr) ?? [];
    list.push({
      ordinal: Number(a.value - r.first),
      ...(it.handleId !== undefined ? { handleId: it.handleId } : {}),
      ...(it.sequenceNumber !== undefined ? { sequenceNumber: it.sequenceNumber } : {}),
    });
    byBlock.set(b.spec.cidr, list);
  }
  const released: ReleasedAddress[] = [];
  for (const [cidr, list] of byBlock) {
    const r = await releaseInBlock(ipam, cidr, () => list);
    released.push(...r.released);
    skipped.push(...r.skipped);
    const perHandle = new Map<string, number>();
    for (const x of r.released) if (x.handleId) perHandle.set(x.handleId, (perHandle.get(x.handleId) ?? 0) + 1);
    for (const [h, n] of perHandle) await countHandleDown(ipam, h, cidr, n);
  }
  return { released, skipped };
}

export { RETRY };
