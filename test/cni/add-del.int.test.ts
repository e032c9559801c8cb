import { createServer, type Server } from 'node:net';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hostIfName } from '../../agent/cni/index.js';
import { run, uniqueName } from '../helpers/netns.js';
import { Rig, hostState, mgyLinks, podState } from './harness.js';

// ADD, DEL and CHECK through the built plugin binary against the agent's CNI server, real kernel.
let rig: Rig;
beforeEach(async () => {
  rig = await new Rig().start();
});
afterEach(async () => {
  await rig.stop();
});

describe('CNI ADD / DEL / CHECK (real kernel)', () => {
  it('ADD plumbs the pod: veth, /32, gateway routes, host route, static neighbour, proxy ARP; result per spec 1.0.0', async () => {
    rig.pods.add('default', 'web-0', { app: 'web' });
    const pod = await rig.pod();
    const r = await rig.plugin(
      rig.env('ADD', 'c1', pod.path, 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0'),
      rig.conf(),
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const hostIf = hostIfName({ namespace: 'default', pod: 'web-0' }, 'c1', 'eth0');
    const out = r.out as {
      cniVersion: string;
      interfaces: { name: string; mac: string; sandbox?: string }[];
      ips: Record<string, unknown>[];
      routes: unknown[];
    };
    expect(out.cniVersion).toBe('1.0.0');
    expect(out.interfaces[0]).toEqual({ name: hostIf, mac: 'ee:ee:ee:ee:ee:ee', mtu: 1500 });
    expect(out.interfaces[1]).toMatchObject({ name: 'eth0', sandbox: pod.path });
    expect(out.ips).toEqual([{ address: '10.244.0.1/32', gateway: '169.254.1.1', interface: 1 }]);
    expect(out.routes).toEqual([{ dst: '0.0.0.0/0', gw: '169.254.1.1' }]);

    const host = await hostState(hostIf);
    expect(host.link).toMatchObject({ address: 'ee:ee:ee:ee:ee:ee', ifalias: 'margay:c1' });
    expect(host.routes).toEqual([expect.objectContaining({ dst: '10.244.0.1', dev: hostIf })]);
    expect(host.neigh).toEqual([expect.objectContaining({ dst: '10.244.0.1', lladdr: out.interfaces[1]!.mac })]);
    expect((await run('sysctl', ['-n', `net.ipv4.conf.${hostIf}.proxy_arp`])).trim()).toBe('1');
    const p = await podState(pod.name);
    expect(p.link?.address).toBe(out.interfaces[1]!.mac);
    expect(p.link?.addr_info.filter((a) => a.scope !== 'link')).toEqual([
      expect.objectContaining({ local: '10.244.0.1', prefixlen: 32 }),
    ]);
    expect(p.routes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ dst: 'default', gateway: '169.254.1.1' }),
        expect.objectContaining({ dst: '169.254.1.1', scope: 'link' }),
      ]),
    );
    expect(rig.endpoints.endpoints.get('k8s-pod-network/c1/eth0')).toMatchObject({
      iface: hostIf,
      namespace: 'default',
      pod: 'web-0',
      containerId: 'c1',
      ipv4Nets: ['10.244.0.1/32'],
      labels: { app: 'web' },
    });
    expect(rig.ipam.requests[0]).toMatchObject({ handleId: 'k8s-pod-network.c1', namespace: 'default', pod: 'web-0' });
  });

  it('the pod reaches the node and back through 169.254.1.1 (proxy ARP, static neighbour, host route)', async () => {
    // The node's own address on the sandbox namespace's loopback (no dummy module on every kernel),
    // and an uplink with a default route: proxy ARP answers for 169.254.1.1 only when the node has
    // a route for it (Calico's nodes have the same requirement).
    // The node forwards (margay-node's dataplane sets ip_forward; new veths inherit it): proxy ARP
    // answers only on an interface that forwards.
    const up = uniqueName('u');
    const forward = (await run('sysctl', ['-n', 'net.ipv4.ip_forward'])).trim();
    let server: Server | undefined;
    try {
      await run('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
      await run('ip', ['link', 'add', up, 'type', 'veth', 'peer', 'name', `${up}p`]);
      await run('ip', ['addr', 'add', '192.0.2.1/24', 'dev', up]);
      await run('ip', ['link', 'set', up, 'up']);
      await run('ip', ['route', 'add', 'default', 'via', '192.0.2.2', 'dev', up]);
      await run('ip', ['addr', 'add', '10.250.0.1/32', 'dev', 'lo']);
      server = createServer((s) => s.end('hello from the node\n'));
      await new Promise<void>((r) => server!.listen(4321, '10.250.0.1', () => r()));
      const pod = await rig.pod();
      expect((await rig.plugin(rig.env('ADD', 'reach1', pod.path), rig.conf())).code).toBe(0);
      const script =
        "const s=require('net').connect(4321,'10.250.0.1');s.on('data',d=>{process.stdout.write(d);s.end()});s.on('error',e=>{console.error(e.message);process.exit(1)});setTimeout(()=>process.exit(2),5000)";
      const r = await execa('ip', ['netns', 'exec', pod.name, process.execPath, '-e', script], { reject: false });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('hello from the node');
    } finally {
      await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
      await execa('ip', ['addr', 'del', '10.250.0.1/32', 'dev', 'lo'], { reject: false });
      await execa('ip', ['link', 'del', up], { reject: false });
      await run('sysctl', ['-q', '-w', `net.ipv4.ip_forward=${forward}`]);
    }
  });

  it('DEL removes veth, route, neighbour, endpoint and allocation; a second DEL and a DEL after the netns is gone succeed', async () => {
    const pod = await rig.pod();
    expect((await rig.plugin(rig.env('ADD', 'c2', pod.path), rig.conf())).code).toBe(0);
    const hostIf = hostIfName(undefined, 'c2', 'eth0');
    expect(await mgyLinks()).toContain(hostIf);
    const del = await rig.plugin(rig.env('DEL', 'c2', pod.path), rig.conf());
    expect(del).toMatchObject({ code: 0, stdout: '' });
    expect(await mgyLinks()).not.toContain(hostIf);
    expect((await hostState(hostIf)).routes).toEqual([]);
    expect(rig.ipam.handles.size).toBe(0);
    expect(rig.endpoints.endpoints.size).toBe(0);
    expect((await rig.plugin(rig.env('DEL', 'c2', pod.path), rig.conf())).code).toBe(0);

    // The netns disappears first (the runtime tore the sandbox down): DEL still releases everything.
    const pod2 = await rig.pod();
    expect((await rig.plugin(rig.env('ADD', 'c3', pod2.path), rig.conf())).code).toBe(0);
    await run('ip', ['netns', 'del', pod2.name]);
    rig.netns.splice(rig.netns.indexOf(pod2.name), 1);
    expect((await rig.plugin(rig.env('DEL', 'c3', pod2.path), rig.conf())).code).toBe(0);
    expect(await mgyLinks()).toEqual([]);
    expect(rig.ipam.handles.size).toBe(0);
    // No CNI_NETNS at all (allowed for DEL), nothing known about the container: success.
    expect((await rig.plugin(rig.env('DEL', 'never-added', undefined), rig.conf())).code).toBe(0);
  });

  it('CHECK passes on a fresh attachment and fails (not 3) once the pod lost its default route', async () => {
    const pod = await rig.pod();
    const add = await rig.plugin(rig.env('ADD', 'c4', pod.path), rig.conf());
    const conf = rig.conf({ prevResult: add.out });
    expect(await rig.plugin(rig.env('CHECK', 'c4', pod.path), conf)).toMatchObject({ code: 0, stdout: '' });
    await run('ip', ['-n', pod.name, 'route', 'del', 'default']);
    const check = await rig.plugin(rig.env('CHECK', 'c4', pod.path), conf);
    expect(check.code).toBe(1);
    expect(check.out).toMatchObject({ cniVersion: '1.0.0', code: 104, details: 'no default route via 169.254.1.1' });
    const noPrev = await rig.plugin(rig.env('CHECK', 'c4', pod.path), rig.conf());
    expect(noPrev.out).toMatchObject({ code: 7, details: 'CHECK needs prevResult' });
    const unknown = await rig.plugin(rig.env('CHECK', 'nope', pod.path), conf);
    expect(unknown.out).toMatchObject({ code: 3 });
  });

  it("a pod re-created under the same name takes the host veth over; the old container's DEL leaves it alone", async () => {
    rig.pods.add('default', 'db-0');
    const args = 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=db-0';
    const old = await rig.pod();
    const fresh = await rig.pod();
    expect((await rig.plugin(rig.env('ADD', 'old', old.path, args), rig.conf())).code).toBe(0);
    const add = await rig.plugin(rig.env('ADD', 'new', fresh.path, args), rig.conf());
    expect(add.code).toBe(0);
    const hostIf = hostIfName({ namespace: 'default', pod: 'db-0' }, 'x', 'eth0');
    expect((await hostState(hostIf)).link?.ifalias).toBe('margay:new');
    expect((await rig.plugin(rig.env('DEL', 'old', old.path, args), rig.conf())).code).toBe(0);
    expect((await hostState(hostIf)).link?.ifalias).toBe('margay:new');
    expect([...rig.endpoints.endpoints.keys()]).toEqual(['k8s-pod-network/new/eth0']);
    expect([...rig.ipam.handles.keys()]).toEqual(['k8s-pod-network.new']);
  });

  it('IPv4 + IPv6: /128 on eth0, default via the host veth link-local, result in 0.4.0 shape with versions', async () => {
    await rig.stop();
    rig = await new Rig(
      new (await import('../../agent/cni/testing/fakes.js')).MemoryIpam('10.244.0.', 250, 'fd00:10:244::'),
    ).start();
    const pod = await rig.pod();
    const r = await rig.plugin(rig.env('ADD', 'ds1', pod.path), rig.conf({}, '0.4.0'));
    expect(r.code).toBe(0);
    expect(r.out).toMatchObject({
      cniVersion: '0.4.0',
      ips: [
        { version: '4', address: '10.244.0.1/32', gateway: '169.254.1.1', interface: 1 },
        { version: '6', address: 'fd00:10:244::1/128', gateway: 'fe80::ecee:eeff:feee:eeee', interface: 1 },
      ],
    });
    const routes = JSON.parse(await run('ip', ['-n', pod.name, '-6', '-j', 'route', 'show', 'default'])) as {
      gateway: string;
    }[];
    expect(routes[0]?.gateway).toBe('fe80::ecee:eeff:feee:eeee');
    const hostIf = hostIfName(undefined, 'ds1', 'eth0');
    const host6 = JSON.parse(await run('ip', ['-6', '-j', 'route', 'show', 'proto', '109'])) as {
      dst: string;
      dev: string;
    }[];
    expect(host6).toEqual([expect.objectContaining({ dst: 'fd00:10:244::1', dev: hostIf })]);
  });
});
