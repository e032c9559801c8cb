/**
 * IptablesReconciler: Margay's chains in the filter and nat tables of one family, and the jumps to
 * them from the kernel's chains (like Felix's iptables Table).
 *
 *   chainUpdated/Removed ──▶ desired: chain → hashed rules     actual: chain → rule hashes (read back)
 *                                      └──── dirty chains, diffed per rule ─────┘
 *                                                   │ one `iptables-restore --noflush` per table
 *                                                   ▼
 *                                          IptablesBackend.restore
 *
 * - Only chains named `mgy-…` and rules carrying a `mgy:` comment are read as ours or touched.
 * - Per apply, only chains whose hashes differ are written, and within a chain only the rules that
 *   changed (`-D N`, `-I N`), so the restore input grows with the change, not the table.
 * - The jumps FORWARD/INPUT/OUTPUT → mgy-… (filter) and POSTROUTING → mgy-POSTROUTING (nat) are
 *   inserted at the top once, when their target chain is desired; stale jumps of ours are deleted.
 * - Resync (first apply, after errors, periodically): `iptables-save` of the table, so a flushed
 *   chain, a deleted jump or a rule added by hand inside our chains is repaired.
 */
import type { IptablesBackend } from '../../src/kernel/index.js';
import { renderRuleDelete, type IptablesTable, type SavedTable } from '../../src/kernel/index.js';
import type { ChainTable, RuleArgs } from '../calc/index.js';
import { ApplyError, type ApplyStats } from './errors.js';
import {
  hashOfComment,
  hashRules,
  renderChainEdit,
  renderChainRemoval,
  renderHashedRule,
  type HashedRule,
} from './iptables-render.js';
import type { Reconciler } from './reconciler.js';

/** Kernel chain → our chain it jumps to, per table. */
export const KERNEL_JUMPS: Readonly<Record<ChainTable, readonly (readonly [string, string])[]>> = {
  filter: [
    ['FORWARD', 'mgy-FORWARD'],
    ['INPUT', 'mgy-INPUT'],
    ['OUTPUT', 'mgy-OUTPUT'],
  ],
  nat: [['POSTROUTING', 'mgy-POSTROUTING']],
};

interface TableState {
  /**
   * Chain → its rules, hashed when first needed (an apply, not setChain): the first desired state
   * arrives before the routes-first dataplane applies any rule, and node:crypto's first hash costs
   * an agent ≈ 7 ms of CPU — after its routes are in, then.
   */
  readonly desired: Map<string, Desired>;
  /** Our chains in the kernel: rule hashes in order ('' for a rule without our comment). */
  actual: Map<string, string[]>;
  /** Our rules in the kernel's chains (for the jumps): chain → saved rules of ours. */
  kernelRules: Map<string, SavedTable['chains'][number]['rules']>;
  readonly dirty: Set<string>;
  resync: boolean;
  /** Read from the kernel at least once (before that, nothing is known to be programmed). */
  read: boolean;
}

/** A chain's desired rules; `hashed` filled on first use. */
interface Desired {
  readonly rules: readonly RuleArgs[];
  hashed?: HashedRule[];
}

function hashedRules(name: string, d: Desired): HashedRule[] {
  d.hashed ??= hashRules(name, d.rules);
  return d.hashed;
}

export interface IptablesApplyStats extends ApplyStats {
  /** Bytes of restore input written per table in this apply. */
  readonly bytes: Readonly<Record<ChainTable, number>>;
}

export class IptablesReconciler implements Reconciler {
  readonly name: string;
  readonly #tables: Record<ChainTable, TableState>;
  lastStats: IptablesApplyStats = { upserted: 0, deleted: 0, bytes: { filter: 0, nat: 0 } };

  constructor(private readonly backend: IptablesBackend) {
    this.name = `iptables${backend.family}`;
    const state = (): TableState => ({
      desired: new Map(),
      actual: new Map(),
      kernelRules: new Map(),
      dirty: new Set(),
      resync: true,
      read: false,
    });
    this.#tables = { filter: state(), nat: state() };
  }

  setChain(table: ChainTable, name: string, rules: readonly RuleArgs[]): void {
    const t = this.#tables[table];
    t.desired.set(name, { rules });
    t.dirty.add(name);
  }

  removeChain(table: ChainTable, name: string): void {
    const t = this.#tables[table];
    t.desired.delete(name);
    t.dirty.add(name);
  }

  queueResync(): void {
    for (const t of Object.values(this.#tables)) t.resync = true;
  }

  get hasPending(): boolean {
    return Object.values(this.#tables).some((t) => t.resync || t.dirty.size > 0);
  }

  /** True when the chain is in the kernel as desired (or absent as desired). */
  isProgrammed(table: ChainTable, name: string): boolean {
    const t = this.#tables[table];
    return t.read && !t.dirty.has(name);
  }

  /** Both tables concurrently (independent restores); an error names its table. */
  async apply(): Promise<IptablesApplyStats> {
    const results = await Promise.allSettled([this.#applyTable('filter'), this.#applyTable('nat')]);
    let upserted = 0;
    let deleted = 0;
    const bytes: Record<ChainTable, number> = { filter: 0, nat: 0 };
    const errors: ApplyError[] = [];
    for (const r of results) {
      if (r.status === 'rejected') errors.push(r.reason as ApplyError); // #applyTable throws only ApplyError
      const st = r.status === 'fulfilled' ? r.value : (r.reason as ApplyError).stats;
      upserted += st.upserted;
      deleted += st.deleted;
      if (r.status === 'fulfilled') bytes[r.value.table] = r.value.bytes;
    }
    this.lastStats = { upserted, deleted, bytes };
    if (errors.length === 1) throw errors[0]!;
    if (errors.length > 1)
      throw new ApplyError(
        this.name,
        { upserted, deleted },
        { cause: new AggregateError(errors, 'filter and nat failed') },
      );
    return this.lastStats;
  }

  async #applyTable(table: ChainTable): Promise<ApplyStats & { table: ChainTable; bytes: number }> {
    const t = this.#tables[table];
    let upserted = 0;
    let deleted = 0;
    let bytes = 0;
    try {
      if (t.resync) await this.#read(table, t);
      if (t.dirty.size === 0) return { upserted, deleted, table, bytes };
      const decls: string[] = [];
      const body: string[] = [];
      const removals: string[] = [];
      const writtenChains: [string, string[] | undefined][] = [];
      // The dirty chains with the desired value each is written for: setChain/removeChain during the
      // restore below keep their chain dirty for the next apply (a change is never lost).
      const batch = new Map<string, Desired | undefined>();
      for (const chain of t.dirty) batch.set(chain, t.desired.get(chain));
      for (const [chain, want] of batch) {
        const have = t.actual.get(chain);
        if (want === undefined) {
          if (have !== undefined) {
            removals.push(...renderChainRemoval(chain));
            writtenChains.push([chain, undefined]);
            deleted++;
          }
          continue;
        }
        const rules = hashedRules(chain, want);
        const hashes = rules.map((r) => r.hash);
        if (have !== undefined && sameList(have, hashes)) continue;
        const edit = renderChainEdit(chain, have, rules);
        decls.push(...edit.decls);
        body.push(...edit.body);
        writtenChains.push([chain, hashes]);
        upserted++;
      }
      const jumps = this.#jumpLines(table, t);
      const lines = [...decls, ...body, ...jumps.lines, ...removals];
      if (lines.length > 0) {
        await this.backend.restore(table as IptablesTable, lines);
        bytes = lines.reduce((n, l) => n + l.length + 1, 0);
      }
      for (const [chain, hashes] of writtenChains) {
        if (hashes === undefined) t.actual.delete(chain);
        else t.actual.set(chain, hashes);
      }
      for (const [chain, rules] of jumps.after) t.kernelRules.set(chain, rules);
      for (const [chain, want] of batch) if (t.desired.get(chain) === want) t.dirty.delete(chain);
      return { upserted, deleted, table, bytes };
    } catch (err) {
      t.resync = true;
      throw new ApplyError(`${this.name}/${table}`, { upserted, deleted }, { cause: err });
    }
  }

  async prefetch(): Promise<void> {
    const results = await Promise.allSettled(
      (['filter', 'nat'] as const).map(async (table) => {
        const t = this.#tables[table];
        if (!t.resync) return;
        try {
          await this.#read(table, t);
        } catch (err) {
          t.resync = true;
          throw new ApplyError(`${this.name}/${table}`, { upserted: 0, deleted: 0 }, { cause: err });
        }
      }),
    );
    const failed = results.filter((r) => r.status === 'rejected');
    if (failed.length > 0) throw (failed[0] as PromiseRejectedResult).reason;
  }

  async #read(table: ChainTable, t: TableState): Promise<void> {
    const saved = await this.backend.save(table as IptablesTable);
    t.actual = new Map();
    t.kernelRules = new Map();
    for (const c of saved.chains) {
      if (c.owned)
        t.actual.set(
          c.name,
          c.rules.map((r) => hashOfComment(r.comment)),
        );
      else
        t.kernelRules.set(
          c.name,
          c.rules.filter((r) => r.owned),
        );
    }
    for (const k of t.actual.keys()) t.dirty.add(k);
    for (const k of t.desired.keys()) t.dirty.add(k);
    t.resync = false;
    t.read = true;
  }

  /** Inserts missing jumps from the kernel's chains and deletes stale ones of ours. */
  #jumpLines(
    table: ChainTable,
    t: TableState,
  ): { lines: string[]; after: [string, SavedTable['chains'][number]['rules']][] } {
    const lines: string[] = [];
    const after: [string, SavedTable['chains'][number]['rules']][] = [];
    for (const [kernelChain, target] of KERNEL_JUMPS[table]) {
      const want = t.desired.has(target) ? hashRules(kernelChain, [['-j', target]])[0]! : undefined;
      const have = t.kernelRules.get(kernelChain) ?? [];
      let present = false;
      const keep: (typeof have)[number][] = [];
      for (const r of have) {
        if (want !== undefined && !present && hashOfComment(r.comment) === want.hash) {
          present = true;
          keep.push(r);
        } else {
          lines.push(renderRuleDelete(r));
        }
      }
      if (want !== undefined && !present) {
        lines.push(renderHashedRule('-I', kernelChain, want, 1));
        keep.push({
          chain: kernelChain,
          args: ['-m', 'comment', '--comment', `mgy:${want.hash}`, ...want.args],
          comment: `mgy:${want.hash}`,
          owned: true,
        });
      }
      if (lines.length > 0 || keep.length !== have.length) after.push([kernelChain, keep]);
    }
    return { lines, after };
  }

  /** Restore input of the last apply, for the bench and tests. */
  get lastBytes(): Readonly<Record<ChainTable, number>> {
    return this.lastStats.bytes;
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
