import { KernelOpError, type MargayError } from '../../errors.js';
import { normalizeSysctlKey, validateSysctlValue, type SysctlOps } from '../sysctl-ops.js';
import { FailureInjector } from './failure-injector.js';

/**
 * In-memory SysctlOps keyed by the canonical (slash) key. Keys must be seeded (`values.set`) or
 * written before they are read, like /proc/sys where a missing file is an error.
 */
export class FakeSysctlOps implements SysctlOps {
  readonly values = new Map<string, string>();
  readonly faults = new FailureInjector();

  constructor(seed: Readonly<Record<string, string | number>> = {}) {
    for (const [k, v] of Object.entries(seed)) this.values.set(normalizeSysctlKey(k), String(v));
  }

  get ops(): string[] {
    return this.faults.ops;
  }

  failNext(err: MargayError, match?: RegExp): void {
    this.faults.failNext(err, match);
  }

  async get(key: string): Promise<string> {
    const k = normalizeSysctlKey(key);
    this.faults.record(`get ${k}`);
    const v = this.values.get(k);
    if (v === undefined)
      throw new KernelOpError(
        ['sysctl', '-n', k],
        255,
        `sysctl: cannot stat /proc/sys/${k}: No such file or directory`,
      );
    return v;
  }

  async getMany(keys: readonly string[]): Promise<Map<string, string | undefined>> {
    const norm = keys.map(normalizeSysctlKey);
    this.faults.record(`getMany ${norm.length}`);
    return new Map(norm.map((k) => [k, this.values.get(k)]));
  }

  async set(key: string, value: string | number): Promise<void> {
    await this.setMany({ [key]: value });
  }

  async setMany(entries: Readonly<Record<string, string | number>>): Promise<void> {
    for (const [key, value] of Object.entries(entries)) {
      const k = normalizeSysctlKey(key);
      this.faults.record(`set ${k}=${value}`);
      this.values.set(k, validateSysctlValue(key, value));
    }
  }
}
