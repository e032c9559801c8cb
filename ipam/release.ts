import type { IPAMBlock } from '../src/model/index.js';
import { toAddr } from './addr.js';
import { addressOf, blockRange, ordinalsOfHandle, releaseOrdinals, type ReleaseItem } from './block.js';
import type { IpamCore } from './ipam-core.js';
import { RETRY, retrying } from './store.js';
import type { ReleaseRequest, ReleaseResult, ReleasedAddress } from './types.js';

/**
 * Releases, with compare-and-swap. Order: the block first (the address is free), then the handle
 * counted down or deleted; a crash in between leaves a handle without addresses, which the next
 * release of that handle (or GC) removes.
 */
export async function releaseHandle(ipam: IpamCore, handleId: string): Promise<ReleasedAddress[]> {
  const released: ReleasedAddress[] = [];
  await retrying(ipam.retry, `releasing handle ${handleId}`, async () => {
    const h = await ipam.bs.getHandle(handleId);
    if (!h) return true;
    for (const cidr of Object.keys(h.spec.block)) {
      const r = await releaseInBlock(ipam, cidr, (b) =>
        ordinalsOfHandle(b.spec, handleId).map((ordinal) => ({ ordinal, handleId })),
      );
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

interface ReleaseWaiter {
  readonly pick: (b: IPAMBlock) => ReleaseItem[];
  resolve(r: BlockRelease): void;
  reject(err: unknown): void;
}

/** Per Ipam: block CIDR → releases waiting for that block (group commit, as batch.ts for assigns). */
const queues = new WeakMap<IpamCore, Map<string, ReleaseWaiter[]>>();

/**
 * Frees what `pick` chooses in one block (re-picked on every attempt, against the fresh version).
 * Concurrent releases of one block (a burst of pod deletions) share one compare-and-swap: the
 * first caller drains the queue, applying every waiting pick to the same block version.
 */
export function releaseInBlock(
  ipam: IpamCore,
  cidr: string,
  pick: (b: IPAMBlock) => ReleaseItem[],
): Promise<BlockRelease> {
  let byBlock = queues.get(ipam);
  if (!byBlock) queues.set(ipam, (byBlock = new Map()));
  const map = byBlock;
  return new Promise((resolve, reject) => {
    const q = map.get(cidr);
    if (q) {
      q.push({ pick, resolve, reject });
      return;
    }
    const fresh: ReleaseWaiter[] = [{ pick, resolve, reject }];
    map.set(cidr, fresh);
    void (async () => {
      try {
        while (fresh.length > 0) {
          const batch = fresh.splice(0, fresh.length);
          try {
            const results = await releaseBatch(
              ipam,
              cidr,
              batch.map((w) => w.pick),
            );
            batch.forEach((w, i) => w.resolve(results[i]!));
          } catch (err) {
            for (const w of batch) w.reject(err);
          }
        }
      } finally {
        map.delete(cidr);
      }
    })();
  });
}

async function releaseBatch(
  ipam: IpamCore,
  cidr: string,
  picks: readonly ((b: IPAMBlock) => ReleaseItem[])[],
): Promise<BlockRelease[]> {
  return retrying(ipam.retry, `releasing addresses in block ${cidr}`, async () => {
    const b = await ipam.bs.getBlock(cidr);
    if (!b) return picks.map(() => ({ released: [], skipped: [] }));
    const minAge = (await ipam.cluster()).config.minReuseAgeSeconds * 1000;
    let spec = b.spec;
    const results: BlockRelease[] = [];
    for (const pick of picks) {
      const items = pick({ ...b, spec });
      const before = spec;
      const out =
        items.length > 0 ? releaseOrdinals(spec, items, ipam.now(), minAge) : { spec, released: [], skipped: [] };
      spec = out.spec;
      results.push({
        released: out.released.map((ord) => ({
          address: addressOf(cidr, ord),
          block: cidr,
          handleId: before.attributes[before.allocations[ord]!]?.handle_id,
        })),
        skipped: out.skipped.map((x) => ({ address: addressOf(cidr, x.ordinal), reason: x.reason })),
      });
    }
    if (spec !== b.spec) {
      const stored = await ipam.bs.updateBlock(b, spec);
      ipam.noteBlock(stored, cidr);
    }
    return results;
  });
}

/** Counts a handle down by `n` in `cidr`; deletes it when nothing is left. */
export async function countHandleDown(ipam: IpamCore, handleId: string, cidr: string, n: number): Promise<void> {
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

export async function releaseAddresses(ipam: IpamCore, items: readonly ReleaseRequest[]): Promise<ReleaseResult> {
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
