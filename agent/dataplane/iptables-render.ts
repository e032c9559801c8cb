/**
 * Pure helpers of the iptables reconciler: rule hashes and the minimal restore lines that turn one
 * chain's actual rules (as hashes) into its desired rules.
 *
 * Every rule Margay writes carries `-m comment --comment mgy:<hash>` (src/kernel/ownership.ts), where
 * the hash covers the chain name, the rule's arguments and its occurrence number among identical
 * rules of the chain — not its position, so inserting one rule does not change the others' hashes
 * and the diff stays proportional to the change (Felix hashes by position and rewrites the tail).
 */
import { createHash } from 'node:crypto';
import {
  quoteIptablesArg,
  renderChainDecl,
  renderDeleteChain,
  renderFlushChain,
  validateChainName,
} from '../../src/kernel/index.js';
import { OWNERSHIP } from '../../src/kernel/index.js';
import type { RuleArgs } from '../calc/index.js';

export interface HashedRule {
  readonly hash: string;
  readonly args: RuleArgs;
}

export function ruleHash(chain: string, args: RuleArgs, occurrence: number): string {
  return createHash('sha256')
    .update(`${chain}\0${args.join('\0')}\0${occurrence}`)
    .digest('base64url')
    .slice(0, 16);
}

/** Hashes for a chain's rules (identical rules are told apart by their occurrence number). */
export function hashRules(chain: string, rules: readonly RuleArgs[]): HashedRule[] {
  const seen = new Map<string, number>();
  return rules.map((args) => {
    const text = args.join('\0');
    const n = seen.get(text) ?? 0;
    seen.set(text, n + 1);
    return { hash: ruleHash(chain, args, n), args };
  });
}

export function commentOf(hash: string): string {
  return `${OWNERSHIP.ruleCommentPrefix}${hash}`;
}

/** The hash in a rule comment of ours, or '' for a rule without one. */
export function hashOfComment(comment: string | undefined): string {
  return comment?.startsWith(OWNERSHIP.ruleCommentPrefix) ? comment.slice(OWNERSHIP.ruleCommentPrefix.length) : '';
}

/** `-A|-I CHAIN [N] -m comment --comment mgy:<hash> args…` */
export function renderHashedRule(op: '-A' | '-I', chain: string, rule: HashedRule, position?: number): string {
  const parts = [op, validateChainName(chain)];
  if (position !== undefined) parts.push(String(position));
  parts.push('-m', 'comment', '--comment', quoteIptablesArg(commentOf(rule.hash)));
  for (const a of rule.args) parts.push(quoteIptablesArg(a));
  return parts.join(' ');
}

export interface ChainEdit {
  /** Lines that must come first (chain declarations). */
  readonly decls: string[];
  readonly body: string[];
}

/**
 * Lines that turn `actual` (hashes in kernel order; undefined: the chain does not exist) into
 * `desired`. In place when the kept rules are already in order and that is shorter; otherwise the
 * chain is declared again (which, with --noflush, flushes it) and written whole.
 */
export function renderChainEdit(
  chain: string,
  actual: readonly string[] | undefined,
  desired: readonly HashedRule[],
): ChainEdit {
  const whole = (): ChainEdit => ({
    decls: [renderChainDecl(chain)],
    body: desired.map((r) => renderHashedRule('-A', chain, r)),
  });
  if (actual === undefined) return whole();
  const want = new Set(desired.map((r) => r.hash));
  const body: string[] = [];
  const kept: string[] = [];
  const seen = new Set<string>();
  // Deletions from the last position down, so earlier positions stay valid.
  const deletes: number[] = [];
  actual.forEach((h, i) => {
    if (h !== '' && want.has(h) && !seen.has(h)) {
      seen.add(h);
      kept.push(h);
    } else deletes.push(i + 1);
  });
  for (const pos of deletes.reverse()) body.push(`-D ${validateChainName(chain)} ${pos}`);
  let j = 0;
  let pos = 0;
  for (const r of desired) {
    if (kept[j] === r.hash) {
      j++;
      pos++;
      continue;
    }
    if (seen.has(r.hash)) return whole(); // a kept rule is out of order: rewrite the chain
    body.push(renderHashedRule('-I', chain, r, pos + 1));
    pos++;
  }
  if (j !== kept.length) return whole();
  if (body.length > desired.length + 1) return whole();
  return { decls: [], body };
}

/** Lines that delete one of our chains (after every rule jumping to it is gone: put them last). */
export function renderChainRemoval(chain: string): string[] {
  return [renderFlushChain(chain), renderDeleteChain(chain)];
}
