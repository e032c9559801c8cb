import { describe, expect, it } from 'vitest';
import { applyManifests, parseManifests } from './apply.js';
import { MemoryDatastore } from './memory.js';
import { podFixture } from './contract-fixtures.js';

describe('applyManifests', () => {
  it('creates, leaves identical objects alone, and replaces changed ones', async () => {
    const store = new MemoryDatastore();
    const first = await applyManifests(store, [podFixture('ns1', 'a'), podFixture(undefined, 'b')]);
    expect(first.map((r) => [r.name, r.namespace, r.action])).toEqual([
      ['a', 'ns1', 'created'],
      ['b', 'default', 'created'],
    ]);
    const again = await applyManifests(store, [podFixture('ns1', 'a')]);
    expect(again[0]).toMatchObject({ action: 'unchanged', resourceVersion: first[0]!.resourceVersion });
    const changed = await applyManifests(store, [podFixture('ns1', 'a', { app: 'new' })]);
    expect(changed[0]!.action).toBe('configured');
    const stored = await store.get('Pod', 'a', 'ns1');
    expect(stored?.metadata.labels).toEqual({ app: 'new' });
    expect(BigInt(stored!.metadata.resourceVersion!)).toBeGreaterThan(BigInt(first[0]!.resourceVersion!));
  });

  it('rejects an invalid object with a ValidationError naming it, after applying those before it', async () => {
    const store = new MemoryDatastore();
    const bad = { apiVersion: 'margay.dev/v1', kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: 'not-a-cidr' } };
    const err = await applyManifests(store, [podFixture('ns1', 'ok'), bad]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MGY_VALIDATION' });
    expect(String((err as Error).message)).toMatch(/IPPool.*"p".*spec\.cidr/);
    expect(await store.get('Pod', 'ok', 'ns1')).toBeTruthy();
  });
});

describe('parseManifests', () => {
  it('ignores empty documents and comments', () => {
    const { objects, problems } = parseManifests(
      '# c\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n# end\n---\n',
      'e.yaml',
    );
    expect(objects).toHaveLength(1);
    expect(problems).toEqual([]);
  });

  it('returns valid objects and problems with line numbers', () => {
    const text = [
      'apiVersion: v1',
      'kind: Namespace',
      'metadata: {name: a}',
      '---',
      'apiVersion: margay.dev/v1',
      'kind: IPPool',
      'metadata: {name: p}',
      'spec:',
      '  cidr: 10.0.0.0/8',
      '  blockSize: 99',
      '---',
      'key: [unclosed',
    ].join('\n');
    const { objects, problems } = parseManifests(text, 'm.yaml');
    expect(objects.map((o) => o.metadata.name)).toEqual(['a']);
    expect(problems).toEqual([
      { file: 'm.yaml', line: 10, reason: expect.stringMatching(/spec\.blockSize/) },
      { file: 'm.yaml', line: expect.any(Number), reason: expect.stringMatching(/^YAML: /) },
    ]);
  });

  it('refuses an IP pool overlapping a stored one or another in the same batch, naming both, before writing anything', async () => {
    const store = new MemoryDatastore();
    const pool = (name: string, cidr: string) => ({
      apiVersion: 'margay.dev/v1',
      kind: 'IPPool',
      metadata: { name },
      spec: { cidr },
    });
    await applyManifests(store, [pool('a', '10.0.0.0/16')]);
    await expect(applyManifests(store, [podFixture('ns1', 'x'), pool('b', '10.0.128.0/24')])).rejects.toThrow(
      'invalid IPPool "b": spec.cidr: IPPool "b" (10.0.128.0/24) overlaps IPPool "a" (10.0.0.0/16); pools must not overlap',
    );
    expect(await store.get('Pod', 'x', 'ns1')).toBeUndefined();
    await expect(applyManifests(store, [pool('c', '10.1.0.0/16'), pool('d', '10.1.2.0/24')])).rejects.toThrow(
      /IPPool "d" .* overlaps IPPool "c"/,
    );
    // Replacing a pool by name with a changed CIDR is not an overlap with itself.
    expect((await applyManifests(store, [pool('a', '10.0.0.0/17')]))[0]!.action).toBe('configured');
  });
});
