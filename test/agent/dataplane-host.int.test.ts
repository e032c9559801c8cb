/**
 * Sysctls, neighbours, veth MTU and conntrack against the real kernel, and traffic through what the
 * dataplane programmed: a pod is reachable from the node and from another pod, a packet from an
 * `mgy*` interface no endpoint owns is dropped, and a NAT-outgoing pool is masqueraded.
 */
import { describe, expect, it } from 'vitest';
import { pool } from '../../agent/calc/testing/fixtures.js';
import { run } from '../helpers/netns.js';
import { addPod, eventually, withNode } from './dataplane-helpers.js';

describe('dataplane host state and traffic (real kernel)', () => {
  it('sets sysctls, neighbours and MTU; repairs them; pods reach each other; unknown mgy interfaces are dropped', {
    timeout: 120_000,
  }, async () => {
    await withNode(
      async (n) => {
        // The node needs an address of its own to ping from (a veth pair inside its namespace).
        await n.ip('link', 'add', 'upl0', 'type', 'veth', 'peer', 'name', 'upl0p');
        await n.ip('addr', 'add', '10.76.0.1/24', 'dev', 'upl0');
        await n.ip('link', 'set', 'upl0p', 'up');
        await n.ip('link', 'set', 'upl0', 'up');
        // Proxy ARP answers for 169.254.1.1 only if the node routes it elsewhere (a default route, as on a real node).
        await n.ip('route', 'add', 'default', 'dev', 'upl0');
        n.dp.start();
        n.graph.upserted('IPPool', pool('p', '10.254.0.0/16', false, { ipipMode: 'Always' })); // veth MTU 1480
        n.graph.inSync();
        const a = await addPod(n, 'a', '10.254.0.2');
        const b = await addPod(n, 'b', '10.254.0.3');
        n.graph.registerEndpoint(a.reg);
        n.graph.registerEndpoint(b.reg);
        await n.dp.waitForEndpoint('a', { timeoutMs: 30_000 });
        await n.dp.waitForEndpoint('b', { timeoutMs: 30_000 });

        expect(await n.exec('sysctl', '-n', `net.ipv4.conf.${a.iface}.proxy_arp`)).toBe('1');
        expect(await n.exec('sysctl', '-n', `net.ipv4.conf.${a.iface}.rp_filter`)).toBe('1');
        expect(await n.exec('sysctl', '-n', 'net.ipv4.ip_forward')).toBe('1');
        expect(await n.ip('neigh', 'show', 'dev', a.iface)).toContain(`10.254.0.2 lladdr ${a.mac} PERMANENT`);
        expect(await n.ip('link', 'show', a.iface)).toContain('mtu 1480');

        // Traffic: node → pod, pod → pod (through mgy-FORWARD and both endpoints' chains).
        await n.exec('ping', '-c', '1', '-W', '2', '10.254.0.2');
        await run('ip', ['netns', 'exec', a.ns, 'ping', '-c', '1', '-W', '2', '10.254.0.3']);

        // An mgy interface no endpoint owns: its traffic is dropped by the dispatch chain.
        const rogue = await addPod(n, 'rogue', '10.254.0.9');
        await n.ip('route', 'add', '10.254.0.9/32', 'dev', rogue.iface);
        await expect(
          run('ip', ['netns', 'exec', rogue.ns, 'ping', '-c', '1', '-W', '1', '10.254.0.3']),
        ).rejects.toThrow();

        // Drift: sysctl, neighbour and MTU changed by hand come back.
        await n.exec('sysctl', '-w', `net.ipv4.conf.${a.iface}.proxy_arp=0`);
        await n.ip('neigh', 'del', '10.254.0.2', 'dev', a.iface);
        await n.ip('link', 'set', a.iface, 'mtu', '1400');
        await eventually(
          async () => (await n.exec('sysctl', '-n', `net.ipv4.conf.${a.iface}.proxy_arp`)) === '1',
          15_000,
          'proxy_arp back',
        );
        await eventually(
          async () => (await n.ip('neigh', 'show', 'dev', a.iface)).includes('PERMANENT'),
          15_000,
          'neighbour back',
        );
        await eventually(async () => (await n.ip('link', 'show', a.iface)).includes('mtu 1480'), 15_000, 'MTU back');
      },
      { dataplane: { refreshIntervalMs: 2_000 } },
    );
  });

  it('masquerades a natOutgoing pool to outside all pools, and flushes conntrack of a removed pod address', {
    timeout: 120_000,
  }, async () => {
    await withNode(async (n) => {
      // "Outside": a namespace on a veth from the node, 10.77.0.0/24.
      const { createNetns } = await import('../helpers/netns.js');
      const out = await createNetns('do');
      (n as { made?: string[] }).made!.push(out);
      // Not an mgy* name: traffic to an unknown mgy* interface is dropped by design.
      await run('ip', ['link', 'add', 'upl0', 'netns', n.ns, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', out]);
      await n.ip('addr', 'add', '10.77.0.1/24', 'dev', 'upl0');
      await n.ip('link', 'set', 'upl0', 'up');
      await run('ip', ['-n', out, 'addr', 'add', '10.77.0.2/24', 'dev', 'eth0']);
      await run('ip', ['-n', out, 'link', 'set', 'eth0', 'up']);
      await n.ip('route', 'add', 'default', 'via', '10.77.0.2');
      n.dp.start();
      n.graph.upserted('IPPool', pool('p', '10.248.0.0/16', true));
      n.graph.inSync();
      const a = await addPod(n, 'a', '10.248.0.2');
      n.graph.registerEndpoint(a.reg);
      await n.dp.waitForEndpoint('a', { timeoutMs: 30_000 });
      // The outside has no route to the pool: a reply reaches the pod only if the source was masqueraded.
      await run('ip', ['netns', 'exec', a.ns, 'ping', '-c', '1', '-W', '2', '10.77.0.2']);
      const flows = await n.exec('conntrack', '-L', '-s', '10.248.0.2');
      expect(flows).toContain('dst=10.77.0.1'); // reply to the node's address: masqueraded
      n.graph.unregisterEndpoint('a');
      await eventually(
        async () => !(await n.exec('conntrack', '-L', '-s', '10.248.0.2')).includes('10.248.0.2'),
        15_000,
        'conntrack flushed',
      );
    });
  });
});
