import { describe, expect, it } from 'vitest';
import { SelectorParseError, evaluateSelector, parseSelector, printSelector } from './index.js';

const m = (sel: string, labels: Record<string, string>, namespaced?: boolean): boolean =>
  evaluateSelector(parseSelector(sel), labels, namespaced === undefined ? {} : { namespaced });

describe('parseSelector + evaluateSelector (Calico semantics)', () => {
  it.each<[string, Record<string, string>, boolean]>([
    ['', {}, true],
    ['   ', { a: 'b' }, true],
    ['all()', {}, true],
    ['all( )', { a: 'b' }, true],
    ['global()', {}, true],
    ['a == "b"', { a: 'b' }, true],
    ["a == 'b'", { a: 'c' }, false],
    ['a == "b"', {}, false],
    ['a != "b"', {}, true],
    ['a != "b"', { a: 'c' }, true],
    ['a != "b"', { a: 'b' }, false],
    ['has(a)', { a: '' }, true],
    ['has( a )', {}, false],
    ['!has(a)', {}, true],
    ['!has(a)', { a: 'x' }, false],
    ['a in {"x", "y"}', { a: 'y' }, true],
    ['a in {"x", "y"}', {}, false],
    ['a in {}', { a: '' }, false],
    ['a not in {"x", "y"}', {}, true],
    ['a not in {"x", "y"}', { a: 'x' }, false],
    ['a not in {"x", "y"}', { a: 'z' }, true],
  ])('%s on %j → %s', (sel, labels, want) => {
    expect(m(sel, labels)).toBe(want);
  });

  it.each<[string, Record<string, string>, boolean]>([
    ['a contains "ell"', { a: 'hello' }, true],
    ['a contains "ell"', {}, false],
    ['a starts with "he"', { a: 'hello' }, true],
    ['a starts with "lo"', { a: 'hello' }, false],
    ['a ends with "lo"', { a: 'hello' }, true],
    ['a ends with "he"', { a: 'hello' }, false],
    ['projectcalico.org/name == "ns1"', { 'projectcalico.org/name': 'ns1' }, true],
    ['a-b.c_d/E9 == "x"', { 'a-b.c_d/E9': 'x' }, true],
    [`a == 'say "hi"'`, { a: 'say "hi"' }, true],
    ['has(constructor)', {}, false],
    ['toString != "x"', {}, true],
  ])('%s on %j → %s', (sel, labels, want) => {
    expect(m(sel, labels)).toBe(want);
  });

  it('gives ! precedence over && and && over ||', () => {
    const sel = 'a == "1" || b == "1" && c == "1"';
    expect(m(sel, { a: '1' })).toBe(true);
    expect(m(sel, { b: '1' })).toBe(false);
    expect(m(sel, { b: '1', c: '1' })).toBe(true);
    expect(m('(a == "1" || b == "1") && c == "1"', { a: '1' })).toBe(false);
    expect(m('!a == "1" && has(b)', { b: 'x' })).toBe(true);
    expect(m('!(a == "1" && has(b))', { a: '1' })).toBe(true);
    expect(parseSelector('!!has(a)')).toEqual({ op: 'has', key: 'a' });
    expect(parseSelector('!!!has(a)')).toEqual({ op: 'not', operand: { op: 'has', key: 'a' } });
  });

  it('builds flat n-ary trees and sorted, unique sets', () => {
    expect(parseSelector('has(a) && has(b) && has(c) || all()')).toEqual({
      op: 'or',
      operands: [
        {
          op: 'and',
          operands: [
            { op: 'has', key: 'a' },
            { op: 'has', key: 'b' },
            { op: 'has', key: 'c' },
          ],
        },
        { op: 'all' },
      ],
    });
    expect(parseSelector("k in {'b', \"a\", 'b',}")).toEqual({ op: 'in', key: 'k', values: ['a', 'b'] });
  });

  it('reads operator words only after a label, so keywords can be label keys', () => {
    expect(parseSelector('in == "x"')).toEqual({ op: 'eq', key: 'in', value: 'x' });
    expect(parseSelector('has == "x" && all not in {"y"}')).toEqual({
      op: 'and',
      operands: [
        { op: 'eq', key: 'has', value: 'x' },
        { op: 'notIn', key: 'all', values: ['y'] },
      ],
    });
    expect(parseSelector('a\tstarts   with "x"')).toEqual({ op: 'startsWith', key: 'a', value: 'x' });
  });

  it('accepts the words of a two-word operator touching, as libcalico-go does (notin, startswith)', () => {
    expect(parseSelector('a notin {"x"}')).toEqual({ op: 'notIn', key: 'a', values: ['x'] });
    expect(parseSelector('a startswith "x"')).toEqual({ op: 'startsWith', key: 'a', value: 'x' });
    expect(parseSelector('a endswith"x"')).toEqual({ op: 'endsWith', key: 'a', value: 'x' });
    expect(() => parseSelector('a notice {"x"}')).toThrow(/expected "not in"/);
    expect(() => parseSelector('a inside {"x"}')).toThrow(/expected an operator/);
  });

  it('global() is false for namespaced labels and true otherwise', () => {
    expect(m('global()', {}, true)).toBe(false);
    expect(m('global()', {}, false)).toBe(true);
    expect(m('!global()', { a: 'b' }, true)).toBe(true);
  });
});

describe('parse errors name the position, what was expected and what was found', () => {
  it.each<[string, number, RegExp]>([
    ['a ==', 4, /expected a quoted string, found end of input/],
    ['a = "b"', 3, /expected "=="/],
    ['a == b', 5, /expected a quoted string, found label "b"/],
    ['(a == "b"', 9, /expected "\)", found end of input/],
    ['a in {"x"', 9, /expected "," or "}", found end of input/],
    ['a in "x"', 5, /expected "\{" starting a set literal/],
    ['a == "x" b', 9, /expected "&&", "\|\|" or end of input, found label "b"/],
    ['a == "x" && b', 13, /expected an operator/],
    ['has(', 4, /expected a label key inside has\(/],
    ['has(a', 5, /expected "\)" closing has\(/],
    ['&& a', 0, /expected a label, has\(\), all\(\), global\(\), "!" or "\("/],
    ['a == "x', 7, /expected closing " of the string starting at position 5/],
    ['a foo "x"', 2, /expected an operator/],
    ['a starts "x"', 9, /expected "starts with"/],
    ['a & b', 3, /expected "&&"/],
    ['a == "x" ||', 11, /found end of input/],
    ['#', 0, /found "#"/],
  ])('%s', (src, pos, msg) => {
    let err: unknown;
    try {
      parseSelector(src);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SelectorParseError);
    const e = err as SelectorParseError;
    expect(e.code).toBe('MGY_SELECTOR_PARSE');
    expect(e.position).toBe(pos);
    expect(e.source).toBe(src);
    expect(e.message).toMatch(msg);
    expect(e.message).toContain(`at position ${pos}`);
  });
});

describe('printSelector', () => {
  it.each([
    ['a=="b"', 'a == "b"'],
    ["a == 'x\"y'", `a == 'x"y'`],
    ['(a == "1" || b == "1") && !(c == "1" && has(d))', '(a == "1" || b == "1") && !(c == "1" && has(d))'],
    ['((has(a) && has(b)) && has(c))', '(has(a) && has(b)) && has(c)'],
    ['!(!has(a))', '!(!has(a))'],
    ['k not in {"b","a"}', 'k not in {"a", "b"}'],
    ['', 'all()'],
    ['global() || all()', 'global() || all()'],
    [
      'a starts with "x" && a ends with "y" && a contains "z"',
      'a starts with "x" && a ends with "y" && a contains "z"',
    ],
  ])('%s → %s', (src, want) => {
    expect(printSelector(parseSelector(src))).toBe(want);
  });

  it('rejects ASTs no string can express', () => {
    expect(() => printSelector({ op: 'eq', key: 'a b', value: 'x' })).toThrow(/label key "a b"/);
    expect(() => printSelector({ op: 'eq', key: 'a', value: `'"` })).toThrow(/value: a value cannot contain both/);
    expect(() => printSelector({ op: 'and', operands: [{ op: 'all' }] })).toThrow(/at least two operands/);
  });
});
