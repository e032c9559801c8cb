import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CniError, parseRequest } from '../../cni/index.js';
import { KernelOpError } from '../../src/errors.js';
import { FakeSysctlOps, FakeWorkloadVethOps } from '../../src/kernel/testing/index.js';
import { silentLogger } from '../../src/log.js';
import { AttachmentStore } from './attachment-store.js';
import { CniHandler } from './handler.js';
import { MapPods, MemoryIpam, RecordingEndpoints } from './testing/fakes.js';

// CniHandler over fake kernel adapters: the order of steps, the undo of every step on failure, and
// DEL's idempotence. The real kernel is exercised by test/cni/*.int.test.ts.
const log = silentLogger();
const CONF = JSON.stringify({ cniVersion: '1.0.0', name: 'net', type: 'margay', ipam: { type: 'margay-ipam' } });
const env = (cmd: string, id: string) => ({
  CNI_COMMAND: cmd,
  CNI_CONTAINERID: id,
  CNI_NETNS: `/run/netns/${id}`,
  CNI_IFNAME: 'eth0',
});

let dir: string;
let h: CniHandler;
let veths: FakeWorkloadVethOps;
let sysctl: FakeSysctlOps;
let ipam: MemoryIpam;
let endpoints: RecordingEndpoints;
let store: AttachmentStore;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mgy-h-'));
  veths = new FakeWorkloadVethOps();
  sysctl = new FakeSysctlOps();
  ipam = new MemoryIpam();
  endpoints = new RecordingEndpoints();
  store = new AttachmentStore(dir, log);
  await store.load();
  h = new CniHandler({
    nodeName: 'n',
    ipam,
    endpoints,
    pods: new MapPods(),
    veths,
    sysctl,
    store,
    log,
    mtu: () => 1450,
  });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('CniHandler', () => {
  it('ADD: IPAM, veth, sysctls, pod side, endpoint, record; the result names both ends', async () => {
    const r = await h.handle(parseRequest(env('ADD', 'a'), CONF), log);
    expect(r?.ips).toEqual([{ address: '10.244.0.1/32', gateway: '169.254.1.1', interface: 1 }]);
    expect(veths.ops).toEqual([expect.stringMatching(/^create mgy[0-9a-f]{11}$/), 'configure eth0']);
    expect([...sysctl.values.keys()].some((k) => k.endsWith('/proxy_arp'))).toBe(true);
    expect(endpoints.log).toEqual(['register net/a/eth0']);
    expect(store.all()).toHaveLength(1);
    expect([...veths.hosts.values()][0]).toMatchObject({ mtu: 1450, owner: 'a', addresses: ['10.244.0.1/32'] });
  });

  it.each([
    ['the pod side', () => veths.failNext(new KernelOpError(['ip'], 2, 'no'), /configure/)],
    ['the sysctls', () => sysctl.failNext(new KernelOpError(['write'], null, 'no'))],
    ['the endpoint', () => (endpoints.failNext = new Error('no'))],
  ])('a failure at %s undoes everything, with a code other than 3', async (_n, inject) => {
    inject();
    const err = await h.handle(parseRequest(env('ADD', 'b'), CONF), log).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CniError);
    expect((err as CniError).cniCode).not.toBe(3);
    expect(veths.hosts.size).toBe(0);
    expect(ipam.handles.size).toBe(0);
    expect(endpoints.endpoints.size).toBe(0);
    expect(store.all()).toEqual([]);
  });

  it('DEL is idempotent and removes only its own veth', async () => {
    await h.handle(parseRequest(env('ADD', 'c'), CONF), log);
    await h.handle(parseRequest(env('DEL', 'c'), CONF), log);
    await h.handle(parseRequest(env('DEL', 'c'), CONF), log);
    expect(veths.hosts.size).toBe(0);
    expect(ipam.handles.size).toBe(0);
    expect(endpoints.log).toEqual(['register net/c/eth0', 'unregister net/c/eth0', 'unregister net/c/eth0']);
  });
});
