import { KernelOpError } from '../errors.js';
import type { Logger } from '../log.js';
import type { CommandRunner } from './command-runner.js';
import { inputLines, KernelBatchError } from './errors.js';
import {
  assertOwnedIpsetLines,
  parseIpsetSave,
  renderDestroy,
  renderReplaceSet,
  type IpsetSpec,
  type KernelIpset,
} from './ipset-format.js';
import { isOwnedIpset } from './ownership.js';

/**
 * Margay's ipsets in one network namespace (ipsets are per namespace). All writes go through
 * `ipset restore -exist` and are checked to name only `mgy` sets; reads return only `mgy` sets.
 */
export interface IpsetBackend {
  list(): Promise<KernelIpset[]>;
  listNames(): Promise<string[]>;
  restore(lines: readonly string[]): Promise<void>;
  /** Makes the set hold exactly `members`, atomically (temporary set + swap); creates it if needed. */
  replaceSet(spec: IpsetSpec, members: readonly string[]): Promise<void>;
  /** Idempotent; fails while iptables still references the set. */
  destroy(name: string): Promise<void>;
}

export class IpsetRestoreBackend implements IpsetBackend {
  constructor(
    private readonly runner: CommandRunner,
    private readonly log: Logger,
    readonly netns?: string,
  ) {}

  async list(): Promise<KernelIpset[]> {
    const r = await this.runner.run(['ipset', 'save'], this.#opts());
    return parseIpsetSave(r.stdout).filter((s) => isOwnedIpset(s.name));
  }

  async listNames(): Promise<string[]> {
    const r = await this.runner.run(['ipset', 'list', '-n'], this.#opts());
    return r.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((n) => n !== '' && isOwnedIpset(n));
  }

  async restore(lines: readonly string[]): Promise<void> {
    assertOwnedIpsetLines(lines);
    if (lines.length === 0) return;
    const input = lines.map((l) => `${l}\n`).join('');
    const r = await this.runner.run(['ipset', 'restore', '-exist'], {
      ...this.#opts(),
      stdin: input,
      allowFailure: true,
    });
    if (r.exitCode !== 0) {
      const m = /Error in line (\d+): (.*)/.exec(r.stderr);
      const failures =
        m === null
          ? []
          : [{ line: Number(m[1]), text: inputLines(input)[Number(m[1]) - 1] ?? '', reason: m[2]!.trim() }];
      this.log.warn({ lines: lines.length, failures }, 'ipset restore failed');
      throw new KernelBatchError(r.argv, r.exitCode, r.stderr, failures);
    }
    if (this.log.isLevelEnabled('debug')) this.log.debug({ lines: lines.length }, 'ipset restored');
  }

  async replaceSet(spec: IpsetSpec, members: readonly string[]): Promise<void> {
    await this.restore(renderReplaceSet(spec, members));
  }

  async destroy(name: string): Promise<void> {
    assertOwnedIpsetLines([renderDestroy(name)]);
    const r = await this.runner.run(['ipset', 'destroy', name], { ...this.#opts(), allowFailure: true });
    if (r.exitCode !== 0 && !/does not exist/.test(r.stderr)) throw new KernelOpError(r.argv, r.exitCode, r.stderr);
  }

  #opts(): { netns?: string } {
    return this.netns === undefined ? {} : { netns: this.netns };
  }
}
