import { describe, expect, it } from 'vitest';
import { sleep, startBird, waitFor, type BirdHandle } from '../helpers/bgp-daemons.js';
import { startMargay, type MargayProcess } from './margay-process.js';
import { birdHasRoute, DAEMONS, startPeer, type RunningPeer } from './peers.js';
import { cleanup, withTopology } from './scenario.js';

// Session-level behaviour: max-prefix against BIRD 2 (Cease 1 with data, then back-off and retry),
// hold-timer expiry against BIRD, FRR and GoBGP (the peer freezes: margay drops the session after its
// 3 s hold time, after a full hold time of healthy keepalives), and collision against BIRD (both sides
// connect at once: one session survives and does not flap).

function birdRunning(handle: BirdHandle): RunningPeer {
  return {
    kind: 'bird',
    handle,
    established: async () => (await handle.protocols()).get('margay')?.info.includes('Established') === true,
    hasRoute: (p) => birdHasRoute(handle, p),
    stop: () => handle.stop(),
  };
}

describe('session limits and timers', () => {
  it('max-prefix: Cease 1 to the peer, status shows it, session comes back after the back-off', async () => {
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
listen: { addresses: [${link.margayIp}], port: 179 }
control: { socket: ${socket} }
ebgpRequiresPolicy: false
peers:
  - { address: ${link.peerIp}, asn: 65002, connectRetry: 1, maxPrefix: { limit: 3, action: restart, restartSeconds: 4 } }
`,
        );
        margays.push(m);
        const statics = [1, 2, 3, 4, 5].map((i) => `route 192.0.${i}.0/24 blackhole;`).join(' ');
        const bird = await startBird(
          link.ns,
          `router id ${link.peerIp};
protocol device {}
protocol static { ipv4; ${statics} }
protocol bgp margay { local ${link.peerIp} as 65002; neighbor ${link.margayIp} as 65001; connect retry time 1; error wait time 1, 2;
  ipv4 { import all; export all; }; }`,
        );
        peers.push(birdRunning(bird));
        await waitFor(
          'margay to send Cease 1',
          async () => /max-prefix 3 exceeded/.test((await m.peer(link.peerIp))?.lastError ?? ''),
          30_000,
          100,
        );
        expect((await m.peer(link.peerIp))?.state).toBe('Idle (max-prefix)');
        const info = await bird.birdc('show', 'protocols', 'all', 'margay');
        expect(info).toMatch(/Maximum number of prefixes reached/i);
        // After the 4 s back-off the session is tried again (and trips again: the peer still sends 5).
        const trips = (): number => (m.log().match(/peer exceeded max-prefix/g) ?? []).length;
        const t0 = Date.now();
        await waitFor('a second Cease 1 after the back-off', async () => trips() >= 2, 15_000, 100);
        expect(Date.now() - t0).toBeGreaterThan(2500);
      } finally {
        await cleanup(peers, margays);
      }
    });
  });

  it.each(DAEMONS)('hold timer: a frozen %s is dropped after the 3 s hold time', async (kind) => {
    await withTopology(1, async ({ margayNs, links: [l] }) => {
      const link = l!;
      const peers: RunningPeer[] = [];
      const margays: MargayProcess[] = [];
      let frozen: number[] = [];
      try {
        const m = await startMargay(
          margayNs,
          (socket) => `
routerId: ${link.margayIp}
asn: 65001
listen: { addresses: [${link.margayIp}], port: 179 }
control: { socket: ${socket} }
peers:
  - { address: ${link.peerIp}, asn: 65002, holdTime: 3, connectRetry: 1 }
`,
        );
        margays.push(m);
        const peer = await startPeer(kind, {
          ns: link.ns,
          ip: link.peerIp,
          asn: 65002,
          routerId: link.peerIp,
          margayIp: link.margayIp,
          margayAsn: 65001,
          holdTime: 3,
        });
        peers.push(peer);
        await waitFor('Established', async () => (await m.peer(link.peerIp))?.state === 'Established', 30_000, 100);
        expect((await m.peer(link.peerIp))?.holdTime).toBe(3);
        await sleep(4000); // a full hold time of keepalives both ways first
        expect((await m.peer(link.peerIp))?.state).toBe('Established');
        frozen = await peer.handle.pids();
        for (const pid of frozen) process.kill(pid, 'SIGSTOP');
        const t0 = Date.now();
        await waitFor(
          'hold timer expiry',
          async () => (await m.peer(link.peerIp))?.state !== 'Established',
          10_000,
          50,
        );
        const took = Date.now() - t0;
        expect(took).toBeGreaterThan(1500);
        expect((await m.peer(link.peerIp))?.lastError ?? '').toMatch(/hold/i);
      } finally {
        for (const pid of frozen) process.kill(pid, 'SIGCONT');
        await cleanup(peers, margays);
      }
    });
  });

  it('collision: both sides connect at once, the session settles on one connection and stays up', async () => {
    await withTopology(1, async ({ margayNs, links: [l] }) => {
      const link = l!;
      const peers: RunningPeer[] = [];
      const margays: MargayProcess[] = [];
      let frozen: number[] = [];
      try {
        // BIRD starts first (active, retrying every second) and is frozen. margay then connects: the
        // kernel completes the handshake on BIRD's listening socket and margay's OPEN waits there. On
        // SIGCONT, BIRD's expired connect timer makes it connect to margay too while it answers margay's
        // OPEN: two connections past OpenSent for one peer, resolved per RFC 4271 §6.8 (Cease 7). Which
        // one survives can depend on a race the RFC leaves open (a connection may reach Established on
        // one side while the other is still comparing identifiers), so at most one flap is allowed; what
        // must hold is that exactly one session remains and stays up.
        const bird = await startBird(
          link.ns,
          `router id ${link.peerIp};
protocol device {}
protocol bgp margay { local ${link.peerIp} as 65002; neighbor ${link.margayIp} as 65001; start delay time 0; connect retry time 1; hold time 9;
  ipv4 { import none; export none; }; }`,
        );
        peers.push(birdRunning(bird));
        await sleep(1500);
        frozen = await bird.pids(); // its connect-retry timer runs out while frozen
        for (const pid of frozen) process.kill(pid, 'SIGSTOP');
        const m = await startMargay(
          margayNs,
          (socket) => `
routerId: ${link.margayIp}
asn: 65001
listen: { addresses: ["0.0.0.0"], port: 179 }
control: { socket: ${socket} }
peers:
  - { address: ${link.peerIp}, asn: 65002, connectRetry: 1, holdTime: 9 }
`,
        );
        margays.push(m);
        await waitFor(
          'margay in OpenSent on its own connection',
          async () => (await m.peer(link.peerIp))?.state === 'OpenSent',
          10_000,
          50,
        );
        await sleep(1500);
        for (const pid of frozen) process.kill(pid, 'SIGCONT');
        frozen = [];
        await waitFor(
          'both connections past OpenSent (a collision)',
          async () => {
            const log = m.log();
            return /"conn":"in"[^\n]*"to":"OpenSent"/.test(log) && /"conn":"out"[^\n]*"to":"OpenSent"/.test(log);
          },
          10_000,
          100,
        );
        await waitFor(
          'Established',
          async () => (await m.peer(link.peerIp))?.state === 'Established' && (await peers[0]!.established()),
          30_000,
          100,
        );
        await sleep(5000);
        const st = (await m.peer(link.peerIp))!;
        expect(st.state).toBe('Established');
        expect(st.flaps).toBeLessThanOrEqual(1);
        expect(st.uptimeSeconds).toBeGreaterThanOrEqual(4);
        expect(await peers[0]!.established()).toBe(true);
      } finally {
        for (const pid of frozen) process.kill(pid, 'SIGCONT');
        await cleanup(peers, margays);
      }
    });
  });
});
