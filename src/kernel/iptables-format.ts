import { InvariantError } from '../errors.js';
import { isOwnedChain, isOwnedRuleComment } from './ownership.js';

/**
 * iptables-save parsing and iptables-restore rendering, shared by the real backend, its fake and
 * their tests. Pure. Quoting follows iptables' own tokenizer (xshared.c add_param_to_argv): `"`
 * groups, `\` escapes the next character; iptables-save escapes `"` and `\` in comments the same way.
 *
 * Ownership: a chain is ours when it starts with `mgy-`; a rule is ours when it lives in our chain or
 * carries a `mgy:` comment (our jump rules in built-in chains such as INPUT or FORWARD).
 */
export const IPTABLES_TABLES = ['filter', 'nat', 'mangle', 'raw'] as const;
export type IptablesTable = (typeof IPTABLES_TABLES)[number];

export interface IptablesRule {
  readonly chain: string;
  /** Tokens after `-A CHAIN`, unquoted. */
  readonly args: readonly string[];
  readonly comment?: string;
  readonly owned: boolean;
}

export interface IptablesChain {
  readonly name: string;
  /** Policy of a built-in chain (ACCEPT/DROP); undefined for user chains. */
  readonly policy?: string;
  readonly owned: boolean;
  readonly rules: readonly IptablesRule[];
}

export interface SavedTable {
  readonly table: IptablesTable;
  readonly chains: readonly IptablesChain[];
}

const CHAIN = /^[A-Za-z0-9_.-]{1,28}$/;
const PLAIN = /^[A-Za-z0-9_.:/@%+=,!-]+$/;

export function validateChainName(name: string): string {
  if (!CHAIN.test(name))
    throw new InvariantError(`iptables chain ${JSON.stringify(name)} is not valid (1-28 chars of [A-Za-z0-9_.-])`);
  return name;
}

/** Splits one iptables-save/restore line into arguments. */
export function tokenizeIptablesLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inToken = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inToken = true;
    } else if (c === '"') {
      quoted = !quoted;
      inToken = true;
    } else if (!quoted && (c === ' ' || c === '\t')) {
      if (inToken) out.push(cur);
      cur = '';
      inToken = false;
    } else {
      cur += c;
      inToken = true;
    }
  }
  if (quoted) throw new InvariantError(`unterminated quote in iptables line ${JSON.stringify(line)}`);
  if (inToken) out.push(cur);
  return out;
}

/** Quotes one argument for iptables-restore (only when needed). */
export function quoteIptablesArg(arg: string): string {
  if (/[\n\r\0]/.test(arg)) throw new InvariantError(`iptables argument ${JSON.stringify(arg)} holds a line break`);
  if (PLAIN.test(arg)) return arg;
  return `"${arg.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function commentOf(args: readonly string[]): string | undefined {
  const i = args.indexOf('--comment');
  return i >= 0 ? args[i + 1] : undefined;
}

/** Parses `iptables-save [-t table]` output into tables (in order), chains (in order) and rules. */
export function parseIptablesSave(text: string): SavedTable[] {
  const tables: SavedTable[] = [];
  let table: IptablesTable | undefined;
  let chains = new Map<string, { name: string; policy?: string; owned: boolean; rules: IptablesRule[] }>();
  text.split('\n').forEach((raw, idx) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `iptables-save line ${idx + 1}`;
    if (line.startsWith('*')) {
      const name = line.slice(1);
      if (!(IPTABLES_TABLES as readonly string[]).includes(name)) {
        table = undefined; // security, nat of other families...: not ours to parse
        return;
      }
      table = name as IptablesTable;
      chains = new Map();
      return;
    }
    if (line === 'COMMIT') {
      if (table !== undefined) tables.push({ table, chains: [...chains.values()] });
      table = undefined;
      return;
    }
    if (table === undefined) return;
    if (line.startsWith(':')) {
      const [name, policy] = line.slice(1).split(/\s+/);
      if (name === undefined) throw new InvariantError(`${where}: chain declaration without a name`);
      chains.set(name, {
        name,
        ...(policy === undefined || policy === '-' ? {} : { policy }),
        owned: isOwnedChain(name),
        rules: [],
      });
      return;
    }
    const toks = tokenizeIptablesLine(line);
    if (toks[0] !== '-A' || toks[1] === undefined)
      throw new InvariantError(`${where}: unexpected ${JSON.stringify(line)}`);
    const chain = toks[1];
    const args = toks.slice(2);
    const comment = commentOf(args);
    let c = chains.get(chain);
    if (c === undefined) {
      c = { name: chain, owned: isOwnedChain(chain), rules: [] };
      chains.set(chain, c);
    }
    c.rules.push({
      chain,
      args,
      ...(comment === undefined ? {} : { comment }),
      owned: isOwnedChain(chain) || isOwnedRuleComment(comment),
    });
  });
  return tables;
}

/** `:mgy-X - [0:0]`: declares (creating or, with --noflush, flushing) one of our chains. */
export function renderChainDecl(chain: string): string {
  return `:${validateChainName(chain)} - [0:0]`;
}

/** `-A|-I|-D CHAIN -m comment --comment "mgy:..." args...` (the comment first, as Calico does). */
export function renderRule(op: '-A' | '-I' | '-D', chain: string, args: readonly string[], comment?: string): string {
  const parts = [op, validateChainName(chain)];
  if (comment !== undefined) {
    if (comment.length > 256)
      throw new InvariantError(`iptables comment longer than 256 chars: ${comment.slice(0, 40)}...`);
    parts.push('-m', 'comment', '--comment', quoteIptablesArg(comment));
  }
  for (const a of args) parts.push(quoteIptablesArg(a));
  return parts.join(' ');
}

/** Re-renders a saved rule as `-D` input that deletes exactly it. */
export function renderRuleDelete(rule: IptablesRule): string {
  return ['-D', validateChainName(rule.chain), ...rule.args.map(quoteIptablesArg)].join(' ');
}

export function renderFlushChain(chain: string): string {
  return `-F ${validateChainName(chain)}`;
}

export function renderDeleteChain(chain: string): string {
  return `-X ${validateChainName(chain)}`;
}

/** The full iptables-restore input for one table. */
export function renderRestoreInput(table: IptablesTable, lines: readonly string[]): string {
  return [`*${table}`, ...lines, 'COMMIT', ''].join('\n');
}

/**
 * Refuses restore input that could touch anything not ours: declaring (and so flushing, or changing
 * the policy of) a foreign chain, flushing/deleting one, or adding/deleting a rule in a foreign chain
 * without a `mgy:` comment. Table headers and COMMIT are the backend's to add.
 */
export function assertOwnedRestoreLines(lines: readonly string[]): void {
  lines.forEach((line, i) => {
    const where = `restore input line ${i + 1} ${JSON.stringify(line)}`;
    const t = line.trim();
    if (t === '' || t.startsWith('#')) return;
    if (t.startsWith(':')) {
      const name = t.slice(1).split(/\s+/)[0] ?? '';
      if (!isOwnedChain(name)) throw new InvariantError(`${where}: declares a chain Margay does not own`);
      return;
    }
    const toks = tokenizeIptablesLine(t);
    const [op, chain] = toks;
    if (chain === undefined) throw new InvariantError(`${where}: not a chain operation`);
    switch (op) {
      case '-N':
      case '-F':
      case '-X':
      case '-Z':
        if (!isOwnedChain(chain)) throw new InvariantError(`${where}: ${op} on a chain Margay does not own`);
        return;
      case '-R': // replaces by position: in a foreign chain that position may hold someone else's rule
        if (!isOwnedChain(chain)) throw new InvariantError(`${where}: -R on a chain Margay does not own`);
        return;
      case '-A':
      case '-I':
      case '-D':
        if (!isOwnedChain(chain) && !isOwnedRuleComment(commentOf(toks))) {
          throw new InvariantError(`${where}: a rule in a foreign chain must carry a mgy: comment`);
        }
        return;
      default:
        throw new InvariantError(`${where}: not allowed in restore input (the backend adds *table and COMMIT)`);
    }
  });
}

/**
 * Lines that remove everything Margay owns in a saved table: our rules in foreign chains first
 * (they may jump to our chains), then flush all our chains, then delete them.
 */
export function renderRemoveOwned(saved: SavedTable): string[] {
  const lines: string[] = [];
  for (const c of saved.chains) if (!c.owned) for (const r of c.rules) if (r.owned) lines.push(renderRuleDelete(r));
  const ours = saved.chains.filter((c) => c.owned).map((c) => c.name);
  for (const c of ours) lines.push(renderFlushChain(c));
  for (const c of ours) lines.push(renderDeleteChain(c));
  return lines;
}
