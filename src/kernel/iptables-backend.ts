import { InvariantError, KernelOpError } from '../errors.js';
import type { Logger } from '../log.js';
import type { CommandRunner } from './command-runner.js';
import { inputLines, KernelBatchError } from './errors.js';
import type { IptablesMode } from './iptables-detect.js';
import {
  assertOwnedRestoreLines,
  parseIptablesSave,
  renderRemoveOwned,
  renderRestoreInput,
  type IptablesTable,
  type SavedTable,
} from './iptables-format.js';

export interface RestoreOptions {
  /** Always true: without --noflush iptables-restore would flush every foreign rule in the table. */
  readonly noflush: true;
}

/**
 * One family's iptables through iptables-save / iptables-restore of the detected backend (nft or
 * legacy; see iptables-detect.ts). `save` parses the whole table and marks what is ours; `restore`
 * writes lines atomically per table with --noflush, refusing any line that could touch a foreign
 * chain or rule (see assertOwnedRestoreLines); `removeOwned` deletes our rules and chains only.
 */
export interface IptablesBackend {
  readonly family: 4 | 6;
  /** Undefined while not detected yet (iptables-on-use.ts). */
  readonly mode: IptablesMode | undefined;
  save(table: IptablesTable): Promise<SavedTable>;
  restore(table: IptablesTable, lines: readonly string[], opts?: RestoreOptions): Promise<void>;
  removeOwned(table: IptablesTable): Promise<void>;
}

/**
 * The whole-ruleset dump the backend detection just read (iptables-detect.ts `detectIptables`): the
 * first `save` of each table within `validForMs` of `at` (Date.now()) is answered from it instead of
 * a process start, as long as this backend has written nothing since (any restore drops it).
 */
export interface PrimedDump {
  readonly text: string;
  readonly at: number;
  readonly validForMs?: number;
}

/** Seconds iptables-restore waits for the xtables lock held by another writer (kube-proxy, ...). */
const LOCK_WAIT_SECONDS = 10;

export class IptablesRestoreBackend implements IptablesBackend {
  readonly #prefix: string;
  #primed: PrimedDump | undefined;
  readonly #primedServed = new Set<IptablesTable>();

  constructor(
    private readonly runner: CommandRunner,
    private readonly log: Logger,
    readonly family: 4 | 6,
    readonly mode: IptablesMode,
    readonly netns?: string,
    primed?: PrimedDump,
  ) {
    this.#prefix = `${family === 4 ? 'iptables' : 'ip6tables'}-${mode}`;
    this.#primed = primed;
  }

  async save(table: IptablesTable): Promise<SavedTable> {
    const fromDump = this.#fromPrimed(table);
    if (fromDump !== undefined) return fromDump;
    const r = await this.runner.run([`${this.#prefix}-save`, '-t', table], { ...this.#opts(), allowFailure: true });
    if (r.exitCode !== 0) {
      // legacy: the table's module is not loaded, so nothing (and nothing of ours) is in it.
      if (/Table does not exist|does not exist \(do you need to insmod\?\)/.test(r.stderr))
        return { table, chains: [] };
      throw new KernelOpError(r.argv, r.exitCode, r.stderr);
    }
    const found = parseIptablesSave(r.stdout).find((t) => t.table === table);
    return found ?? { table, chains: [] };
  }

  async restore(
    table: IptablesTable,
    lines: readonly string[],
    opts: RestoreOptions = { noflush: true },
  ): Promise<void> {
    if (opts.noflush !== true)
      throw new InvariantError('iptables restore without --noflush would remove foreign rules');
    assertOwnedRestoreLines(lines);
    if (lines.length === 0) return;
    this.#primed = undefined; // from now on only a fresh read tells what is there
    const input = renderRestoreInput(table, lines);
    const argv = [`${this.#prefix}-restore`, '--noflush', `--wait=${LOCK_WAIT_SECONDS}`];
    const r = await this.runner.run(argv, { ...this.#opts(), stdin: input, allowFailure: true });
    if (r.exitCode !== 0) {
      const m = /Error occurred at line: (\d+)/.exec(r.stderr);
      const reason =
        r.stderr.split('\n').find((l) => l.trim() !== '' && !l.startsWith('Error occurred') && !l.startsWith('Try ')) ??
        'failed';
      const failures =
        m === null
          ? []
          : [{ line: Number(m[1]), text: inputLines(input)[Number(m[1]) - 1] ?? '', reason: reason.trim() }];
      this.log.warn({ table, family: this.family, lines: lines.length, failures }, 'iptables-restore failed');
      throw new KernelBatchError(r.argv, r.exitCode, r.stderr, failures);
    }
    if (this.log.isLevelEnabled('debug'))
      this.log.debug({ table, family: this.family, lines: lines.length }, 'iptables restored');
  }

  async removeOwned(table: IptablesTable): Promise<void> {
    const lines = renderRemoveOwned(await this.save(table));
    await this.restore(table, lines);
    this.log.info({ table, family: this.family, lines: lines.length }, 'removed Margay iptables chains and rules');
  }

  /** The table from the detection's dump: once per table, while fresh, before any write; else undefined. */
  #fromPrimed(table: IptablesTable): SavedTable | undefined {
    const p = this.#primed;
    if (p === undefined || this.#primedServed.has(table)) return undefined;
    if (Date.now() - p.at > (p.validForMs ?? 5000)) {
      this.#primed = undefined;
      return undefined;
    }
    this.#primedServed.add(table);
    try {
      return parseIptablesSave(p.text).find((t) => t.table === table) ?? { table, chains: [] };
    } catch (err) {
      // A table `-t <table>` would not have shown (mangle, raw) did not parse: read this one alone.
      this.log.debug({ err, table }, 'detection dump not parsed; reading the table');
      return undefined;
    }
  }

  #opts(): { netns?: string } {
    return this.netns === undefined ? {} : { netns: this.netns };
  }
}
