import type { Datastore } from '../src/datastore/index.js';
import { AlreadyExistsError, ConflictError, NotFoundError } from '../src/datastore/index.js';
import {
  MARGAY_API_VERSION,
  blockAffinityName,
  ipamBlockName,
  ipamHandleName,
  type BlockAffinity,
  type IPAMBlock,
  type IPAMConfiguration,
  type IPAMHandle,
  type IPPool,
  type IPReservation,
  type Namespace,
  type Node,
  type Pod,
  type Resource,
} from '../src/model/index.js';
import type { BlockSpec } from './block.js';
import { IpamContendedError } from './errors.js';

/**
 * The one place IPAM does I/O: typed reads and compare-and-swap writes of IPAM objects over the
 * Datastore interface. Every write names the version it read (update/delete with resourceVersion);
 * a ConflictError goes back to the caller, who re-reads and re-plans. `retrying` wraps a
 * read-plan-write step in the bounded, jittered retry every IPAM write uses.
 */
export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly random: () => number;
}

export function isRace(err: unknown): boolean {
  return err instanceof ConflictError || err instanceof AlreadyExistsError || err instanceof NotFoundError;
}

/**
 * Runs `step` until it returns a value other than RETRY, at most maxAttempts times, sleeping a
 * jittered, growing delay (≤ 1, 2, 4 … 64 ms) between attempts. A race error thrown by `step`
 * (conflict, already exists, vanished) counts as RETRY; anything else propagates.
 */
export const RETRY = Symbol('retry');

export async function retrying<T>(
  policy: RetryPolicy,
  what: string,
  step: (attempt: number) => Promise<T | typeof RETRY>,
): Promise<T> {
  let last: unknown;
  for (let attempt = 1; attempt <= policy.maxAttempts; attempt++) {
    try {
      const r = await step(attempt);
      if (r !== RETRY) return r;
      last = undefined;
    } catch (err) {
      if (!isRace(err)) throw err;
      last = err;
    }
    if (attempt > 1) await policy.sleep(policy.random() * Math.min(64, 2 ** (attempt - 2)));
  }
  throw new IpamContendedError(what, policy.maxAttempts, last === undefined ? undefined : { cause: last });
}

const obj = <T>(r: Resource): T => r as unknown as T;

function blockObject(spec: BlockSpec): Resource {
  const r = { apiVersion: MARGAY_API_VERSION, kind: 'IPAMBlock', metadata: { name: ipamBlockName(spec.cidr) }, spec };
  return r as unknown as Resource;
}

function affinityObject(node: string, cidr: string, state: 'pending' | 'confirmed'): Resource {
  const r = {
    apiVersion: MARGAY_API_VERSION,
    kind: 'BlockAffinity',
    metadata: { name: blockAffinityName(node, cidr) },
    spec: { state, node, cidr, type: 'host', deleted: false },
  };
  return r as unknown as Resource;
}

export class BlockStore {
  constructor(readonly ds: Datastore) {}

  async listBlocks(): Promise<IPAMBlock[]> {
    return (await this.ds.list('IPAMBlock')).items.map((r) => obj<IPAMBlock>(r));
  }

  async getBlock(cidr: string): Promise<IPAMBlock | undefined> {
    const r = await this.ds.get('IPAMBlock', ipamBlockName(cidr));
    return r && obj<IPAMBlock>(r);
  }

  /** CAS: fails with ConflictError when the block changed since `block` was read. */
  async updateBlock(block: IPAMBlock, spec: BlockSpec): Promise<IPAMBlock> {
    return obj<IPAMBlock>(await this.ds.update({ ...block, spec } as unknown as Resource));
  }

  async createBlock(spec: BlockSpec): Promise<IPAMBlock> {
    return obj<IPAMBlock>(await this.ds.create(blockObject(spec)));
  }

  /** Whether the datastore can create several objects in one atomic write (Datastore.createAll). */
  get atomicCreate(): boolean {
    return this.ds.createAll !== undefined;
  }

  /**
   * The block and `node`'s confirmed affinity to it in one atomic write (only where atomicCreate):
   * AlreadyExistsError, and nothing written, when either is there already.
   */
  async createBlockWithAffinity(spec: BlockSpec, node: string): Promise<IPAMBlock> {
    const [b] = await this.ds.createAll!([blockObject(spec), affinityObject(node, spec.cidr, 'confirmed')]);
    return obj<IPAMBlock>(b!);
  }

  /** Deletes only the version read (precondition). */
  async deleteBlock(block: IPAMBlock): Promise<void> {
    await this.ds.delete('IPAMBlock', block.metadata.name, undefined, {
      resourceVersion: block.metadata.resourceVersion!,
    });
  }

  async listAffinities(): Promise<BlockAffinity[]> {
    return (await this.ds.list('BlockAffinity')).items.map((r) => obj<BlockAffinity>(r));
  }

  async getAffinity(node: string, cidr: string): Promise<BlockAffinity | undefined> {
    const r = await this.ds.get('BlockAffinity', blockAffinityName(node, cidr));
    return r && obj<BlockAffinity>(r);
  }

  async createAffinity(node: string, cidr: string, state: 'pending' | 'confirmed'): Promise<BlockAffinity> {
    return obj<BlockAffinity>(await this.ds.create(affinityObject(node, cidr, state)));
  }

  async updateAffinity(a: BlockAffinity, spec: BlockAffinity['spec']): Promise<BlockAffinity> {
    return obj<BlockAffinity>(await this.ds.update({ ...a, spec } as unknown as Resource));
  }

  async deleteAffinity(a: BlockAffinity): Promise<void> {
    await this.ds.delete('BlockAffinity', a.metadata.name, undefined, { resourceVersion: a.metadata.resourceVersion! });
  }

  async listHandles(): Promise<IPAMHandle[]> {
    return (await this.ds.list('IPAMHandle')).items.map((r) => obj<IPAMHandle>(r));
  }

  async getHandle(handleId: string): Promise<IPAMHandle | undefined> {
    const r = await this.ds.get('IPAMHandle', ipamHandleName(handleId));
    const h = r && obj<IPAMHandle>(r);
    // Two ids can only share an object name through the hash; never act on someone else's handle.
    return h && h.spec.handleID === handleId ? h : undefined;
  }

  async createHandle(spec: IPAMHandle['spec']): Promise<IPAMHandle> {
    const r = {
      apiVersion: MARGAY_API_VERSION,
      kind: 'IPAMHandle',
      metadata: { name: ipamHandleName(spec.handleID) },
      spec,
    };
    return obj<IPAMHandle>(await this.ds.create(r as unknown as Resource));
  }

  async updateHandle(h: IPAMHandle, spec: IPAMHandle['spec']): Promise<IPAMHandle> {
    return obj<IPAMHandle>(await this.ds.update({ ...h, spec } as unknown as Resource));
  }

  async deleteHandle(h: IPAMHandle): Promise<void> {
    await this.ds.delete('IPAMHandle', h.metadata.name, undefined, { resourceVersion: h.metadata.resourceVersion! });
  }

  async listPools(): Promise<IPPool[]> {
    return (await this.ds.list('IPPool')).items.map((r) => obj<IPPool>(r));
  }

  async listReservations(): Promise<IPReservation[]> {
    return (await this.ds.list('IPReservation')).items.map((r) => obj<IPReservation>(r));
  }

  async config(): Promise<IPAMConfiguration['spec']> {
    const r = await this.ds.get('IPAMConfiguration', 'default');
    const spec = r && obj<IPAMConfiguration>(r).spec;
    return spec ?? { strictAffinity: false, maxBlocksPerHost: 0, autoAllocateBlocks: true, minReuseAgeSeconds: 10 };
  }

  async getNode(name: string): Promise<Node | undefined> {
    const r = await this.ds.get('Node', name);
    return r && obj<Node>(r);
  }

  async listNodes(): Promise<Node[]> {
    return (await this.ds.list('Node')).items.map((r) => obj<Node>(r));
  }

  async getPod(namespace: string, name: string): Promise<Pod | undefined> {
    const r = await this.ds.get('Pod', name, namespace);
    return r && obj<Pod>(r);
  }

  async listPods(): Promise<Pod[]> {
    return (await this.ds.list('Pod')).items.map((r) => obj<Pod>(r));
  }

  async getNamespace(name: string): Promise<Namespace | undefined> {
    const r = await this.ds.get('Namespace', name);
    return r && obj<Namespace>(r);
  }
}
