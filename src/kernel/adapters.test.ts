import { describe, expect, it } from 'vitest';
import { silentLogger } from '../log.js';
import { createKernelAdapters } from './adapters.js';
import { FakeCommandRunner } from './testing/fake-command-runner.js';
import { createFakeKernelAdapters } from './testing/fake-kernel-adapters.js';

describe('createKernelAdapters', () => {
  it('points every adapter at the namespace and uses the detected iptables backend', async () => {
    const runner = new FakeCommandRunner()
      .on('iptables-legacy-save', { stdout: '' })
      .on('iptables-nft-save', { stdout: '*filter\n-A INPUT -j ACCEPT\nCOMMIT\n' })
      .on('-N -j -batch -', { stdout: '[]\n[]\n[]\n' });
    const k = await createKernelAdapters(runner, silentLogger(), { netns: 'node1' });
    expect(k.iptables[4].mode).toBe('nft');
    expect(k.iptables[6].family).toBe(6);
    runner.commands.length = 0;
    await k.routes.list({ family: 4 });
    await k.sysctl.set('net.ipv4.ip_forward', 1);
    await k.ipsets.listNames();
    // The first read of each table comes from the detection's dump of the chosen backend; the next from the tool.
    expect((await k.iptables[4].save('filter')).chains.map((c) => c.rules.length)).toEqual([1]);
    await k.iptables[6].save('filter');
    await k.iptables[6].save('filter');
    expect(runner.lines).toEqual([
      'ip -n node1 -N -j -batch -',
      'ip netns exec node1 sysctl -q -w net/ipv4/ip_forward=1',
      'ip netns exec node1 ipset list -n',
      'ip netns exec node1 ip6tables-nft-save -t filter',
    ]);
  });

  it('on-first-use: builds without a process; the first iptables call of either family detects once', async () => {
    const runner = new FakeCommandRunner()
      .on('iptables-legacy-save', { stdout: '' })
      .on('iptables-nft-save', { stdout: '*filter\n-A INPUT -j ACCEPT\nCOMMIT\n' });
    const k = await createKernelAdapters(runner, silentLogger(), { iptablesDetection: 'on-first-use' });
    expect(runner.commands).toEqual([]);
    expect(k.iptables[4].mode).toBeUndefined();
    const [v4, v6] = await Promise.all([k.iptables[4].save('filter'), k.iptables[6].save('filter')]);
    expect(v4.chains.map((c) => c.rules.length)).toEqual([1]);
    expect(v6.chains).toEqual([]);
    expect(k.iptables[4].mode).toBe('nft');
    expect(k.iptables[6].mode).toBe('nft');
    // One detection (four dumps) for both families, and their first saves answered from it.
    expect(runner.lines.filter((l) => l.includes('-save')).sort()).toEqual([
      'ip6tables-legacy-save',
      'ip6tables-nft-save',
      'iptables-legacy-save',
      'iptables-nft-save',
    ]);
  });

  it('MARGAY_ROUTE_WRITER: ip, or unset; any other value is a configuration error naming it', async () => {
    const before = process.env['MARGAY_ROUTE_WRITER'];
    try {
      for (const bad of ['netlnk', 'IP', ' ip', 'x'.repeat(10_000)]) {
        process.env['MARGAY_ROUTE_WRITER'] = bad;
        await expect(
          createKernelAdapters(new FakeCommandRunner(), silentLogger(), { iptablesDetection: 'on-first-use' }),
        ).rejects.toMatchObject({ code: 'MGY_CONFIG', source: 'MARGAY_ROUTE_WRITER' });
      }
      for (const ok of ['ip', '']) {
        process.env['MARGAY_ROUTE_WRITER'] = ok;
        await expect(
          createKernelAdapters(new FakeCommandRunner(), silentLogger(), { iptablesDetection: 'on-first-use' }),
        ).resolves.toBeTruthy();
      }
    } finally {
      if (before === undefined) delete process.env['MARGAY_ROUTE_WRITER'];
      else process.env['MARGAY_ROUTE_WRITER'] = before;
    }
  });

  it('honours an iptables override without probing', async () => {
    const runner = new FakeCommandRunner();
    const k = await createKernelAdapters(runner, silentLogger(), { iptablesMode: 'legacy' });
    expect(k.iptables[4].mode).toBe('legacy');
    expect(runner.commands).toEqual([]);
  });

  it('has a fake counterpart with the same shape', async () => {
    const k = createFakeKernelAdapters();
    await k.routes.replace({ dst: '10.0.0.0/26', type: 'blackhole', table: 254, proto: 111 });
    expect(k.routes.ops).toEqual(['replace 10.0.0.0/26']);
  });
});
