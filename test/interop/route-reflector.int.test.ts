import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/bgp-daemons.js';
import type { FrrHandle } from '../helpers/bgp-daemons.js';
import { startMargay, type MargayProcess } from './margay-process.js';
import { ORIGIN_PREFIX, startPeer, type RunningPeer } from './peers.js';
import { cleanup, withTopology } from './scenario.js';

// margay-bgpd as an RFC 4456 route reflector (AS 65000, cluster id 10.255.0.1) for a BIRD client and
// an FRR client: each client's route reaches the other with ORIGINATOR_ID = the originating client's
// router id and CLUSTER_LIST = [our cluster id], next hop unchanged. Then a reload with another cluster
// id: both clients get the reflected routes again with the new CLUSTER_LIST, and neither session drops
// (the change is applied in the RIB, not by restarting sessions).

describe('route reflection', () => {
  it('reflects between BIRD and FRR clients with ORIGINATOR_ID and CLUSTER_LIST', async () => {
    await withTopology(2, async ({ margayNs, links }) => {
      const [lb, lf] = [links[0]!, links[1]!];
      const peers: RunningPeer[] = [];
      const margays: MargayProcess[] = [];
      try {
        const yaml = (clusterId: string) => (socket: string) =>
          `
routerId: 10.10.1.1
asn: 65000
listen: { addresses: ["0.0.0.0"], port: 179 }
control: { socket: ${socket} }
routeReflector: { clusterId: ${clusterId} }
peers:
  - { address: ${lb.peerIp}, asn: internal, routeReflectorClient: true, connectRetry: 1 }
  - { address: ${lf.peerIp}, asn: internal, routeReflectorClient: true, connectRetry: 1 }
`;
        const m = await startMargay(margayNs, yaml('10.255.0.1'));
        margays.push(m);
        const bird = await startPeer('bird', {
          ns: lb.ns,
          ip: lb.peerIp,
          asn: 65000,
          routerId: '10.0.0.11',
          margayIp: lb.margayIp,
          margayAsn: 65000,
        });
        peers.push(bird);
        const frr = await startPeer('frr', {
          ns: lf.ns,
          ip: lf.peerIp,
          asn: 65000,
          routerId: '10.0.0.12',
          margayIp: lf.margayIp,
          margayAsn: 65000,
        });
        peers.push(frr);
        await waitFor(
          'both clients Established',
          async () => (await bird.established()) && (await frr.established()),
          30_000,
          200,
        );

        await waitFor(
          "FRR to learn BIRD's route via the reflector",
          () => frr.hasRoute(ORIGIN_PREFIX.bird),
          20_000,
          200,
        );
        const frrPath = async () =>
          (
            await (frr.handle as FrrHandle).vtyshJson<{
              paths: { originatorId?: string; clusterList?: { list: string[] }; nexthops?: { ip: string }[] }[];
            }>(`show bgp ipv4 unicast ${ORIGIN_PREFIX.bird} json`)
          ).paths[0]!;
        const path = await frrPath();
        expect(path.originatorId).toBe('10.0.0.11');
        expect(path.clusterList?.list).toEqual(['10.255.0.1']);
        expect(path.nexthops?.[0]?.ip).toBe(lb.peerIp);

        await waitFor(
          "BIRD to learn FRR's route via the reflector",
          () => bird.hasRoute(ORIGIN_PREFIX.frr),
          20_000,
          200,
        );
        const birdRoute = () =>
          (bird.handle as import('../helpers/bgp-daemons.js').BirdHandle).birdc(
            'show',
            'route',
            ORIGIN_PREFIX.frr,
            'all',
          );
        const b = await birdRoute();
        expect(b).toMatch(/BGP\.originator_id: 10\.0\.0\.12/);
        expect(b).toMatch(/BGP\.cluster_list: 10\.255\.0\.1/);
        const st = await m.ctl.peers();
        expect(st.map((p) => [p.address, p.type, p.routeReflectorClient, p.state])).toEqual([
          [lb.peerIp, 'ibgp', true, 'Established'],
          [lf.peerIp, 'ibgp', true, 'Established'],
        ]);

        // A new cluster id: reflected routes are re-advertised with it; no session is reset.
        await m.reload(yaml('10.255.0.2')(m.ctl.socketPath));
        await waitFor(
          'FRR to see the new cluster id',
          async () => (await frrPath()).clusterList?.list.join() === '10.255.0.2',
          20_000,
          200,
        );
        await waitFor(
          'BIRD to see the new cluster id',
          async () => /BGP\.cluster_list: 10\.255\.0\.2\s*$/m.test(await birdRoute()),
          20_000,
          200,
        );
        expect((await frrPath()).originatorId).toBe('10.0.0.11');
        expect(m.log()).toMatch(/cluster ID changed/);
        expect(m.log()).not.toMatch(/restarting every session/);
        expect((await m.ctl.peers()).map((p) => [p.address, p.state, p.flaps])).toEqual([
          [lb.peerIp, 'Established', 0],
          [lf.peerIp, 'Established', 0],
        ]);
        expect(await bird.handle.log()).not.toMatch(/Other configuration change/i);
      } finally {
        await cleanup(peers, margays);
      }
    });
  });
});
