/**
 * RFC 8950 end to end with FRR (`capability extended-nexthop`) over one IPv6 session, FIB on: the
 * capability is negotiated, FRR's IPv4 route arrives with its IPv6 next hop and goes into the kernel
 * as `via inet6`, and margay's IPv4 route reaches FRR with margay's IPv6 address as next hop.
 * Without the option (`extendedNextHop: false`) margay does not offer it.
 */
import { describe, expect, it } from 'vitest';
import { startFrr, waitFor, type FrrHandle } from '../helpers/bgp-daemons.js';
import { startMargay, type MargayProcess } from './margay-process.js';
import { kernelBgpRoutes, type RunningPeer } from './peers.js';
import { cleanup, withTopology } from './scenario.js';

function asPeer(h: FrrHandle): RunningPeer {
  return { kind: 'frr', handle: h, established: async () => true, hasRoute: async () => false, stop: () => h.stop() };
}

const frrConfig = (routerId: string, margay6: string): string =>
  [
    'frr defaults traditional',
    'router bgp 65002',
    ` bgp router-id ${routerId}`,
    ' no bgp ebgp-requires-policy',
    ' no bgp network import-check',
    ` neighbor ${margay6} remote-as 65001`,
    ` neighbor ${margay6} timers connect 1`,
    ` neighbor ${margay6} capability extended-nexthop`,
    ' address-family ipv4 unicast',
    '  network 198.51.100.0/24',
    `  neighbor ${margay6} activate`,
    ' exit-address-family',
  ].join('\n');

describe.each([true, false])('RFC 8950 with FRR (option left at its default: %s)', (byDefault) => {
  it('negotiates extended next hop and installs IPv4 routes via inet6 only when offered', {
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
fib: { enabled: true }
ebgpRequiresPolicy: false
originate: [{ prefix: 10.244.1.0/24 }]
peers:
  - { address: "${link.peerIp6}", asn: 65002, connectRetry: 1, families: [ipv4]${byDefault ? '' : ', extendedNextHop: false'} }
`,
        );
        margays.push(m);
        const frr = await startFrr(link.ns, frrConfig(link.peerIp, link.margayIp6));
        peers.push(asPeer(frr));
        await waitFor(
          'session Established',
          async () => (await m.peer(link.peerIp6))?.state === 'Established',
          30_000,
          200,
        );
        const nb = await frr.vtyshJson<Record<string, { neighborCapabilities?: Record<string, unknown> }>>(
          `show bgp neighbors ${link.margayIp6} json`,
        );
        const enhe = JSON.stringify(nb[link.margayIp6]?.neighborCapabilities?.['extendedNexthop'] ?? null);
        if (!byDefault) {
          expect(enhe, 'not offered when disabled').not.toMatch(/advertisedAndReceived|received/);
          return;
        }
        expect(enhe).toMatch(/advertisedAndReceived/);
        await waitFor(
          '198.51.100.0/24 in margay',
          async () => (await m.ctl.rib({ prefix: '198.51.100.0/24' })).matched === 1,
          20_000,
          200,
        );
        expect((await m.ctl.rib({ prefix: '198.51.100.0/24' })).routes[0]!.nextHop).toContain(link.peerIp6);
        let kernel = '';
        await waitFor(
          'IPv4 route via inet6 in the kernel',
          async () => (kernel = await kernelBgpRoutes(margayNs, 4)).includes('198.51.100.0/24'),
          10_000,
          200,
        );
        expect(kernel).toMatch(
          new RegExp(`198\\.51\\.100\\.0/24 via inet6 ${link.peerIp6.replace(/\./g, '\\.')} dev \\S+`),
        );
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
