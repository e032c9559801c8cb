import { AlreadyExistsError } from '../src/datastore/index.js';
import type { BlockAffinity, IPAMBlock } from '../src/model/index.js';
import { newBlockSpec } from './block.js';
import type { IpamCore } from './ipam-core.js';
import { RETRY, retrying } from './store.js';

/**
 * Claims block `cidr` for `node`. Returns the block when the node holds it, undefined when another
 * node won. The block object is the arbiter: its create fails if any node got there first.
 *
 * Where the datastore writes several objects atomically (memory, file: Datastore.createAll), the
 * block and the node's confirmed affinity are created in one write: no intermediate state exists,
 * and every watcher wakes once per claim instead of three times. If either is there already (another
 * node's block, or an earlier claim interrupted half-way), nothing was written and the step-by-step
 * claim below sorts it out.
 *
 * Step by step (the Kubernetes API has no multi-object write), as Calico's claimAffineBlock: a
 * pending BlockAffinity, then the IPAMBlock created with the node's affinity, then the affinity
 * confirmed (a losing node removes its pending affinity again). A crash between the steps leaves a
 * pending affinity (no block: GC removes it after the grace period; block present: the next claim
 * or GC confirms it) and never a block without a known owner.
 */
export async function claimBlock(
  ipam: IpamCore,
  node: string,
  cidr: string,
  strictAffinity: boolean,
): Promise<IPAMBlock | undefined> {
  const bs = ipam.bs;
  const spec = () => newBlockSpec(cidr, node, strictAffinity, new Date(ipam.now()).toISOString());
  if (bs.atomicCreate) {
    try {
      const block = await bs.createBlockWithAffinity(spec(), node);
      ipam.log.info({ node, cidr }, 'claimed IPAM block');
      return block;
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
    }
  }
  // Created at once, read only when it is there already (an earlier claim's, maybe interrupted): the
  // common case costs one write, not a read and a write.
  let aff: BlockAffinity | undefined;
  try {
    aff = await bs.createAffinity(node, cidr, 'pending');
  } catch (err) {
    if (!(err instanceof AlreadyExistsError)) throw err;
    aff = await bs.getAffinity(node, cidr);
  }
  let block: IPAMBlock | undefined;
  try {
    block = await bs.createBlock(spec());
    ipam.log.info({ node, cidr }, 'claimed IPAM block');
  } catch (err) {
    if (!(err instanceof AlreadyExistsError)) throw err;
    block = await bs.getBlock(cidr);
    if (!block || block.spec.affinity !== `host:${node}`) {
      if (aff && aff.spec.state === 'pending') await dropAffinity(ipam, node, cidr);
      return undefined;
    }
  }
  if (aff?.spec.state !== 'confirmed') await confirmAffinity(ipam, node, cidr, aff);
  return block;
}

/** `known`: the affinity as this claim last saw it, tried first (a stale one fails the compare-and-swap and is read again). */
async function confirmAffinity(ipam: IpamCore, node: string, cidr: string, known?: BlockAffinity): Promise<void> {
  let guess = known;
  await retrying(ipam.retry, `confirming the affinity of ${node} to ${cidr}`, async () => {
    const a = guess ?? (await ipam.bs.getAffinity(node, cidr));
    guess = undefined;
    if (!a) {
      await ipam.bs.createAffinity(node, cidr, 'confirmed');
      return true;
    }
    if (a.spec.state === 'confirmed') return true;
    await ipam.bs.updateAffinity(a, { ...a.spec, state: 'confirmed' });
    return true;
  });
}

/** Removes a node's affinity object for `cidr` (if there), retrying on races. */
export async function dropAffinity(ipam: IpamCore, node: string, cidr: string): Promise<void> {
  await retrying(ipam.retry, `removing the affinity of ${node} to ${cidr}`, async () => {
    const a = await ipam.bs.getAffinity(node, cidr);
    if (!a) return true;
    await ipam.bs.deleteAffinity(a);
    return true;
  });
}

export { RETRY };
