import { describe, expect, it } from 'vitest';
import { linkNetns, withNetnses } from '../helpers/netns.js';
import {
  GOBGP_ESTABLISHED,
  startBird,
  startFrr,
  startGobgp,
  waitFor,
  type DaemonHandle,
} from '../helpers/bgp-daemons.js';

// The reference daemons themselves, peered in a chain BIRD (AS 65001) — FRR (AS 65002) — GoBGP (AS 65003):
// proves the harness the interop tests and benchmarks stand on starts, queries and stops each one.
describe('reference BGP daemons harness', () => {
  it('BIRD, FRR and GoBGP peer in namespaces and exchange routes', async () => {
    await withNetnses(3, async ([a, b, c]) => {
      await linkNetns(a!, b!, '10.1.0.1/24', '10.1.0.2/24');
      await linkNetns(c!, b!, '10.2.0.3/24', '10.2.0.2/24');
      const started: DaemonHandle[] = [];
      try {
        const bird = await startBird(
          a!,
          `router id 10.1.0.1;
protocol device {}
protocol static { ipv4; route 192.0.2.0/24 blackhole; }
protocol bgp frr { local 10.1.0.1 as 65001; neighbor 10.1.0.2 as 65002; ipv4 { import all; export all; }; }`,
        );
        started.push(bird);
        const frr = await startFrr(
          b!,
          `frr defaults traditional
router bgp 65002
 bgp router-id 10.1.0.2
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor 10.1.0.1 remote-as 65001
 neighbor 10.2.0.3 remote-as 65003
 address-family ipv4 unicast
  network 198.51.100.0/24
 exit-address-family`,
        );
        started.push(frr);
        const gobgp = await startGobgp(
          c!,
          `[global.config]
  as = 65003
  router-id = "10.2.0.3"
[[neighbors]]
  [neighbors.config]
    neighbor-address = "10.2.0.2"
    peer-as = 65002
`,
        );
        started.push(gobgp);
        await gobgp.gobgp('global', 'rib', 'add', '203.0.113.0/24');

        await waitFor('BIRD to learn 2 routes from FRR', async () => (await bird.routeCount('frr')) === 2);
        expect((await bird.protocols()).get('frr')?.info).toContain('Established');
        await waitFor('FRR to have both sessions up', async () => {
          const p = await frr.peers();
          return p['10.1.0.1']?.state === 'Established' && p['10.2.0.3']?.state === 'Established';
        });
        const n = await gobgp.neighbors();
        expect(n[0]?.state.session_state).toBe(GOBGP_ESTABLISHED);
        await waitFor("GoBGP to learn BIRD's route", async () =>
          (await gobgp.gobgp('global', 'rib')).includes('192.0.2.0/24'),
        );
      } finally {
        for (const d of started) await d.stop();
      }
    });
  });
});
