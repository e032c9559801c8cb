/**
 * The handle side of an assign: the handle id of a request (`<network>.<containerId>`), the checks
 * on the names it is made from, and the handle state of one assign call.
 */
import type { IPAMHandle } from '../src/model/index.js';
import { IpamRequestError } from './errors.js';
import type { IpamCore } from './ipam-core.js';
import { retrying } from './store.js';
import type { AssignRequest } from './types.js';

const HANDLE_CHARS = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** `<network>.<containerId>`, as Calico's k8s-pod-network.<id>. */
export function handleIdFor(network: string, containerId: string): string {
  return `${network}.${containerId}`;
}

/** Rejects a request whose network, container id or node name cannot make a valid handle. */
export function checkRequest(req: AssignRequest): void {
  if (!HANDLE_CHARS.test(req.network) || req.network.length > 256) {
    throw new IpamRequestError(
      `network name ${JSON.stringify(req.network)} must start with a letter or digit and hold only letters, digits, _ . - (at most 256)`,
    );
  }
  if (!HANDLE_CHARS.test(req.containerId) || req.containerId.length > 512) {
    throw new IpamRequestError(
      `container id ${JSON.stringify(req.containerId)} must start with a letter or digit and hold only letters, digits, _ . - (at most 512)`,
    );
  }
  if (req.node === '' || req.node.length > 253)
    throw new IpamRequestError(`node name ${JSON.stringify(req.node)} is empty or too long`);
}

/** The handle of one assign call: counted up before each block write, down when a write loses. */
export class HandleState {
  touched = false;
  #h: IPAMHandle | undefined;
  constructor(
    readonly ipam: IpamCore,
    readonly handleId: string,
    readonly req: AssignRequest,
    prior: IPAMHandle | undefined,
  ) {
    this.#h = prior;
  }

  async add(cidr: string, n: number): Promise<void> {
    this.touched = true;
    this.#h = await retrying(this.ipam.retry, `updating handle ${this.handleId}`, async (attempt) => {
      if (attempt > 1) this.#h = await this.ipam.bs.getHandle(this.handleId);
      const h = this.#h;
      if (!h) {
        if (n < 0) return undefined;
        return this.ipam.bs.createHandle({
          handleID: this.handleId,
          block: { [cidr]: n },
          deleted: false,
          network: this.req.network,
          containerID: this.req.containerId,
        });
      }
      const block = { ...h.spec.block, [cidr]: Math.max(0, (h.spec.block[cidr] ?? 0) + n) };
      if (block[cidr] === 0) delete block[cidr];
      return this.ipam.bs.updateHandle(h, { ...h.spec, block });
    });
  }
}
