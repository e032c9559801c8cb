import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatastore } from '../../src/datastore/index.js';
import type { Datastore } from '../../src/datastore/types.js';
import { createKernelAdapters, ExecaCommandRunner } from '../../src/kernel/index.js';
import { silentLogger } from '../../src/log.js';
import type { ResourceDef } from '../fake-apiserver/resources.js';
import { FakeApiServer } from '../fake-apiserver/server.js';
import { run, uniqueName } from '../helpers/netns.js';
import { AGENT, httpGet, sleep, waitFor } from './cluster.js';

// Kubernetes mode against the fake API server, the agent in the sandbox's own namespace: the node's
// address is taken from its InternalIP and recorded as annotations; the default pool is created; a
// block affine to the node is programmed; while the API server is down the dataplane stays and the
// agent stays live; once it is back, a change made meanwhile is picked up by the resync.
const API = 'margay.dev/v1';
const HEALTH = 'http://127.0.0.1:19099';
let server: FakeApiServer;
let store: Datastore;
let dir: string;
let agent: ChildProcess | undefined;
let link: string;
let ipForward: string;

beforeAll(async () => {
  server = await FakeApiServer.start({ bookmarkIntervalMs: 200 });
  dir = await mkdtemp(join(tmpdir(), 'mgy-agent-k8s-'));
  const kubeconfig = server.writeKubeconfig(join(dir, 'kubeconfig'));
  store = await openDatastore('kubernetes', { log: silentLogger(), kubeconfig });
  ipForward = (await run('sysctl', ['-n', 'net.ipv4.ip_forward'])).trim();
  link = uniqueName('kh');
  await run('ip', ['link', 'add', link, 'type', 'veth', 'peer', 'name', `${link}p`]);
  await run('ip', ['addr', 'add', '10.86.0.1/24', 'dev', link]);
  await run('ip', ['link', 'set', link, 'up']);
  await run('ip', ['link', 'set', `${link}p`, 'up']);
  // kubelet's Node object, with the address the agent is told to use.
  await store.create({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'k1' },
    status: { addresses: [{ type: 'InternalIP', address: '10.86.0.1' }] },
  });
  const log = createWriteStream(join(dir, 'agent.log'));
  agent = spawn(process.execPath, [AGENT], {
    env: {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      NODENAME: 'k1',
      MARGAY_DATASTORE: 'kubernetes',
      KUBECONFIG: kubeconfig,
      IP_AUTODETECTION_METHOD: 'kubernetes-internal-ip',
      MARGAY_RUN_DIR: join(dir, 'run'),
      MARGAY_HEALTH_PORT: '19099',
      MARGAY_METRICS_PORT: '19091',
      MARGAY_IPV4POOL_CIDR: '10.186.0.0/16',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  agent.stdout?.pipe(log);
  agent.stderr?.pipe(log);
  await waitFor('agent ready', async () => (await httpGet(`${HEALTH}/readiness`)).status === 200, 45_000, 300).catch(
    async (err: unknown) => {
      throw new Error(
        `${(err as Error).message}\n${(await readFile(join(dir, 'agent.log'), 'utf8')).split('\n').slice(-30).join('\n')}`,
      );
    },
  );
}, 110_000);

afterAll(async () => {
  agent?.kill('SIGKILL');
  await store?.close();
  await server?.stop();
  await execa('ip', ['link', 'del', link], { reject: false });
  for (const p of [109, 110, 111]) await execa('ip', ['route', 'flush', 'proto', String(p)], { reject: false });
  // The agent programmed the sandbox's own namespace: its chains (mgy-from-wl-dispatch drops traffic
  // from unknown mgy* veths), sets and ip_forward would stay for the next files of the same sandbox
  // (test/cni/add-del's pod ↔ node check failed after this file, on main as well).
  const k = await createKernelAdapters(new ExecaCommandRunner(silentLogger()), silentLogger(), { coprocess: false });
  for (const f of [4, 6] as const) for (const t of ['filter', 'nat'] as const) await k.iptables[f].removeOwned(t);
  for (const set of await k.ipsets.listNames()) if (set.startsWith('mgy')) await k.ipsets.destroy(set);
  if (ipForward !== undefined) await run('sysctl', ['-q', '-w', `net.ipv4.ip_forward=${ipForward}`]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function blackholes(): Promise<string[]> {
  return (JSON.parse((await execa('ip', ['-j', 'route', 'show', 'proto', '111'])).stdout) as { dst: string }[]).map(
    (r) => r.dst,
  );
}

describe('margay-node on the Kubernetes datastore (fake API server)', () => {
  it('records the InternalIP as margay.dev annotations and creates the default pool', async () => {
    const node = await store.get('Node', 'k1');
    expect(node?.metadata.annotations?.['margay.dev/IPv4Address']).toBe('10.86.0.1/24');
    const pools = (await store.list('IPPool')).items.map((p) => (p.spec as { cidr: string }).cidr);
    expect(pools).toEqual(['10.186.0.0/16']);
  });

  it('keeps the dataplane while the API server is down, stays live, and resyncs when it is back', async () => {
    const cidr = '10.186.0.0/26';
    const name = '10-186-0-0-26';
    await store.create({ apiVersion: API, kind: 'IPAMBlock', metadata: { name }, spec: { cidr, affinity: 'host:k1' } });
    await store.create({
      apiVersion: API,
      kind: 'BlockAffinity',
      metadata: { name: `k1-${name}` },
      spec: { node: 'k1', cidr, state: 'confirmed' },
    });
    await waitFor("blackhole for the node's block", async () => (await blackholes()).includes(cidr), 20_000);

    await server.goDown();
    await sleep(3000);
    expect(await blackholes()).toContain(cidr); // the last good dataplane stays
    expect((await httpGet(`${HEALTH}/liveness`)).status).toBe(200);
    expect(agent?.exitCode).toBeNull();
    // A change made while the agent cannot see it (straight into the fake's store: the server is down).
    const def = (plural: string) => ({ group: 'margay.dev', plural }) as unknown as ResourceDef;
    expect(server.store.remove(def('blockaffinities'), undefined, `k1-${name}`)).toBeDefined();
    expect(server.store.remove(def('ipamblocks'), undefined, name)).toBeDefined();
    await server.comeUp();
    await waitFor('block removed after the resync', async () => !(await blackholes()).includes(cidr), 45_000, 500);
    expect((await httpGet(`${HEALTH}/readiness`)).status).toBe(200);
  });
});
