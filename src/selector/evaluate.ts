import type { Selector } from './ast.js';

export type Labels = Readonly<Record<string, string>>;

export interface EvaluateOptions {
  /**
   * Whether the labels belong to a namespaced object (a namespace's labels, a pod's). Calico's
   * `global()` means "non-namespaced resources" and is meaningful in a rule's namespaceSelector:
   * it is false here when `namespaced` is true. Default false, which matches libcalico-go's
   * evaluator (global() is true) for callers that do not make the distinction.
   */
  readonly namespaced?: boolean;
}

const hasOwn = Object.prototype.hasOwnProperty;

/**
 * Evaluates `sel` against a label map with Calico semantics: `==`, `contains`, `starts with`,
 * `ends with`, `in` need the label present; `!=` and `not in` are true when it is absent.
 * Only own properties count as labels (a key named `constructor` is not inherited from Object).
 */
export function evaluateSelector(sel: Selector, labels: Labels, opts: EvaluateOptions = {}): boolean {
  switch (sel.op) {
    case 'all':
      return true;
    case 'global':
      return opts.namespaced !== true;
    case 'has':
      return hasOwn.call(labels, sel.key);
    case 'not':
      return !evaluateSelector(sel.operand, labels, opts);
    case 'and':
      return sel.operands.every((o) => evaluateSelector(o, labels, opts));
    case 'or':
      return sel.operands.some((o) => evaluateSelector(o, labels, opts));
    default:
      break;
  }
  const present = hasOwn.call(labels, sel.key);
  const v = present ? labels[sel.key]! : '';
  switch (sel.op) {
    case 'eq':
      return present && v === sel.value;
    case 'ne':
      return !present || v !== sel.value;
    case 'contains':
      return present && v.includes(sel.value);
    case 'startsWith':
      return present && v.startsWith(sel.value);
    case 'endsWith':
      return present && v.endsWith(sel.value);
    case 'in':
      return present && sel.values.includes(v);
    case 'notIn':
      return !present || !sel.values.includes(v);
  }
}

/** Labels every selector in `sel` refers to (for indexing: a label change outside it cannot change the result). */
export function selectorKeys(sel: Selector, out: Set<string> = new Set()): Set<string> {
  switch (sel.op) {
    case 'all': case 'global':
      return out;
    case 'not':
      return selectorKeys(sel.operand, out);
    case 'and': case 'or':
      for (const o of sel.operands) selectorKeys(o, out);
      return out;
    default:
      out.add(sel.key);
      return out;
  }
}
