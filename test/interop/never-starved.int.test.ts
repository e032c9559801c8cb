import { describe, expect, it } from 'vitest';
import { sleep, startBird, waitFor, type BirdHandle } from '../helpers/bgp-daemons.js';
import { startMargay, type MargayProcess } from './margay-process.js';
import type { RunningPeer } from './peers.js';
import { cleanup, withTopology } from './scenario.js';

// Issue point 9, "never starved": while 1M prefixes arrive on one session (BIRD A, 1M static /32s) and
// are re-advertised on another (BIRD B), the session to B — hold time 3 s on both sides — stays
// Established throughout: keepalives and hold timers keep working while margay-bgpd does heavy work.
// Then A is cut (BIRD A killed, its TCP session closed; no graceful restart toward A, else its routes
// would rightly stay for BIRD's 120 s restart time): margay-bgpd removes A's 1M paths in slices
// (RIB peerDownStep) and withdraws all of them toward B, and B's 3 s session again never leaves
// Established.

const N = Number(process.env.MARGAY_STARVE_N ?? 1_000_000);

function statics(n: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(`route 100.${64 + (i >>> 16)}.${(i >>> 8) & 0xff}.${i & 0xff}/32 blackhole;`);
  return lines.join('\n');
}

function running(h: BirdHandle): RunningPeer {
  return { kind: 'bird', handle: h, established: async () => false, hasRoute: async () => false, stop: () => h.stop() };
}

describe('never starved', () => {
  it(`a 3 s hold-time session stays Established while ${N} prefixes arrive on another and are re-advertised to it, then withdrawn when that session is cut`, async () => {
    await withTopology(2, async ({ margayNs, links }) => {
      const [la, lb] = [links[0]!, links[1]!];
      const peers: RunningPeer[] = [];
      const margays: MargayProcess[] = [];
      try {
        const m = await startMargay(
          margayNs,
          (socket) => `
routerId: 10.10.1.1
asn: 65001
listen: { addresses: ["0.0.0.0"], port: 179 }
control: { socket: ${socket} }
ebgpRequiresPolicy: false
peers:
  - { address: ${la.peerIp}, asn: 65002, connectRetry: 1, passive: true, gracefulRestart: { enabled: false } }
  - { address: ${lb.peerIp}, asn: 65003, connectRetry: 1, holdTime: 3 }
`,
        );
        margays.push(m);
        const b = await startBird(
          lb.ns,
          `router id ${lb.peerIp};
protocol device {}
protocol bgp margay { local ${lb.peerIp} as 65003; neighbor ${lb.margayIp} as 65001; hold time 3; keepalive time 1;
  ipv4 { import all; export none; }; }`,
        );
        peers.push(running(b));
        await waitFor('B Established', async () => (await m.peer(lb.peerIp))?.state === 'Established', 30_000, 100);
        const flapsBefore = (await m.peer(lb.peerIp))!.flaps;

        // BIRD A loads N static routes and only then connects (its config is written before start).
        const a = await startBird(
          la.ns,
          `router id ${la.peerIp};
protocol device {}
protocol static big { ipv4;
${statics(N)}
}
protocol bgp margay { local ${la.peerIp} as 65002; neighbor ${la.margayIp} as 65001; start delay time 0;
  ipv4 { import none; export all; }; }`,
        );
        peers.push(running(a));
        const t0 = Date.now();
        // Poll B's state every 200 ms all along: it must never leave Established.
        let sawDown = false;
        await waitFor(
          `B to hold all ${N} re-advertised prefixes`,
          async () => {
            const st = await m.peer(lb.peerIp);
            if (st?.state !== 'Established') sawDown = true;
            const out = await b.birdc('show', 'route', 'count');
            const got = Number(/(\d+) of \d+ routes/.exec(out)?.[1] ?? 0);
            return got >= N;
          },
          180_000,
          200,
        );
        console.log(
          `never-starved: ${N} prefixes through margay-bgpd to B in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
        );
        await sleep(4000); // one more hold time after the burst
        const st = (await m.peer(lb.peerIp))!;
        expect(sawDown).toBe(false);
        expect(st.state).toBe('Established');
        expect(st.flaps).toBe(flapsBefore);
        expect((await b.protocols()).get('margay')?.info).toContain('Established');
        expect(await b.log()).not.toMatch(/Hold timer expired/i);
        expect((await m.peer(la.peerIp))!.prefixesAccepted).toBe(N);

        // Cut A: its session closes with N paths in margay's RIB; B must get every withdrawal.
        await peers.pop()!.stop();
        const t1 = Date.now();
        let sawDownCut = false;
        await waitFor(
          `B to have all ${N} prefixes withdrawn`,
          async () => {
            const st2 = await m.peer(lb.peerIp);
            if (st2?.state !== 'Established') sawDownCut = true;
            const out = await b.birdc('show', 'route', 'count');
            const got = /(\d+) of \d+ routes/.exec(out);
            return got !== null && Number(got[1]) === 0;
          },
          180_000,
          200,
        );
        console.log(
          `never-starved: ${N} withdrawals through margay-bgpd to B in ${((Date.now() - t1) / 1000).toFixed(1)} s after A was cut`,
        );
        await sleep(4000); // one more hold time after the withdrawal burst
        const after = (await m.peer(lb.peerIp))!;
        expect(sawDownCut).toBe(false);
        expect(after.state).toBe('Established');
        expect(after.flaps).toBe(flapsBefore);
        expect((await b.protocols()).get('margay')?.info).toContain('Established');
        expect(await b.log()).not.toMatch(/Hold timer expired/i);
        expect((await m.peer(la.peerIp))!.state).not.toBe('Established');
        const rib = await m.ctl.rib({ limit: 0 });
        expect([rib.paths.ipv4, rib.prefixes.ipv4]).toEqual([0, 0]); // every path of A gone from the RIB
      } finally {
        await cleanup(peers, margays);
      }
    });
  }, 300_000);
});
