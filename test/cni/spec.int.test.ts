import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hostIfName } from '../../agent/cni/index.js';
import { MemoryIpam } from '../../agent/cni/testing/fakes.js';
import { IpamExhaustedError } from '../../ipam/index.js';
import { CNI_BIN, mgyLinks, PLUGIN, Rig, exec } from './harness.js';

// Spec behaviours beyond ADD/DEL: STATUS, GC, version negotiation, error codes decided by the
// agent, pod identity, IPAM delegation (host-local) and finding the agent without agentSocket.
let rig: Rig;
beforeEach(async () => {
  rig = await new Rig(new MemoryIpam('10.244.0.', 3)).start();
});
afterEach(async () => {
  await rig.stop();
});

describe('CNI spec behaviours (real kernel)', () => {
  it('STATUS: success with room, 51 when the pools are full; 1 for a pre-1.1.0 config', async () => {
    const env = { CNI_COMMAND: 'STATUS', CNI_PATH: CNI_BIN };
    expect(await rig.plugin(env, rig.conf({}, '1.1.0'))).toMatchObject({ code: 0, stdout: '' });
    for (const id of ['s1', 's2', 's3'])
      expect((await rig.plugin(rig.env('ADD', id, (await rig.pod()).path), rig.conf())).code).toBe(0);
    expect((await rig.plugin(env, rig.conf({}, '1.1.0'))).out).toMatchObject({
      cniVersion: '1.1.0',
      code: 51,
      msg: 'no free IP addresses',
    });
    expect((await rig.plugin(env, rig.conf({}, '1.0.0'))).out).toMatchObject({ code: 1 });
  });

  it('pool exhausted: ADD fails with 101 saying what to do, and leaves nothing behind', async () => {
    for (const id of ['e1', 'e2', 'e3'])
      expect((await rig.plugin(rig.env('ADD', id, (await rig.pod()).path), rig.conf())).code).toBe(0);
    const links = await mgyLinks();
    const r = await rig.plugin(rig.env('ADD', 'e4', (await rig.pod()).path), rig.conf());
    expect(r.out).toMatchObject({ cniVersion: '1.0.0', code: 101, msg: 'IP address assignment failed' });
    expect(String(r.out?.details)).toContain('Add an IPPool');
    expect(await mgyLinks()).toEqual(links);
    expect(rig.ipam.handles.has('k8s-pod-network.e4')).toBe(false);
  });

  it('GC (1.1.0) removes every attachment not in cni.dev/valid-attachments, and stray handles', async () => {
    const ids = ['g1', 'g2', 'g3'];
    for (const id of ids)
      expect((await rig.plugin(rig.env('ADD', id, (await rig.pod()).path), rig.conf())).code).toBe(0);
    await rig.ipam
      .assign({ handleId: 'k8s-pod-network.leaked', containerId: 'leaked', ifName: 'eth0', ipamConfig: {} })
      .catch(() => undefined);
    rig.ipam.handles.set('k8s-pod-network.leaked2', ['10.9.9.9/32']);
    const gc = await rig.plugin(
      { CNI_COMMAND: 'GC', CNI_PATH: CNI_BIN },
      rig.conf({ 'cni.dev/valid-attachments': [{ containerID: 'g2', ifname: 'eth0' }] }, '1.1.0'),
    );
    expect(gc).toMatchObject({ code: 0, stdout: '' });
    expect(await mgyLinks()).toEqual([hostIfName(undefined, 'g2', 'eth0')]);
    expect([...rig.ipam.handles.keys()]).toEqual(['k8s-pod-network.g2']);
    expect([...rig.endpoints.endpoints.keys()]).toEqual(['k8s-pod-network/g2/eth0']);
  });

  it('version negotiation: each supported version answers in its own shape; others get 1', async () => {
    for (const [v, withVersion] of [
      ['0.3.0', true],
      ['0.3.1', true],
      ['0.4.0', true],
      ['1.0.0', false],
      ['1.1.0', false],
    ] as const) {
      const id = `v${v.replaceAll('.', '')}`;
      const pod = await rig.pod();
      const r = await rig.plugin(rig.env('ADD', id, pod.path), rig.conf({}, v));
      expect(r.out?.cniVersion).toBe(v);
      expect('version' in ((r.out?.ips ?? []) as object[])[0]!).toBe(withVersion);
      expect((await rig.plugin(rig.env('DEL', id, pod.path), rig.conf({}, v))).code).toBe(0);
    }
    const bad = await rig.plugin(rig.env('ADD', 'x', '/run/netns/none'), rig.conf({}, '0.2.0'));
    expect(bad.out).toMatchObject({ cniVersion: '1.1.0', code: 1, msg: 'incompatible CNI version' });
  });

  it('errors decided by the agent: bad netconf 7, undecodable 6, missing pod 100 naming it, half identity 4', async () => {
    const pod = await rig.pod();
    const env = rig.env('ADD', 'err1', pod.path);
    expect((await rig.plugin(env, rig.conf({ type: 'calico' }))).out).toMatchObject({ code: 7 });
    expect(
      (await exec(PLUGIN, env, `{"cniVersion":"1.0.0","agentSocket":"${rig.server.socketPath}",`)).out,
    ).toMatchObject({ code: 6 });
    const missing = await rig.plugin(
      rig.env('ADD', 'err1', pod.path, 'K8S_POD_NAMESPACE=prod;K8S_POD_NAME=api-7'),
      rig.conf(),
    );
    expect(missing.out).toMatchObject({ code: 100, msg: 'pod prod/api-7 does not exist' });
    const half = await rig.plugin(rig.env('ADD', 'err1', pod.path, 'K8S_POD_NAME=api-7'), rig.conf());
    expect(half.out).toMatchObject({ code: 4 });
    const wrongNs = await rig.plugin(rig.env('ADD', 'err2', '/proc/1/nonexistent'), rig.conf());
    expect(wrongNs.code).toBe(1);
    expect(wrongNs.out?.code).not.toBe(3);
    expect(await mgyLinks()).toEqual([]);
    expect(rig.ipam.handles.size).toBe(0);
  });

  it('ipam.type host-local: delegated through CNI_PATH, /32 on the pod, released on DEL', async () => {
    const dataDir = `${rig.dir}/host-local`;
    const conf = rig.conf({ ipam: { type: 'host-local', ranges: [[{ subnet: '10.77.0.0/24' }]], dataDir } });
    const pod = await rig.pod();
    const add = await rig.plugin(rig.env('ADD', 'hl1', pod.path), conf);
    expect(add.code).toBe(0);
    expect(add.out?.ips).toEqual([expect.objectContaining({ address: '10.77.0.2/32', interface: 1 })]);
    const files = (await execa('ls', [`${dataDir}/k8s-pod-network`])).stdout;
    expect(files).toContain('10.77.0.2');
    expect(rig.ipam.requests).toEqual([]);
    expect((await rig.plugin(rig.env('DEL', 'hl1', pod.path), conf)).code).toBe(0);
    expect((await execa('ls', [`${dataDir}/k8s-pod-network`])).stdout).not.toContain('10.77.0.2');
  });

  it.each([
    ['listening at /run/margay itself', { socketPath: undefined, runDir: '/run/margay' }],
    ['with another run directory, through the discovery link', { discoveryLink: true }],
  ])('without agentSocket the plugin finds the agent serving its network namespace (%s)', async (_n, opts) => {
    await execa('mkdir', ['-p', '/run/margay']);
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'margay-run', '/run/margay']);
    const second = new Rig();
    try {
      await second.start(opts);
      const pod = await second.pod();
      const conf = { cniVersion: '1.0.0', name: 'k8s-pod-network', type: 'margay', ipam: { type: 'margay-ipam' } };
      const r = await exec(PLUGIN, second.env('ADD', 'disc1', pod.path), JSON.stringify(conf));
      expect(r.code).toBe(0);
      expect(second.ipam.handles.has('k8s-pod-network.disc1')).toBe(true);
      expect((await exec(PLUGIN, second.env('DEL', 'disc1', pod.path), JSON.stringify(conf))).code).toBe(0);
      await second.server.stop();
      expect((await execa('ls', ['-A', '/run/margay'])).stdout).toBe('');
    } finally {
      await second.stop();
      await execa('umount', ['/run/margay']);
    }
  });

  it('an IPAM failure other than exhaustion is 102; a retryable one is 11', async () => {
    const pod = await rig.pod();
    rig.ipam.failNext = new Error('boom');
    expect((await rig.plugin(rig.env('ADD', 'f1', pod.path), rig.conf())).out).toMatchObject({ code: 102 });
    rig.ipam.failNext = new IpamExhaustedError('ipv4', 'node-a', [], true);
    expect((await rig.plugin(rig.env('ADD', 'f1', pod.path), rig.conf())).out).toMatchObject({ code: 11 });
  });
});
