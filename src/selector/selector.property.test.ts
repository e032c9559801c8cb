import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalSet,
  compileSelector,
  evaluateSelector,
  labelSelectorToSelector,
  parseK8sLabelSelectorString,
  parseSelector,
  printSelector,
  type LabelSelector,
  type Selector,
} from './index.js';

// Small alphabets so random label maps hit the selector's keys and values often.
const KEYS = ['a', 'b', 'x.io/name', 'in', 'has', 'all', 'not', 'constructor', 'k-1_2'];
// No value holds both quote kinds (no string literal can express that), so every AST prints.
// Values with selector syntax inside test the printer's quoting.
const VALUES = ['', 'v', 'vv', 'w', 'a"b', "c'd", ' sp ', 'v.w', 'x && y', '}{,', 'a) || (b', '"', "'", '!=='];
const key = fc.constantFrom(...KEYS);
const value = fc.constantFrom(...VALUES);

const selectorArb: fc.Arbitrary<Selector> = fc.letrec<{ sel: Selector }>((tie) => ({
  sel: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant<Selector>({ op: 'all' }),
    fc.constant<Selector>({ op: 'global' }),
    key.map((k): Selector => ({ op: 'has', key: k })),
    fc
      .tuple(fc.constantFrom('eq', 'ne', 'contains', 'startsWith', 'endsWith' as const), key, value)
      .map(([op, k, v]): Selector => ({ op, key: k, value: v })),
    fc
      .tuple(fc.constantFrom('in', 'notIn' as const), key, fc.array(value, { maxLength: 3 }))
      .map(([op, k, vs]): Selector => ({ op, key: k, values: canonicalSet(vs) })),
    tie('sel').map((s): Selector => ({ op: 'not', operand: s })),
    fc
      .tuple(fc.constantFrom('and', 'or' as const), fc.array(tie('sel'), { minLength: 2, maxLength: 3 }))
      .map(([op, operands]): Selector => ({ op, operands })),
  ),
})).sel;

const labelsArb = fc.dictionary(key, value, { maxKeys: 5 }).map((d) => ({ ...d }));

/** Reference: Calico's documented meaning, written directly over an explicit Map. */
function reference(sel: Selector, labels: ReadonlyMap<string, string>, namespaced: boolean): boolean {
  const get = (k: string): string | undefined => labels.get(k);
  switch (sel.op) {
    case 'all':
      return true;
    case 'global':
      return !namespaced;
    case 'has':
      return labels.has(sel.key);
    case 'eq':
      return get(sel.key) === sel.value;
    case 'ne':
      return get(sel.key) !== sel.value;
    case 'contains': {
      const v = get(sel.key);
      return v !== undefined && v.indexOf(sel.value) >= 0;
    }
    case 'startsWith': {
      const v = get(sel.key);
      return v !== undefined && v.slice(0, sel.value.length) === sel.value;
    }
    case 'endsWith': {
      const v = get(sel.key);
      return v !== undefined && v.length >= sel.value.length && v.slice(v.length - sel.value.length) === sel.value;
    }
    case 'in': {
      const v = get(sel.key);
      return v !== undefined && new Set(sel.values).has(v);
    }
    case 'notIn': {
      const v = get(sel.key);
      return v === undefined || !new Set(sel.values).has(v);
    }
    case 'not':
      return !reference(sel.operand, labels, namespaced);
    case 'and':
      return sel.operands.reduce<boolean>((acc, o) => reference(o, labels, namespaced) && acc, true);
    case 'or':
      return sel.operands.reduce<boolean>((acc, o) => reference(o, labels, namespaced) || acc, false);
  }
}

describe('selector properties', () => {
  it('parseSelector(printSelector(x)) deep-equals x', () => {
    fc.assert(
      fc.property(selectorArb, (sel) => {
        expect(parseSelector(printSelector(sel))).toEqual(sel);
      }),
      { numRuns: 2000 },
    );
  });

  it('printing is canonical: print(parse(print(x))) === print(x)', () => {
    fc.assert(
      fc.property(selectorArb, (sel) => {
        const once = printSelector(sel);
        expect(printSelector(parseSelector(once))).toBe(once);
      }),
      { numRuns: 500 },
    );
  });

  it('evaluateSelector agrees with the reference evaluator', () => {
    fc.assert(
      fc.property(selectorArb, labelsArb, fc.boolean(), (sel, labels, namespaced) => {
        expect(evaluateSelector(sel, labels, { namespaced })).toBe(
          reference(sel, new Map(Object.entries(labels)), namespaced),
        );
      }),
      { numRuns: 3000 },
    );
  });

  it('compileSelector agrees with evaluateSelector', () => {
    fc.assert(
      fc.property(selectorArb, labelsArb, fc.boolean(), (sel, labels, namespaced) => {
        expect(compileSelector(sel, { namespaced })(labels)).toBe(evaluateSelector(sel, labels, { namespaced }));
      }),
      { numRuns: 3000 },
    );
  });

  it('evaluating the printed-and-reparsed selector gives the same answer', () => {
    fc.assert(
      fc.property(selectorArb, labelsArb, (sel, labels) => {
        expect(evaluateSelector(parseSelector(printSelector(sel)), labels)).toBe(evaluateSelector(sel, labels));
      }),
      { numRuns: 1000 },
    );
  });

  it('a Kubernetes LabelSelector, structured or as a query string, means what Kubernetes says it means', () => {
    const k8sKey = fc.constantFrom('a', 'b', 'x.io/name', 'k-1_2');
    const k8sValue = fc.constantFrom('', 'v', 'vv', 'w', 'v.w', 'A-9');
    const req = fc.oneof(
      fc.record({
        key: k8sKey,
        operator: fc.constantFrom('In', 'NotIn'),
        values: fc.array(k8sValue, { minLength: 1, maxLength: 3 }),
      }),
      fc.record({ key: k8sKey, operator: fc.constantFrom('Exists', 'DoesNotExist') }),
    );
    const lsArb = fc.record(
      {
        matchLabels: fc.dictionary(k8sKey, k8sValue, { maxKeys: 2 }).map((d) => ({ ...d })),
        matchExpressions: fc.array(req, { maxLength: 3 }),
      },
      { requiredKeys: [] },
    );
    const k8sLabels = fc.dictionary(k8sKey, k8sValue, { maxKeys: 4 }).map((d) => ({ ...d }));
    // apimachinery's meaning, written directly (labels.Requirement.Matches).
    const matches = (ls: LabelSelector, l: Record<string, string>): boolean =>
      Object.entries(ls.matchLabels ?? {}).every(([k, v]) => Object.hasOwn(l, k) && l[k] === v) &&
      (ls.matchExpressions ?? []).every((r) => {
        const has = Object.hasOwn(l, r.key);
        if (r.operator === 'Exists') return has;
        if (r.operator === 'DoesNotExist') return !has;
        if (r.operator === 'In') return has && r.values!.includes(l[r.key]!);
        return !has || !r.values!.includes(l[r.key]!);
      });
    const query = (ls: LabelSelector): string =>
      [
        ...Object.entries(ls.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`),
        ...(ls.matchExpressions ?? []).map((r) =>
          r.operator === 'Exists'
            ? r.key
            : r.operator === 'DoesNotExist'
              ? `!${r.key}`
              : `${r.key} ${r.operator === 'In' ? 'in' : 'notin'} (${r.values!.join(',')})`,
        ),
      ].join(',');
    fc.assert(
      fc.property(lsArb, k8sLabels, (ls, labels) => {
        const want = matches(ls, labels);
        expect(evaluateSelector(labelSelectorToSelector(ls), labels)).toBe(want);
        expect(evaluateSelector(parseK8sLabelSelectorString(query(ls)), labels)).toBe(want);
      }),
      { numRuns: 2000 },
    );
  });
});
