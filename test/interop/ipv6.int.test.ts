import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/bgp-daemons.js';
import { startMargay, type MargayProcess } from './margay-process.js';
import { DAEMONS, kernelBgpRoutes, ORIGIN_PREFIX6, startPeer, type RunningPeer } from './peers.js';
import { cleanup, withTopology } from './scenario.js';

// IPv6 unicast over IPv6 sessions (MP-BGP, MP_REACH/MP_UNREACH with 16/32-byte next hops) with each
// reference daemon: routes both ways, the learned one in the kernel's IPv6 table with proto 110.

const POD6 = '2001:db8:244:1::/64';

describe.each(DAEMONS)('IPv6 with %s', (kind) => {
  it('exchanges IPv6 routes over an IPv6 session', async () => {
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
listen: { addresses: [${link.margayIp}, "${link.margayIp6}"], port: 179 }
control: { socket: ${socket} }
fib: { enabled: true }
ebgpRequiresPolicy: false
originate: [{ prefix: "${POD6}" }]
peers:
  - { address: ${link.peerIp}, asn: 65002, connectRetry: 1, families: [ipv4] }
  - { address: "${link.peerIp6}", asn: 65002, connectRetry: 1, families: [ipv6] }
`,
        );
        margays.push(m);
        const d = await startPeer(kind, {
          ns: link.ns,
          ip: link.peerIp,
          asn: 65002,
          routerId: link.peerIp,
          margayIp: link.margayIp,
          margayAsn: 65001,
          ip6: { own: link.peerIp6, margay: link.margayIp6 },
        });
        peers.push(d);
        await waitFor(
          'both sessions Established',
          async () => (await m.peer(link.peerIp6))?.state === 'Established' && (await d.established()),
          30_000,
          200,
        );
        const theirs = ORIGIN_PREFIX6[kind];
        await waitFor(
          `margay to learn ${theirs}`,
          async () => (await m.ctl.rib({ prefix: theirs, family: 'ipv6' })).matched > 0,
          20_000,
          200,
        );
        const r = (await m.ctl.rib({ prefix: theirs })).routes[0]!;
        expect(r).toMatchObject({ from: link.peerIp6, best: true });
        expect(r.nextHop).toContain(link.peerIp6);
        await waitFor(`${kind} to learn ${POD6}`, () => d.hasRoute(POD6), 20_000, 200);
        await waitFor(
          'IPv6 route in the kernel',
          async () => (await kernelBgpRoutes(margayNs, 6)).includes(theirs.replace('::/48', '::/48')),
          10_000,
          200,
        );
      } finally {
        await cleanup(peers, margays);
      }
    });
  });
});
