import type { MargayError } from '../../errors.js';
import { InvariantError } from '../../errors.js';
import { KernelBatchError } from '../errors.js';
import type { IptablesBackend, RestoreOptions } from '../iptables-backend.js';
import type { IptablesMode } from '../iptables-detect.js';
import {
  assertOwnedRestoreLines,
  parseIptablesSave,
  quoteIptablesArg,
  renderRemoveOwned,
  tokenizeIptablesLine,
  type IptablesTable,
  type SavedTable,
} from '../iptables-format.js';
import { FailureInjector } from './failure-injector.js';

const BUILTIN: Record<IptablesTable, readonly string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
};

interface Chain {
  policy?: string;
  rules: string[][];
}
type Table = Map<string, Chain>;

/**
 * An in-memory iptables for one family that interprets restore input like iptables-restore --noflush
 * (atomically per table: a failing line leaves the table unchanged) and answers `save` by rendering
 * iptables-save text and parsing it with the real parser. `seedForeign` adds rules other programs own.
 */
export class FakeIptablesBackend implements IptablesBackend {
  readonly faults = new FailureInjector();
  readonly #tables = new Map<IptablesTable, Table>();

  constructor(
    readonly family: 4 | 6 = 4,
    readonly mode: IptablesMode = 'nft',
  ) {}

  get ops(): string[] {
    return this.faults.ops;
  }

  failNext(err: MargayError, match?: RegExp): void {
    this.faults.failNext(err, match);
  }

  /** Adds a foreign chain (created if missing) and/or rule, as kube-proxy or an admin would. */
  seedForeign(table: IptablesTable, chain: string, ruleArgs?: readonly string[]): void {
    const t = this.#table(table);
    const c = t.get(chain) ?? { rules: [] };
    t.set(chain, c);
    if (ruleArgs !== undefined) c.rules.push([...ruleArgs]);
  }

  /** iptables-save text for a table, as the real tool prints it. */
  saveText(table: IptablesTable): string {
    const t = this.#table(table);
    const out = [`*${table}`];
    for (const [name, c] of t) out.push(`:${name} ${c.policy ?? '-'} [0:0]`);
    for (const [name, c] of t) for (const r of c.rules) out.push(['-A', name, ...r.map(quoteIptablesArg)].join(' '));
    out.push('COMMIT', '');
    return out.join('\n');
  }

  async save(table: IptablesTable): Promise<SavedTable> {
    this.faults.record(`save ${table}`);
    return parseIptablesSave(this.saveText(table))[0] ?? { table, chains: [] };
  }

  async restore(
    table: IptablesTable,
    lines: readonly string[],
    opts: RestoreOptions = { noflush: true },
  ): Promise<void> {
    this.faults.record(`restore ${table} ${lines.length}`);
    if (opts.noflush !== true)
      throw new InvariantError('iptables restore without --noflush would remove foreign rules');
    assertOwnedRestoreLines(lines);
    const work: Table = new Map(
      [...this.#table(table)].map(([k, c]) => [k, { ...c, rules: c.rules.map((r) => [...r]) }]),
    );
    lines.forEach((line, i) => {
      const fail = (reason: string): never => {
        throw new KernelBatchError(['fake-iptables-restore'], 2, reason, [{ line: i + 2, text: line, reason }]);
      };
      const t = line.trim();
      if (t === '' || t.startsWith('#')) return;
      if (t.startsWith(':')) {
        const name = t.slice(1).split(/\s+/)[0]!;
        const c = work.get(name);
        if (c === undefined) work.set(name, { rules: [] });
        else c.rules = [];
        return;
      }
      const [op, chain, ...args] = tokenizeIptablesLine(t);
      const c = work.get(chain!) ?? fail(`Chain '${chain}' does not exist`);
      const target = args[args.indexOf('-j') + 1];
      if (
        (op === '-A' || op === '-I' || op === '-R') &&
        args.includes('-j') &&
        target !== undefined &&
        /^[a-z]/.test(target) &&
        !work.has(target)
      ) {
        fail(`Chain '${target}' does not exist`);
      }
      // Positional forms, as iptables takes them: -I CHAIN N rule, -D CHAIN N, -R CHAIN N rule.
      const pos = /^[0-9]+$/.test(args[0] ?? '') ? Number(args[0]) : undefined;
      const rule = pos === undefined ? args : args.slice(1);
      if (op === '-A') c.rules.push(args);
      else if (op === '-I') {
        const at = (pos ?? 1) - 1;
        if (at < 0 || at > c.rules.length) fail('Index of insertion too big.');
        c.rules.splice(at, 0, rule);
      } else if (op === '-R') {
        if (pos === undefined || pos < 1 || pos > c.rules.length) fail('Index of replacement too big.');
        c.rules[pos! - 1] = rule;
      } else if (op === '-D' && pos !== undefined && args.length === 1) {
        if (pos < 1 || pos > c.rules.length) fail('Index of deletion too big.');
        c.rules.splice(pos - 1, 1);
      } else if (op === '-D') {
        const idx = c.rules.findIndex((r) => r.join('\u0000') === args.join('\u0000'));
        if (idx < 0) fail('Bad rule (does a matching rule exist in that chain?)');
        c.rules.splice(idx, 1);
      } else if (op === '-F') c.rules = [];
      else if (op === '-X') {
        const referenced = [...work.values()].some((o) => o.rules.some((r) => r[r.indexOf('-j') + 1] === chain));
        if (referenced || c.rules.length > 0) fail(`chain ${chain} is in use or not empty`);
        work.delete(chain!);
      } else fail(`unsupported ${op}`);
    });
    this.#tables.set(table, work);
  }

  async removeOwned(table: IptablesTable): Promise<void> {
    await this.restore(table, renderRemoveOwned(await this.save(table)));
  }

  #table(table: IptablesTable): Table {
    let t = this.#tables.get(table);
    if (t === undefined) {
      t = new Map(BUILTIN[table].map((c) => [c, { policy: 'ACCEPT', rules: [] }]));
      this.#tables.set(table, t);
    }
    return t;
  }
}
