import type { Selector, ValueOp } from './ast.js';

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
    case 'all':
    case 'global':
      return out;
    case 'not':
      return selectorKeys(sel.operand, out);
    case 'and':
    case 'or':
      for (const o of sel.operands) selectorKeys(o, out);
      return out;
    default:
      out.add(sel.key);
      return out;
  }
}

export type CompiledSelector = (labels: Labels) => boolean;

/**
 * Compiles `sel` to a closure with the same result as evaluateSelector (property-tested), for hot
 * paths that evaluate one selector against many label sets (policy and ipset membership).
 */
export function compileSelector(sel: Selector, opts: EvaluateOptions = {}): CompiledSelector {
  switch (sel.op) {
    case 'all':
      return () => true;
    case 'global': {
      const v = opts.namespaced !== true;
      return () => v;
    }
    case 'has': {
      const k = sel.key;
      return (l) => hasOwn.call(l, k);
    }
    case 'not': {
      const inner = compileSelector(sel.operand, opts);
      return (l) => !inner(l);
    }
    case 'and': {
      const parts = sel.operands.map((o) => compileSelector(o, opts));
      return (l) => parts.every((p) => p(l));
    }
    case 'or': {
      const parts = sel.operands.map((o) => compileSelector(o, opts));
      return (l) => parts.some((p) => p(l));
    }
    case 'in':
    case 'notIn': {
      const k = sel.key,
        set = new Set(sel.values),
        want = sel.op === 'in';
      return (l) => (hasOwn.call(l, k) ? set.has(l[k]!) === want : !want);
    }
    default: {
      const { key: k, value: v, op } = sel;
      const test = VALUE_TESTS[op];
      const absent = op === 'ne';
      return (l) => (hasOwn.call(l, k) ? test(l[k]!, v) : absent);
    }
  }
}

const VALUE_TESTS: Readonly<Record<ValueOp, (actual: string, v: string) => boolean>> = {
  eq: (a, v) => a === v,
  ne: (a, v) => a !== v,
  contains: (a, v) => a.includes(v),
  startsWith: (a, v) => a.startsWith(v),
  endsWith: (a, v) => a.endsWith(v),
};
