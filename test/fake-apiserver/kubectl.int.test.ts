import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeApiServer } from './server.js';

/**
 * Fidelity check with a real client: the machine's kubectl (offline, kubeconfig pointing at the fake)
 * gets, applies, watches and deletes through the fake exactly as against a cluster. The fake serves no
 * OpenAPI, so `apply` runs with  (a listed deviation).
 */
const KUBECTL = '/usr/bin/kubectl';
let server: FakeApiServer;
let dir: string;

async function kubectl(...args: string[]) {
  return execa(
    KUBECTL,
    ['--kubeconfig', join(dir, 'kubeconfig'), '--cache-dir', join(dir, 'cache'), '--request-timeout=10s', ...args],
    {
      reject: false,
      timeout: 30_000,
    },
  );
}

const MANIFEST = (blockSize: number) => `
apiVersion: margay.dev/v1
kind: IPPool
metadata:
  name: pool-a
spec:
  cidr: 10.244.0.0/16
  blockSize: ${blockSize}
  natOutgoing: true
---
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: default
  labels: {app: web}
spec:
  nodeName: node-1
  containers: [{name: c, image: registry.k8s.io/pause:3.9}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: default}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
apiVersion: margay.dev/v1
kind: GlobalNetworkPolicy
metadata: {name: allow-dns}
spec: {selector: all(), types: [Egress], egress: [{action: Allow, protocol: UDP, destination: {ports: [53]}}]}
`;

beforeAll(async () => {
  const probe = await execa(KUBECTL, ['version', '--client', '-o', 'json'], { reject: false });
  if (probe.exitCode !== 0) {
    throw new Error(
      `${KUBECTL} is needed for the fake API server's fidelity check (install kubernetes-client): ${probe.stderr}`,
    );
  }
  server = await FakeApiServer.start();
  dir = mkdtempSync(join(tmpdir(), 'mgy-kubectl-'));
  server.writeKubeconfig(join(dir, 'kubeconfig'));
});

afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('kubectl against the fake API server', () => {
  it('apply creates, re-apply patches (strategic merge for built-ins, merge patch for CRs), get reads back', async () => {
    writeFileSync(join(dir, 'm.yaml'), MANIFEST(26));
    const first = await kubectl('apply', '-f', join(dir, 'm.yaml'));
    expect(first.stderr).toBe('');
    expect(first.stdout.split('\n')).toEqual([
      'ippool.margay.dev/pool-a created',
      'pod/web created',
      'networkpolicy.networking.k8s.io/deny-all created',
      'globalnetworkpolicy.margay.dev/allow-dns created',
    ]);
    const posts = server.requests.filter((r) => r.method === 'POST');
    expect(posts.length).toBe(4);
    for (const p of posts) expect(p.url).toContain('fieldValidation=Strict');
    writeFileSync(join(dir, 'm.yaml'), MANIFEST(27));
    const second = await kubectl('apply', '-f', join(dir, 'm.yaml'));
    expect(second.stdout.split('\n')).toEqual([
      'ippool.margay.dev/pool-a configured',
      'pod/web unchanged',
      'networkpolicy.networking.k8s.io/deny-all unchanged',
      'globalnetworkpolicy.margay.dev/allow-dns unchanged',
    ]);
    const patches = server.requests.filter((r) => r.method === 'PATCH').map((r) => r.url.split('?')[0]);
    expect(patches).toEqual(['/apis/margay.dev/v1/ippools/pool-a']);
    const pools = JSON.parse((await kubectl('get', 'ippools', '-o', 'json')).stdout) as {
      items: { spec: unknown; metadata: { generation: number } }[];
    };
    expect(pools.items).toHaveLength(1);
    expect(pools.items[0]!.spec).toEqual({ cidr: '10.244.0.0/16', blockSize: 27, natOutgoing: true });
    expect(pools.items[0]!.metadata.generation).toBe(2);
  });

  it('get -A -o json, label and field selectors, table output, NotFound and AlreadyExists messages', async () => {
    const all = JSON.parse((await kubectl('get', 'pods', '-A', '-o', 'json')).stdout) as {
      kind: string;
      items: { metadata: { name: string } }[];
    };
    expect(all.kind).toBe('List');
    expect(all.items.map((p) => p.metadata.name)).toEqual(['web']);
    expect((await kubectl('get', 'pods', '-l', 'app=web', '-o', 'name')).stdout).toBe('pod/web');
    expect((await kubectl('get', 'pods', '-l', 'app!=web', '-o', 'name')).stdout).toBe('');
    expect((await kubectl('get', 'pods', '-A', '--field-selector', 'spec.nodeName=node-1', '-o', 'name')).stdout).toBe(
      'pod/web',
    );
    expect((await kubectl('get', 'pods', '-A', '--field-selector', 'spec.nodeName=node-2', '-o', 'name')).stdout).toBe(
      '',
    );
    const table = await kubectl('get', 'namespaces');
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+AGE$/);
    expect(table.stdout).toContain('kube-system');
    const missing = await kubectl('get', 'ippool', 'nope');
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toBe('Error from server (NotFound): ippools.margay.dev "nope" not found');
    const dup = await kubectl('create', '-f', join(dir, 'm.yaml'));
    expect(dup.stderr).toContain('Error from server (AlreadyExists): error when creating');
    expect(dup.stderr).toContain('ippools.margay.dev "pool-a" already exists');
  });

  it('get --watch streams changes made by another client', async () => {
    const proc = execa(
      KUBECTL,
      [
        '--kubeconfig',
        join(dir, 'kubeconfig'),
        '--cache-dir',
        join(dir, 'cache'),
        'get',
        'ippools',
        '--watch',
        '-o',
        'name',
      ],
      {
        reject: false,
      },
    );
    let out = '';
    proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    const waitFor = async (text: string) => {
      const deadline = Date.now() + 10_000;
      while (!out.includes(text)) {
        if (Date.now() > deadline) throw new Error(`kubectl --watch never printed ${text}; got ${JSON.stringify(out)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    try {
      await waitFor('ippool.margay.dev/pool-a');
      server.create({
        apiVersion: 'margay.dev/v1',
        kind: 'IPPool',
        metadata: { name: 'pool-b' },
        spec: { cidr: '10.96.0.0/16' },
      });
      await waitFor('ippool.margay.dev/pool-b');
      expect((await kubectl('delete', 'ippool', 'pool-b')).stdout).toBe('ippool.margay.dev "pool-b" deleted');
      await waitFor('ippool.margay.dev/pool-b\nippool.margay.dev/pool-b');
    } finally {
      proc.kill();
      await proc;
    }
    expect(out.trim().split('\n')).toEqual([
      'ippool.margay.dev/pool-a',
      'ippool.margay.dev/pool-b',
      'ippool.margay.dev/pool-b',
    ]);
  });
});
