import { describe, expect, it } from 'vitest';
import { InvariantError, KernelOpError } from '../errors.js';
import { silentLogger } from '../log.js';
import { IpLinkOps, parseLinks, renderLinkChanges } from './link-ops.js';
import { FakeCommandRunner } from './testing/fake-command-runner.js';
import { FakeLinkOps } from './testing/fake-link-ops.js';

// Trimmed from `ip -n NS -d -j addr show` (iproute2 6.1): a bridge and a veth enslaved to it.
const LINKS = JSON.stringify([
  {
    ifindex: 1,
    ifname: 'lo',
    flags: ['LOOPBACK'],
    mtu: 65536,
    operstate: 'DOWN',
    address: '00:00:00:00:00:00',
    addr_info: [],
  },
  {
    ifindex: 2,
    ifname: 'mgyb0',
    flags: ['BROADCAST', 'MULTICAST', 'UP'],
    mtu: 1500,
    operstate: 'UP',
    address: 'aa:b1:7b:28:ed:2d',
    linkinfo: { info_kind: 'bridge', info_data: { stp_state: 0 } },
    addr_info: [{ family: 'inet', local: '10.1.0.1', prefixlen: 24, scope: 'global', label: 'mgyb0' }],
  },
  {
    ifindex: 3,
    link_index: 2,
    ifname: 'mgyv0',
    flags: ['NO-CARRIER', 'BROADCAST', 'MULTICAST', 'UP'],
    mtu: 1400,
    master: 'mgyb0',
    operstate: 'DOWN',
    address: 'aa:b1:7b:28:ed:2e',
    link_netnsid: 0,
    linkinfo: { info_kind: 'veth', info_slave_kind: 'bridge' },
    addr_info: [
      { family: 'inet6', local: 'fd00::1', prefixlen: 64, scope: 'global' },
      { family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link' },
    ],
  },
]);

describe('parseLinks / renderLinkChanges', () => {
  it('parses name, index, MTU, MAC, up, kind, master and addresses (no link-local)', () => {
    expect(parseLinks(LINKS)).toEqual([
      { name: 'lo', index: 1, mtu: 65536, mac: '00:00:00:00:00:00', up: false, operState: 'DOWN', addresses: [] },
      {
        name: 'mgyb0',
        index: 2,
        mtu: 1500,
        mac: 'aa:b1:7b:28:ed:2d',
        up: true,
        operState: 'UP',
        kind: 'bridge',
        addresses: ['10.1.0.1/24'],
      },
      {
        name: 'mgyv0',
        index: 3,
        mtu: 1400,
        mac: 'aa:b1:7b:28:ed:2e',
        up: true,
        operState: 'DOWN',
        kind: 'veth',
        master: 'mgyb0',
        addresses: ['fd00::1/64'],
      },
    ]);
  });

  it('renders changes in ip-link order and validates each value', () => {
    expect(
      renderLinkChanges({
        up: true,
        mtu: 1450,
        mac: '02:00:00:00:00:01',
        master: 'mgyb0',
        netns: 'pod1',
        name: 'eth0',
      }),
    ).toEqual([
      'up',
      'mtu',
      '1450',
      'address',
      '02:00:00:00:00:01',
      'master',
      'mgyb0',
      'netns',
      'pod1',
      'name',
      'eth0',
    ]);
    expect(renderLinkChanges({ master: null, up: false })).toEqual(['down', 'nomaster']);
    expect(() => renderLinkChanges({ mac: 'zz:00' })).toThrow(InvariantError);
    expect(() => renderLinkChanges({ name: 'much-too-long-name' })).toThrow(InvariantError);
    expect(() => renderLinkChanges({ netns: '../etc' })).toThrow(InvariantError);
  });
});

describe('IpLinkOps', () => {
  it('targets the namespace with ip -n and builds veth pairs across namespaces', async () => {
    const runner = new FakeCommandRunner();
    const links = new IpLinkOps(runner, silentLogger(), { netns: 'host1' });
    await links.addVeth({ name: 'mgy0123456789a', peerName: 'eth0', peerNetns: 'pod1', mtu: 1410 });
    await links.set('mgy0123456789a', { up: true });
    await links.addAddress('mgy0123456789a', 'fd00::1/128');
    expect(runner.lines).toEqual([
      'ip -n host1 link add mgy0123456789a mtu 1410 type veth peer name eth0 mtu 1410 netns pod1',
      'ip -n host1 -force -batch -',
      'ip -n host1 addr replace fd00::1/128 dev mgy0123456789a nodad',
    ]);
  });

  it('refuses to touch links without our prefix unless touchForeign', async () => {
    const runner = new FakeCommandRunner();
    const host = new IpLinkOps(runner, silentLogger());
    await expect(host.delete('eth0')).rejects.toThrow(InvariantError);
    await expect(host.set('eth0', { mtu: 9000 })).rejects.toThrow(/not a Margay interface/);
    expect(runner.commands).toEqual([]);
    await new IpLinkOps(runner, silentLogger(), { netns: 'pod1', touchForeign: true }).set('eth0', { up: true });
    expect(runner.commands.map((c) => [c.argv.join(' '), c.stdin])).toEqual([
      ['ip -n pod1 -force -batch -', 'link set dev eth0 up\n'],
    ]);
  });

  it('get returns undefined for a missing link; delete of a missing link is not an error; other failures throw', async () => {
    const runner = new FakeCommandRunner()
      .on('addr show dev mgyx', { exitCode: 1, stderr: 'Device "mgyx" does not exist.' })
      .on('link del mgyx', { exitCode: 1, stderr: 'Cannot find device "mgyx"' })
      .on('link del mgyy', { exitCode: 2, stderr: 'RTNETLINK answers: Operation not permitted' });
    const links = new IpLinkOps(runner, silentLogger());
    expect(await links.get('mgyx')).toBeUndefined();
    await links.delete('mgyx');
    await expect(links.delete('mgyy')).rejects.toThrow(KernelOpError);
  });
});

describe('FakeLinkOps', () => {
  it('models veths, moves, addresses, and injected failures', async () => {
    const f = new FakeLinkOps();
    await f.addVeth({ name: 'mgya', peerName: 'eth0', peerNetns: 'pod1' });
    await f.addBridge('mgyb');
    await f.set('mgya', { up: true, master: 'mgyb', mtu: 1400 });
    await f.addAddress('mgyb', '10.0.0.1/24');
    expect(await f.get('mgya')).toMatchObject({ up: true, master: 'mgyb', mtu: 1400, kind: 'veth' });
    expect(f.elsewhere).toEqual([{ netns: 'pod1', name: 'eth0' }]);
    await expect(f.addBridge('mgyb')).rejects.toThrow(/File exists/);
    f.failNext(new KernelOpError(['ip'], 2, 'boom'), /^delete/);
    await expect(f.delete('mgya')).rejects.toThrow('boom');
    await f.delete('mgya');
    expect((await f.list()).map((l) => l.name)).toEqual(['lo', 'mgyb']);
    await expect(f.delete('lo')).rejects.toThrow(InvariantError);
  });
});
