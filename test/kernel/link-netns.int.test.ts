import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { InvariantError } from '../../src/errors.js';
import { ExecaCommandRunner } from '../../src/kernel/command-runner.js';
import { IpLinkOps } from '../../src/kernel/link-ops.js';
import { IpNetnsOps } from '../../src/kernel/netns-ops.js';
import { addVethToNetns, inNetns, uniqueName, withBridge, withNetnses } from '../helpers/netns.js';

const log = silentLogger();
const runner = new ExecaCommandRunner(log);

describe('NetnsOps against the kernel', () => {
  it('adds, lists, runs inside and deletes a namespace (idempotently)', async () => {
    const ns = new IpNetnsOps(runner, log);
    const name = uniqueName('no');
    await ns.add(name);
    try {
      expect(await ns.list()).toContain(name);
      expect(await ns.exists(name)).toBe(true);
      const r = await ns.exec(name, ['ip', '-j', 'link', 'show', 'lo']);
      expect(JSON.parse(r.stdout)[0].flags).toContain('UP');
    } finally {
      await ns.delete(name);
    }
    expect(await ns.exists(name)).toBe(false);
    await ns.delete(name);
  });
});

describe('LinkOps against the kernel', () => {
  it('creates a veth pair across namespaces, sets MTU/MAC/up, addresses, bridge, move+rename, delete', async () => {
    await withNetnses(2, async ([host, pod]) => {
      const hostLinks = new IpLinkOps(runner, log, { netns: host! });
      const podLinks = new IpLinkOps(runner, log, { netns: pod!, touchForeign: true });
      const veth = `mgy${uniqueName('l').slice(-11)}`;
      await hostLinks.addVeth({ name: veth, peerName: 'eth0', peerNetns: pod!, mtu: 1410 });
      await hostLinks.set(veth, { up: true, mac: 'ee:ee:ee:ee:ee:ee' });
      await hostLinks.addAddress(veth, '169.254.1.1/32');
      await podLinks.set('eth0', { up: true });
      await podLinks.addAddress('eth0', '10.80.0.5/32');
      await podLinks.addAddress('eth0', 'fd80::5/128');
      await podLinks.addAddress('eth0', 'fd80::5/128'); // idempotent (addr replace)

      const h = await hostLinks.get(veth);
      expect(h).toMatchObject({
        name: veth,
        mtu: 1410,
        mac: 'ee:ee:ee:ee:ee:ee',
        up: true,
        kind: 'veth',
        addresses: ['169.254.1.1/32'],
      });
      const p = await podLinks.get('eth0');
      expect(p).toMatchObject({ mtu: 1410, up: true, kind: 'veth', addresses: ['10.80.0.5/32', 'fd80::5/128'] });
      expect(await hostLinks.get('mgynosuchlink')).toBeUndefined();

      // The pair carries traffic: pod -> host over a scope-link route, as the CNI sets it up.
      await inNetns(host!, 'ip', ['route', 'add', '10.80.0.5/32', 'dev', veth]);
      await inNetns(pod!, 'ip', ['route', 'add', '169.254.1.1/32', 'dev', 'eth0', 'scope', 'link']);
      await inNetns(pod!, 'ping', ['-c', '1', '-W', '2', '169.254.1.1']);

      await podLinks.removeAddress('eth0', '10.80.0.5/32');
      expect((await podLinks.get('eth0'))!.addresses).toEqual(['fd80::5/128']);

      // A bridge, enslaving and releasing.
      const br = `mgyb${uniqueName('b').slice(-8)}`;
      await hostLinks.addBridge(br);
      await hostLinks.set(veth, { master: br });
      expect((await hostLinks.get(veth))!.master).toBe(br);
      await hostLinks.set(veth, { master: null });
      expect((await hostLinks.get(veth))!.master).toBeUndefined();

      // Host links without our prefix are refused.
      await expect(hostLinks.delete('lo')).rejects.toThrow(InvariantError);

      // Move the pod end back to the host namespace, renaming it in the same step.
      const back = `mgy${uniqueName('r').slice(-11)}`;
      await podLinks.set('eth0', { up: false, netns: host!, name: back });
      expect(await podLinks.get('eth0')).toBeUndefined();
      expect(await hostLinks.get(back)).toMatchObject({ kind: 'veth', up: false });

      await hostLinks.delete(veth); // removes the peer too
      await hostLinks.delete(veth); // idempotent
      expect((await hostLinks.list()).map((l) => l.name).sort()).toEqual([br, 'lo'].sort());
    });
  });

  it('test helpers: bridge with veths into namespaces connects them', async () => {
    await withNetnses(3, async ([host, a, b]) => {
      await withBridge(host!, async (br) => {
        await addVethToNetns(a!, { hostNs: host!, bridge: br, cidr: '10.81.0.1/24' });
        await addVethToNetns(b!, { hostNs: host!, bridge: br, cidr: '10.81.0.2/24' });
        await inNetns(a!, 'ping', ['-c', '1', '-W', '2', '10.81.0.2']);
        const links = await new IpLinkOps(runner, log, { netns: host! }).list();
        expect(links.filter((l) => l.master === br)).toHaveLength(2);
      });
      const after = await new IpLinkOps(runner, log, { netns: host! }).list();
      expect(after.filter((l) => l.kind === 'bridge')).toEqual([]);
    });
  });
});
