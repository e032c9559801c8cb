import { writeFileSync } from 'node:fs';
import { KernelOpError } from '../../src/errors.js';
import {
  normalizeSysctlKey,
  ProcSysctlOps,
  validateSysctlValue,
  type CommandRunner,
  type SysctlOps,
} from '../../src/kernel/index.js';
import type { Logger } from '../../src/log.js';

/**
 * The per-veth host sysctls of a pod ADD (proxy_arp, neigh proxy_delay, accept_ra), written to
 * /proc/sys synchronously. Each is one small write that the kernel handles without the rtnl lock
 * (microseconds); the asynchronous writes this replaces cost 3 libuv thread-pool hops and 3 event-loop
 * turns per key, and in a burst of ADDs each turn waited behind the agent's synchronous process
 * starts (measured in docs/cni.md: 1.4 s median per ADD for 2 keys, 100 ADDs at once). Reads and
 * anything else go to the ordinary adapter.
 */
export class SyncProcSysctl implements SysctlOps {
  readonly #other: ProcSysctlOps;

  constructor(runner: CommandRunner, log: Logger) {
    this.#other = new ProcSysctlOps(runner, log);
  }

  get(key: string): Promise<string> {
    return this.#other.get(key);
  }

  getMany(keys: readonly string[]): Promise<Map<string, string | undefined>> {
    return this.#other.getMany(keys);
  }

  async set(key: string, value: string | number): Promise<void> {
    await this.setMany({ [key]: value });
  }

  async setMany(entries: Readonly<Record<string, string | number>>): Promise<void> {
    for (const [k, v] of Object.entries(entries)) {
      const path = `/proc/sys/${normalizeSysctlKey(k)}`;
      const value = `${validateSysctlValue(k, v)}\n`;
      try {
        writeFileSync(path, value);
      } catch (err) {
        throw new KernelOpError(['write', path], null, (err as Error).message, { cause: err });
      }
    }
  }
}
