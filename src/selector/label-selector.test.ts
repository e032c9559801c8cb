import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  InvalidSelectorError,
  SelectorParseError,
  evaluateSelector,
  labelSelectorToSelector,
  parseK8sLabelSelectorString,
  printSelector,
  type LabelSelector,
} from './index.js';

describe('labelSelectorToSelector', () => {
  it('an empty LabelSelector selects everything', () => {
    expect(labelSelectorToSelector({})).toEqual({ op: 'all' });
    expect(labelSelectorToSelector({ matchLabels: {}, matchExpressions: [] })).toEqual({ op: 'all' });
  });

  it('converts matchLabels and every operator', () => {
    const sel = labelSelectorToSelector({
      matchLabels: { role: 'db', app: 'web' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['b', 'a'] },
        { key: 'env', operator: 'NotIn', values: ['prod'] },
        { key: 'app.kubernetes.io/name', operator: 'Exists' },
        { key: 'legacy', operator: 'DoesNotExist', values: [] },
      ],
    });
    expect(printSelector(sel)).toBe(
      'app == "web" && role == "db" && tier in {"a", "b"} && env not in {"prod"} && has(app.kubernetes.io/name) && !has(legacy)',
    );
  });

  it.each<[LabelSelector, RegExp]>([
    [
      { matchExpressions: [{ key: 'a', operator: 'Equals', values: ['x'] }] },
      /matchExpressions\[0\]\.operator: unknown operator "Equals"/,
    ],
    [
      { matchExpressions: [{ key: 'a', operator: 'In', values: [] }] },
      /matchExpressions\[0\]\.values: operator In needs at least one value/,
    ],
    [{ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }, /operator Exists takes no values/],
    [{ matchLabels: { 'bad key': 'x' } }, /matchLabels\["bad key"\]: label key name "bad key"/],
    [{ matchLabels: { a: 'x y' } }, /label value "x y"/],
    [
      { matchExpressions: [{ key: 'Upper.Case/x', operator: 'Exists' }] },
      /prefix "Upper.Case" must be a DNS subdomain/,
    ],
  ])('rejects %j', (ls, msg) => {
    expect(() => labelSelectorToSelector(ls)).toThrow(InvalidSelectorError);
    expect(() => labelSelectorToSelector(ls)).toThrow(msg);
  });
});

describe('parseK8sLabelSelectorString', () => {
  it.each([
    ['', 'all()'],
    ['a=b', 'a == "b"'],
    ['a==b', 'a == "b"'],
    ['a!=b', 'a != "b"'],
    ['a', 'has(a)'],
    ['!a', '!has(a)'],
    ['a in (y, x)', 'a in {"x", "y"}'],
    ['a notin (x)', 'a not in {"x"}'],
    [' a = b , ! c,d in(e),f ', 'a == "b" && !has(c) && d in {"e"} && has(f)'],
    ['x.io/name=web,a=', 'x.io/name == "web" && a == ""'],
    ['a in ()', 'a in {""}'],
  ])('%s → %s', (src, want) => {
    expect(printSelector(parseK8sLabelSelectorString(src))).toBe(want);
  });

  it('has Kubernetes semantics: != and notin match objects without the label', () => {
    expect(evaluateSelector(parseK8sLabelSelectorString('a!=b'), {})).toBe(true);
    expect(evaluateSelector(parseK8sLabelSelectorString('a notin (b)'), {})).toBe(true);
    expect(evaluateSelector(parseK8sLabelSelectorString('a in (b)'), {})).toBe(false);
    expect(evaluateSelector(parseK8sLabelSelectorString('a=b,c'), { a: 'b', c: '' })).toBe(true);
  });

  it.each<[string, number, RegExp]>([
    ['a=b,', 4, /expected a label key/],
    ['a>1', 1, /numeric < and > are not supported/],
    ['a in x', 5, /expected "\(" starting the value set/],
    ['a in (x', 7, /expected "," or "\)"/],
    ['a is (x)', 2, /expected an operator/],
    ['a=b c', 4, /expected "," or end of input/],
    ['a=b!', 3, /expected "," or end of input/],
    ['-a=b', 0, /a valid label key/],
    ['a=-b', 2, /a valid label value/],
  ])('rejects %s at %i', (src, pos, msg) => {
    let err: unknown;
    try {
      parseK8sLabelSelectorString(src);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SelectorParseError);
    expect((err as SelectorParseError).position).toBe(pos);
    expect((err as SelectorParseError).message).toMatch(msg);
  });
});

// Reference: Kubernetes' LabelSelectorAsSelector + Requirement.Matches, written directly.
function k8sMatches(ls: LabelSelector, labels: Record<string, string>): boolean {
  const has = (k: string): boolean => Object.hasOwn(labels, k);
  for (const [k, v] of Object.entries(ls.matchLabels ?? {})) if (!has(k) || labels[k] !== v) return false;
  for (const r of ls.matchExpressions ?? []) {
    const vals = r.values ?? [];
    const ok =
      r.operator === 'In'
        ? has(r.key) && vals.includes(labels[r.key]!)
        : r.operator === 'NotIn'
          ? !has(r.key) || !vals.includes(labels[r.key]!)
          : r.operator === 'Exists'
            ? has(r.key)
            : !has(r.key);
    if (!ok) return false;
  }
  return true;
}

describe('LabelSelector conversion agrees with Kubernetes matching', () => {
  const key = fc.constantFrom('a', 'b', 'app.kubernetes.io/name', 'tier');
  const value = fc.constantFrom('x', 'y', 'z', '');
  const req = fc.oneof(
    fc.record({
      key,
      operator: fc.constantFrom('In', 'NotIn'),
      values: fc.array(value, { minLength: 1, maxLength: 3 }),
    }),
    fc.record({ key, operator: fc.constantFrom('Exists', 'DoesNotExist') }),
  );
  const ls = fc.record(
    { matchLabels: fc.dictionary(key, value, { maxKeys: 3 }), matchExpressions: fc.array(req, { maxLength: 4 }) },
    { requiredKeys: [] },
  );
  const labels = fc.dictionary(key, value, { maxKeys: 4 });

  it('on random selectors and label maps', () => {
    fc.assert(
      fc.property(ls, labels, (sel, lab) => {
        expect(evaluateSelector(labelSelectorToSelector(sel), lab)).toBe(k8sMatches(sel, lab));
      }),
      { numRuns: 3000 },
    );
  });
});
