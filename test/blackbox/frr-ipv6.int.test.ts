/**
 * IPv4 routes over an IPv6 session with FRR (RFC 8950, `neighbor X capability extended-nexthop`), and
 * IPv6 routes whose next hop FRR sends as global + link-local (32 bytes): margay-bgpd must keep the
 * global next hop and advertise its own IPv6 address back.
 */
import { describe, expect, it } from 'vitest';
import { startFrr, waitFor, type FrrHandle } from '../helpers/bgp-daemons.js';
import { startMargay, type MargayProcess } from '../interop/margay-process.js';
import { cleanup, withTopology } from '../interop/scenario.js';
import type { RunningPeer } from '../interop/peers.js';

function asPeer(h: FrrHandle): RunningPeer {
  return { kind: 'frr', handle: h, established: async () => true, hasRoute: async () => false, stop: () => h.stop() };
}

describe('margay-bgpd and FRR over one IPv6 session', () => {
  it('exchanges IPv6 routes (32-byte next hops) and IPv4 routes with IPv6 next hops (RFC 8950)', {
    timeout: 60_000,
  }, async () => {
    await withTopology(1, async ({ margayNs, links: [l] }) => {
      const link = l!;
      const peers: RunningPeer[] = [];
      const margays: MargayProcess[] = [];
      try {
        const m = await startMargay(
          margayNs,
          (socket) => `
routerId: ${link.margayIp}
asn: 65001
listen: { addresses: ["${link.margayIp6}"], port: 179 }
control: { socket: ${socket} }
ebgpRequiresPolicy: false
originate: [{ prefix: 10.244.1.0/24 }, { prefix: "2001:db8:244::/64" }]
peers:
  - { address: "${link.peerIp6}", asn: 65002, connectRetry: 1, families: [ipv4, ipv6] }
`,
        );
        margays.push(m);
        const frr = await startFrr(
          link.ns,
          [
            'frr defaults traditional',
            'router bgp 65002',
            ` bgp router-id ${link.peerIp}`,
            ' no bgp ebgp-requires-policy',
            ' no bgp network import-check',
            ` neighbor ${link.margayIp6} remote-as 65001`,
            ` neighbor ${link.margayIp6} timers connect 1`,
            ` neighbor ${link.margayIp6} capability extended-nexthop`,
            ' address-family ipv4 unicast',
            '  network 198.51.100.0/24',
            `  neighbor ${link.margayIp6} activate`,
            ' exit-address-family',
            ' address-family ipv6 unicast',
            '  network 2001:db8:f1::/48',
            `  neighbor ${link.margayIp6} activate`,
            ' exit-address-family',
          ].join('\n'),
        );
        peers.push(asPeer(frr));
        await waitFor(
          'IPv6 session Established',
          async () => (await m.peer(link.peerIp6))?.state === 'Established',
          30_000,
          200,
        );

        // IPv6 unicast: FRR's route with its global next hop; ours at FRR.
        await waitFor(
          '2001:db8:f1::/48 in margay',
          async () => (await m.ctl.rib({ prefix: '2001:db8:f1::/48' })).matched === 1,
          20_000,
          200,
        );
        expect((await m.ctl.rib({ prefix: '2001:db8:f1::/48' })).routes[0]!.nextHop).toContain(link.peerIp6);
        await waitFor(
          '2001:db8:244::/64 at FRR',
          async () => {
            const j = await frr.vtyshJson<{ paths?: unknown[] }>('show bgp ipv6 unicast 2001:db8:244::/64 json');
            return (j.paths?.length ?? 0) > 0;
          },
          20_000,
          200,
        );

        // RFC 8950: both sides announced the capability, and IPv4 routes flow with IPv6 next hops.
        const nb = await frr.vtyshJson<Record<string, { neighborCapabilities?: Record<string, unknown> }>>(
          `show bgp neighbors ${link.margayIp6} json`,
        );
        expect(
          JSON.stringify(nb[link.margayIp6]?.neighborCapabilities?.['extendedNexthop'] ?? null),
          'extended next hop negotiated',
        ).toMatch(/advertisedAndReceived/);
        await waitFor(
          '198.51.100.0/24 in margay (IPv6 next hop)',
          async () => (await m.ctl.rib({ prefix: '198.51.100.0/24' })).matched === 1,
          20_000,
          200,
        );
        expect((await m.ctl.rib({ prefix: '198.51.100.0/24' })).routes[0]!.nextHop).toContain(link.peerIp6);
        await waitFor(
          '10.244.1.0/24 at FRR with an IPv6 next hop',
          async () => {
            const j = await frr.vtyshJson<{ paths?: { nexthops?: { ip?: string }[] }[] }>(
              'show bgp ipv4 unicast 10.244.1.0/24 json',
            );
            return j.paths?.some((p) => p.nexthops?.some((n) => n.ip === link.margayIp6)) === true;
          },
          20_000,
          200,
        );
      } finally {
        await cleanup(peers, margays);
      }
    });
  });
});
