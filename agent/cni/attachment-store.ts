import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { MargayError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { sha1Hex } from '../calc/index.js';

export class CniStateError extends MargayError {
  readonly code = 'MGY_CNI_STATE';
}

/**
 * What the CNI server made for each attachment (network + container + interface), one small JSON
 * file each under the agent's state directory, written atomically (temp + rename). It is how DEL
 * and GC know which veth and handle belong to a container after an agent restart, and how a
 * restarted agent re-registers its pods' endpoints with the calculation graph. The kernel alias on
 * the host veth (src/kernel/workload-veth.ts) is the second witness when this file is gone.
 */
export interface AttachmentRecord {
  readonly network: string;
  readonly containerId: string;
  readonly ifName: string;
  readonly netns: string;
  readonly hostIf: string;
  readonly podMac: string;
  readonly mtu: number;
  /** Pod addresses, /32 and /128. */
  readonly addresses: readonly string[];
  readonly ipamType: string;
  readonly handleId: string;
  readonly namespace?: string;
  readonly pod?: string;
}

export function attachmentKey(network: string, containerId: string, ifName: string): string {
  return `${network}/${containerId}/${ifName}`;
}

export const keyOf = (r: Pick<AttachmentRecord, 'network' | 'containerId' | 'ifName'>): string =>
  attachmentKey(r.network, r.containerId, r.ifName);

/** The record's file: the SHA-1 of its key (node:crypto is not loaded for it: sha1.ts). */
const fileOf = (key: string): string => `${sha1Hex(key)}.json`;

export class AttachmentStore {
  readonly #records = new Map<string, AttachmentRecord>();

  constructor(
    private readonly dir: string,
    private readonly log: Logger,
  ) {}

  /** Reads every record; an unreadable file is logged (named) and moved aside, never fatal. */
  async load(): Promise<AttachmentRecord[]> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    for (const name of await readdir(this.dir)) {
      if (!name.endsWith('.json')) continue;
      const path = join(this.dir, name);
      try {
        const r = JSON.parse(await readFile(path, 'utf8')) as AttachmentRecord;
        if (typeof r.hostIf !== 'string' || !Array.isArray(r.addresses) || fileOf(keyOf(r)) !== name)
          throw new CniStateError(`${path} is not an attachment record`);
        this.#records.set(keyOf(r), r);
      } catch (err) {
        this.log.warn({ err, file: path }, 'unreadable attachment record moved aside');
        await rename(path, `${path}.bad`);
      }
    }
    return [...this.#records.values()];
  }

  get(key: string): AttachmentRecord | undefined {
    return this.#records.get(key);
  }

  all(): AttachmentRecord[] {
    return [...this.#records.values()];
  }

  /** Other records that name the same host veth (a pod re-created under the same name). */
  othersOn(hostIf: string, key: string): AttachmentRecord[] {
    return this.all().filter((r) => r.hostIf === hostIf && keyOf(r) !== key);
  }

  /**
   * Written before ADD answers (a crash after the answer still leaves DEL and GC the record).
   * Synchronous on purpose: one small file on the run directory (tmpfs in production) takes
   * microseconds, while the asynchronous write + rename cost 4 thread-pool hops and event-loop turns,
   * each waiting behind the agent's process starts in a burst (docs/cni.md: ~1 s median per ADD with
   * 100 at once). No fsync: the run directory does not outlive a reboot, and neither do the pods.
   */
  async save(r: AttachmentRecord): Promise<void> {
    const key = keyOf(r);
    const path = join(this.dir, fileOf(key));
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(r), { mode: 0o600 });
    renameSync(tmp, path);
    this.#records.set(key, r);
  }

  async delete(key: string): Promise<void> {
    rmSync(join(this.dir, fileOf(key)), { force: true });
    this.#records.delete(key);
  }
}
