import { describe, expect, it } from 'vitest';
import { countDocuments, hasNoObjects, replaceDocument } from './file-manifests.js';

const TEXT = '# head\na: 1 # keep\n---\n# second\nb: [1, 2\n---\nc: 3\n...\n---\nd: 4\n';

describe('replaceDocument', () => {
  it('replaces one document and keeps every other byte, even of a broken document', () => {
    expect(countDocuments(TEXT)).toBe(4);
    const out = replaceDocument(TEXT, 2, 'c: 30\n');
    expect(out).toBe('# head\na: 1 # keep\n---\n# second\nb: [1, 2\n---\nc: 30\n...\n---\nd: 4\n');
    expect(replaceDocument(TEXT, 0, 'a: 2')).toBe(
      '# head\n---\na: 2\n---\n# second\nb: [1, 2\n---\nc: 3\n...\n---\nd: 4\n',
    );
  });

  it('removes a document', () => {
    expect(replaceDocument(TEXT, 3, undefined)).toBe('# head\na: 1 # keep\n---\n# second\nb: [1, 2\n---\nc: 3\n...\n');
    expect(hasNoObjects(replaceDocument('x: 1\n', 0, undefined))).toBe(true);
    expect(hasNoObjects('# only a comment\n---\n')).toBe(true);
    expect(hasNoObjects(TEXT)).toBe(false);
  });

  it('refuses an index the file does not have', () => {
    expect(() => replaceDocument(TEXT, 4, 'x: 1')).toThrow(/document 4 not found/);
  });
});
