/**
 * Interop, black box, with FRR (AS 65002, IPv4 and IPv6 sessions) and BIRD 2 (AS 65003, extended
 * messages) around margay-bgpd (AS 65001):
 *  - communities and large communities pass FRR → margay → BIRD; NO_EXPORT stops at margay (RFC 1997);
 *  - margay's originated MED/communities reach FRR; `clear bgp … soft in` at FRR (ROUTE-REFRESH) makes
 *    margay re-send its table;
 *  - BIRD with `enable extended messages` sends 5000 prefixes in big UPDATEs; margay takes them all
 *    and re-advertises all 5000 to FRR, which has no extended messages (so ≤ 4096-byte UPDATEs).
 */
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { startBird, startFrr, waitFor, type BirdHandle, type FrrHandle } from '../helpers/bgp-daemons.js';
import { startMargay, type MargayProcess } from '../interop/margay-process.js';
import { cleanup, withTopology } from '../interop/scenario.js';
import type { RunningPeer } from '../interop/peers.js';

const N = 5000;

function asPeer(h: BirdHandle | FrrHandle): RunningPeer {
  return { kind: h.kind, handle: h, established: async () => true, hasRoute: async () => false, stop: () => h.stop() };
}

async function frrRoute(
  h: FrrHandle,
  prefix: string,
): Promise<{ metric?: number; community?: { string: string }; largeCommunity?: { string: string } }[]> {
  const j = await h.vtyshJson<{
    paths?: { metric?: number; community?: { string: string }; largeCommunity?: { string: string } }[];
  }>(`show bgp ipv4 unicast ${prefix} json`);
  return j.paths ?? [];
}

describe('margay-bgpd between FRR and BIRD', () => {
  it('passes communities on, honours NO_EXPORT, answers FRR route refresh, and splits BIRD extended-message UPDATEs for FRR', {
    timeout: 90_000,
  }, async () => {
    await withTopology(2, async ({ margayNs, links }) => {
      const [f, b] = [links[0]!, links[1]!];
      const peers: RunningPeer[] = [];
      const margays: MargayProcess[] = [];
      try {
        const m = await startMargay(
          margayNs,
          (socket) => `
routerId: ${f.margayIp}
asn: 65001
listen: { addresses: [${f.margayIp}, ${b.margayIp}], port: 179 }
control: { socket: ${socket} }
ebgpRequiresPolicy: false
originate: [{ prefix: 10.244.1.0/24, med: 10, communities: ["65001:1"], largeCommunities: ["65001:1:1"] }]
peers:
  - { address: ${f.peerIp}, asn: 65002, connectRetry: 1 }
  - { address: ${b.peerIp}, asn: 65003, connectRetry: 1 }
`,
        );
        margays.push(m);
        const frr = await startFrr(
          f.ns,
          [
            'frr defaults traditional',
            'route-map TAG permit 10',
            ' set community 65002:7',
            ' set large-community 65002:7:7',
            // NO_EXPORT set on the way out (FRR itself would not send a NO_EXPORT route to eBGP).
            'ip prefix-list NOEXP seq 5 permit 198.51.101.0/24',
            'route-map OUT permit 10',
            ' match ip address prefix-list NOEXP',
            ' set community no-export additive',
            'route-map OUT permit 20',
            'router bgp 65002',
            ` bgp router-id ${f.peerIp}`,
            ' no bgp ebgp-requires-policy',
            ' no bgp network import-check',
            ` neighbor ${f.margayIp} remote-as 65001`,
            ` neighbor ${f.margayIp} timers connect 1`,
            ' address-family ipv4 unicast',
            '  network 198.51.100.0/24 route-map TAG',
            '  network 198.51.101.0/24',
            `  neighbor ${f.margayIp} route-map OUT out`,
            ` neighbor ${f.margayIp} send-community all`,
            ' exit-address-family',
          ].join('\n'),
        );
        peers.push(asPeer(frr));
        const statics = Array.from({ length: N }, (_, i) => `route 10.200.${i >> 8}.${i & 255}/32 blackhole;`).join(
          '\n',
        );
        const bird = await startBird(
          b.ns,
          `router id ${b.peerIp};
protocol device {}
protocol static s4 { ipv4; ${statics} }
protocol bgp margay { local ${b.peerIp} as 65003; neighbor ${b.margayIp} as 65001; connect retry time 1; enable extended messages on;
  ipv4 { import all; export where proto = "s4"; }; }`,
        );
        peers.push(asPeer(bird));

        await waitFor(
          'FRR Established',
          async () => (await frr.peers('ipv4'))[f.margayIp]?.state === 'Established',
          30_000,
          200,
        );
        await waitFor(
          'BIRD Established',
          async () => (await bird.protocols()).get('margay')?.info.includes('Established'),
          30_000,
          200,
        );
        const birdPeer = await m.peer(b.peerIp);
        expect(birdPeer?.state).toBe('Established');

        // Communities pass FRR → margay → BIRD; NO_EXPORT is not advertised to the eBGP peer BIRD.
        await waitFor(
          '198.51.100.0/24 at BIRD',
          async () => (await birdRoute(bird, '198.51.100.0/24')).includes('198.51.100.0/24'),
          20_000,
          200,
        );
        const tagged = await birdRoute(bird, '198.51.100.0/24');
        expect(tagged).toMatch(/BGP\.community: \(65002,7\)/);
        expect(tagged).toMatch(/BGP\.large_community: \(65002, 7, 7\)/);
        await waitFor(
          '198.51.101.0/24 in margay RIB',
          async () => (await m.ctl.rib({ prefix: '198.51.101.0/24' })).matched === 1,
          10_000,
          100,
        );
        const noexp = (await m.ctl.rib({ prefix: '198.51.101.0/24' })).routes[0]!.communities;
        expect(
          noexp.some((c) => c === 'no-export' || c === '65535:65281'),
          `NO_EXPORT in ${noexp.join(',')}`,
        ).toBe(true);
        expect(await birdRoute(bird, '198.51.101.0/24'), 'NO_EXPORT route must not reach an eBGP peer').toBe('');

        // margay's originated route at FRR: MED and both kinds of community.
        await waitFor(
          '10.244.1.0/24 at FRR',
          async () => (await frrRoute(frr, '10.244.1.0/24')).length > 0,
          20_000,
          200,
        );
        const [own] = await frrRoute(frr, '10.244.1.0/24');
        expect(own!.metric, JSON.stringify(own)).toBe(10);
        expect(own!.community?.string).toBe('65001:1');
        expect(own!.largeCommunity?.string).toBe('65001:1:1');

        // BIRD's 5000 prefixes arrive in extended-length UPDATEs; all 5000 reach FRR (4096-byte UPDATEs).
        await waitFor(
          `${N} prefixes from BIRD in margay`,
          async () => (await m.peer(b.peerIp))?.prefixesAccepted === N,
          20_000,
          200,
        );
        await waitFor(
          `${N} + 1 prefixes at FRR`,
          async () => (await frr.peers('ipv4'))[f.margayIp]?.pfxRcd === N + 1,
          20_000,
          200,
        );

        // FRR asks for a refresh: margay re-sends everything (FRR counts the UPDATEs it receives).
        const before = await updatesReceived(frr, f.margayIp);
        await frr.vtysh(`clear bgp ipv4 unicast ${f.margayIp} soft in`);
        await waitFor(
          'UPDATEs after FRR route refresh',
          async () => (await updatesReceived(frr, f.margayIp)) > before,
          10_000,
          200,
        );
        expect((await frr.peers('ipv4'))[f.margayIp]?.state).toBe('Established');
        expect((await m.peer(f.peerIp))?.flaps).toBe(0);
        expect((await m.peer(b.peerIp))?.flaps).toBe(0);
      } finally {
        await cleanup(peers, margays);
      }
    });
  });
});

async function birdRoute(h: BirdHandle, prefix: string): Promise<string> {
  const out = await execa('birdc', ['-s', `${h.workdir}/bird.ctl`, 'show', 'route', prefix, 'all'], { reject: false });
  return out.exitCode === 0 && out.stdout.includes(prefix) ? out.stdout : '';
}

async function updatesReceived(h: FrrHandle, neighbor: string): Promise<number> {
  const j = await h.vtyshJson<Record<string, { messageStats?: { updatesRecv?: number } }>>(
    `show bgp neighbors ${neighbor} json`,
  );
  return j[neighbor]?.messageStats?.updatesRecv ?? 0;
}
