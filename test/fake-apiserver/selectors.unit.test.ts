import { describe, expect, it } from 'vitest';
import {
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  SelectorParseError,
} from './selectors.js';
import { jsonPatch, mergePatch, PatchError, stripDirectives } from './patch.js';

describe('fake API server label selectors (k8s.io/apimachinery/pkg/labels syntax)', () => {
  const m = (sel: string, labels: Record<string, string>) => matchesLabels(parseLabelSelector(sel), labels);
  it.each([
    ['app=web', { app: 'web' }, true],
    ['app==web', { app: 'db' }, false],
    ['app!=web', {}, true],
    ['app!=web', { app: 'web' }, false],
    ['tier in (a, b),app', { tier: 'b', app: 'x' }, true],
    ['tier notin (a,b)', {}, true],
    ['tier notin (a,b)', { tier: 'a' }, false],
    ['!tier', { tier: 'a' }, false],
    ['example.com/role', { 'example.com/role': '' }, true],
    ['n>3', { n: '4' }, true],
    ['n<3', { n: 'x' }, false],
    ['', { any: 'thing' }, true],
  ] as const)('%s on %j → %s', (sel, labels, want) => {
    expect(m(sel, labels)).toBe(want);
  });

  it.each(['app in (', 'a=b,,c', '!!', 'a=b c', '-bad=x'])('rejects %j', (sel) => {
    expect(() => parseLabelSelector(sel)).toThrow(SelectorParseError);
  });
});

describe('fake API server field selectors', () => {
  const pod = { metadata: { name: 'a', namespace: 'ns' }, spec: { nodeName: 'n1' } };
  it('matches =, == and != over supported fields; absent fields read as empty', () => {
    const sup = ['metadata.name', 'spec.nodeName', 'status.phase'];
    expect(matchesFields(parseFieldSelector('spec.nodeName=n1,metadata.name==a', sup), pod)).toBe(true);
    expect(matchesFields(parseFieldSelector('spec.nodeName!=n1', sup), pod)).toBe(false);
    expect(matchesFields(parseFieldSelector('status.phase=', sup), pod)).toBe(true);
    expect(() => parseFieldSelector('spec.other=x', sup)).toThrow('field label not supported: spec.other');
  });
});

describe('fake API server patches', () => {
  it('merge patch (RFC 7386): null deletes, objects merge, arrays replace', () => {
    expect(mergePatch({ a: 1, b: { c: 2, d: 3 }, e: [1, 2] }, { a: null, b: { c: 9 }, e: [3] })).toEqual({
      b: { c: 9, d: 3 },
      e: [3],
    });
    expect(stripDirectives({ $patch: 'replace', a: { $retainKeys: ['x'], x: 1 } })).toEqual({ a: { x: 1 } });
  });

  it('JSON patch (RFC 6902): add/remove/replace/move/copy/test, with errors for bad paths', () => {
    const doc = { a: { b: [1, 2] }, c: 'x' };
    expect(
      jsonPatch(doc, [
        { op: 'add', path: '/a/b/-', value: 3 },
        { op: 'replace', path: '/c', value: 'y' },
        { op: 'copy', from: '/c', path: '/d' },
        { op: 'move', from: '/a/b/0', path: '/e' },
        { op: 'remove', path: '/d' },
        { op: 'test', path: '/c', value: 'y' },
        { op: 'add', path: '/f~1g', value: true },
      ]),
    ).toEqual({ a: { b: [2, 3] }, c: 'y', e: 1, 'f/g': true });
    expect(doc).toEqual({ a: { b: [1, 2] }, c: 'x' });
    expect(() => jsonPatch(doc, [{ op: 'remove', path: '/nope' }])).toThrow(PatchError);
    expect(() => jsonPatch(doc, [{ op: 'test', path: '/c', value: 'z' }])).toThrow(PatchError);
    expect(() => jsonPatch(doc, [{ op: 'replace', path: '/a/b/5', value: 0 }])).toThrow(PatchError);
    expect(() => jsonPatch(doc, { op: 'add' })).toThrow(PatchError);
  });
});
