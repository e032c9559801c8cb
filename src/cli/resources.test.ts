import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runMargayctl } from './margayctl.js';
import { resolveKind } from './resources.js';

let dir: string;
let ds: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mgy-cli-'));
  ds = `file:${join(dir, 'store')}`;
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function ctl(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runMargayctl(argv, { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) });
  return { code, out, err };
}

const MANIFEST = `apiVersion: margay.dev/v1
kind: IPPool
metadata: { name: pool-a }
spec: { cidr: 10.244.0.0/16, natOutgoing: true }
---
apiVersion: v1
kind: Namespace
metadata: { name: team-a, labels: { env: prod } }
`;

describe('margayctl apply/get/delete', () => {
  it('applies a multi-document file, is idempotent, and shows defaults', async () => {
    const f = join(dir, 'm.yaml');
    await writeFile(f, MANIFEST);
    let r = await ctl('apply', '-f', f, '--datastore', ds);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toBe('ippools.margay.dev/pool-a created\nnamespaces/team-a created\n');
    r = await ctl('apply', '-f', f, '--datastore', ds);
    expect(r.out).toBe('ippools.margay.dev/pool-a unchanged\nnamespaces/team-a unchanged\n');
    r = await ctl('get', 'ippools', '--datastore', ds);
    expect(r.out).toMatch(/^NAME\s+SUMMARY\s+VERSION\npool-a\s+10\.244\.0\.0\/16 block \/26 nat\s+\d+\n$/);
    r = await ctl('get', 'IPPool', 'pool-a', '-o', 'yaml', '--datastore', ds);
    expect(r.out).toContain('blockSize: 26');
    r = await ctl('get', 'ns', '-l', 'env=prod', '-o', 'json', '--datastore', ds);
    expect(JSON.parse(r.out).items.map((o: { metadata: { name: string } }) => o.metadata.name)).toEqual(['team-a']);
  });

  it('applies nothing when any document is bad, naming file and line', async () => {
    const f = join(dir, 'bad.yaml');
    await writeFile(
      f,
      `${MANIFEST}---\napiVersion: margay.dev/v1\nkind: IPPool\nmetadata: { name: pool-b }\nspec: { cidr: 10.0.0.0/8, blockSize: 99 }\n`,
    );
    const r = await ctl('apply', '-f', f, '--datastore', ds);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${f}:13:`); // the line of the offending spec
    expect(r.err).toContain('spec.blockSize');
    expect((await ctl('get', 'ippools', '--datastore', ds)).out).toBe('No ippools found.\n');
  });

  it('deletes by name and by file; unknown kinds and missing objects are clear errors', async () => {
    const f = join(dir, 'm.yaml');
    await writeFile(f, MANIFEST);
    await ctl('apply', '-f', f, '--datastore', ds);
    expect((await ctl('delete', 'ippool', 'pool-a', '--datastore', ds)).out).toBe('ippools/pool-a deleted\n');
    const again = await ctl('delete', 'ippool', 'pool-a', '--datastore', ds);
    expect(again).toMatchObject({ code: 1, err: 'error: ippools/pool-a not found\n' });
    expect((await ctl('delete', '-f', f, '--datastore', ds)).err).toContain('ippools/pool-a not found');
    const unknown = await ctl('get', 'gizmos', '--datastore', ds);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('unknown resource type "gizmos"');
  });

  it('resolves kind spellings, keeping Kubernetes and Margay NetworkPolicy apart', () => {
    expect(resolveKind('po').id).toBe('Pod');
    expect(resolveKind('networkpolicies').id).toBe('NetworkPolicy');
    expect(resolveKind('networkpolicies.networking.k8s.io').id).toBe('K8sNetworkPolicy');
    expect(resolveKind('GlobalNetworkPolicy').id).toBe('GlobalNetworkPolicy');
  });
});
