/**
 * The selector AST shared by Calico expressions and Kubernetes label selectors.
 *
 * Design: one plain, immutable, JSON-serialisable tagged union. Both syntaxes (Calico's expression
 * language and Kubernetes' LabelSelector, structured or query-string) convert to it, so everything
 * downstream (policy rendering, ipset membership, datastore filtering) has one thing to evaluate.
 * Shape invariants, which the parser always produces and the printer relies on:
 *  - `and`/`or` have at least two operands;
 *  - `in`/`notIn` values are sorted (code-unit order) and de-duplicated, as Calico's StringSet is;
 *  - keys match LABEL_KEY_PATTERN (Calico's label-key tokens).
 */
export type Selector =
  | { readonly op: 'all' }
  | { readonly op: 'global' }
  | { readonly op: 'has'; readonly key: string }
  | { readonly op: ValueOp; readonly key: string; readonly value: string }
  | { readonly op: SetOp; readonly key: string; readonly values: readonly string[] }
  | { readonly op: 'not'; readonly operand: Selector }
  | { readonly op: 'and' | 'or'; readonly operands: readonly Selector[] };

export const VALUE_OPS = ['eq', 'ne', 'contains', 'startsWith', 'endsWith'] as const;
export type ValueOp = (typeof VALUE_OPS)[number];
export const SET_OPS = ['in', 'notIn'] as const;
export type SetOp = (typeof SET_OPS)[number];

/** A label key as Calico's tokenizer accepts it (`[a-zA-Z0-9_./-]{1,512}`). */
export const LABEL_KEY_PATTERN = /^[a-zA-Z0-9_./-]{1,512}$/;

export const ALL: Selector = Object.freeze({ op: 'all' });

/** Builds a set node with Calico's canonical value order (sorted, unique). */
export function setNode(op: SetOp, key: string, values: Iterable<string>): Selector {
  return { op, key, values: canonicalSet(values) };
}

export function canonicalSet(values: Iterable<string>): string[] {
  return [...new Set(values)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Conjunction of `parts`: all() for none, the part itself for one. */
export function andOf(parts: readonly Selector[]): Selector {
  if (parts.length === 0) return ALL;
  if (parts.length === 1) return parts[0]!;
  return { op: 'and', operands: parts };
}
