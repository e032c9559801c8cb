import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { sleep, waitFor, type BirdHandle } from '../helpers/bgp-daemons.js';
import { startMargay, type MargayProcess } from './margay-process.js';
import { kernelBgpRoutes, ORIGIN_PREFIX, startPeer, type DaemonKind, type RunningPeer } from './peers.js';
import { cleanup, withTopology, type Link } from './scenario.js';

// RFC 4724 graceful restart, both roles, with BIRD 2, FRR and GoBGP.
//  1. margay-bgpd restarts (SIGKILL: the session just ends): the peer keeps margay's routes while it is
//     gone; after the restart and margay's End-of-RIB it sweeps the route margay no longer announces.
//     Meanwhile margay's own FIB route (learned from the peer) is reconciled, not flushed: `ip monitor`
//     sees no event for it across the restart.
//  2. The peer restarts (SIGKILL): margay keeps its route stale (still in the kernel) until the peer
//     is back and has sent End-of-RIB, then the route is fresh again.

const KEEP = '10.244.1.0/26';
const DROP = '10.244.2.0/26';
const KINDS: readonly DaemonKind[] = ['bird', 'frr', 'gobgp'];

function margayYaml(l: Link, originate: readonly string[]) {
  return (socket: string) => `
routerId: ${l.margayIp}
asn: 65001
listen: { addresses: [${l.margayIp}], port: 179 }
control: { socket: ${socket} }
fib: { enabled: true }
ebgpRequiresPolicy: false
gracefulRestart: { restartTime: 60, stalePathTime: 60 }
originate: [${originate.map((p) => `{ prefix: ${p} }`).join(', ')}]
peers:
  - { address: ${l.peerIp}, asn: 65002, holdTime: 9, connectRetry: 1, gracefulRestart: { enabled: true, restartTime: 60 } }
`;
}

function spec(link: Link) {
  return {
    ns: link.ns,
    ip: link.peerIp,
    asn: 65002,
    routerId: link.peerIp,
    margayIp: link.margayIp,
    margayAsn: 65001,
    holdTime: 9,
    gracefulRestart: true,
  };
}

describe.each(KINDS)('graceful restart with %s', (kind) => {
  it(`margay-bgpd restarts: ${kind} keeps its routes, then sweeps the one not re-announced; margay's FIB is not flushed`, async () => {
    await withTopology(1, async ({ margayNs, links: [l] }) => {
      const link = l!;
      const peers: RunningPeer[] = [];
      const margays: MargayProcess[] = [];
      const theirs = ORIGIN_PREFIX[kind];
      try {
        const m1 = await startMargay(margayNs, margayYaml(link, [KEEP, DROP]));
        margays.push(m1);
        const peer = await startPeer(kind, spec(link));
        peers.push(peer);
        await waitFor(
          `${kind} to learn both prefixes`,
          async () => (await peer.hasRoute(KEEP)) && (await peer.hasRoute(DROP)),
          30_000,
          200,
        );
        await waitFor(
          "margay to install the peer's route",
          async () => (await kernelBgpRoutes(margayNs)).includes(theirs),
          20_000,
          200,
        );

        const monitor = execa('ip', ['-n', margayNs, 'monitor', 'route'], { reject: false, buffer: true });
        await sleep(200);
        await m1.kill();
        await waitFor(`${kind} to notice the session is gone`, async () => !(await peer.established()), 20_000, 100);
        await sleep(1000);
        expect(await peer.hasRoute(KEEP)).toBe(true);
        expect(await peer.hasRoute(DROP)).toBe(true);
        if (kind === 'bird') {
          expect(await (peer.handle as BirdHandle).birdc('show', 'protocols', 'all', 'margay')).toContain(
            'Neighbor graceful restart active',
          );
        }

        const m2 = await startMargay(margayNs, margayYaml(link, [KEEP]), { workdir: m1.workdir });
        margays.push(m2);
        await waitFor('session back', () => peer.established(), 30_000, 200);
        await waitFor(
          `${kind} to sweep ${DROP} after margay's End-of-RIB`,
          async () => !(await peer.hasRoute(DROP)),
          30_000,
          200,
        );
        expect(await peer.hasRoute(KEEP)).toBe(true);
        // margay found its routes in the FIB, so it restarted gracefully and deferred its advertisements
        // until the peer's End-of-RIB (RFC 4724 §4.1).
        expect(m2.log()).toContain('FIB holds our routes from a previous run: restarting gracefully');
        expect(m2.log()).toContain('route selection deferral over');
        await waitFor(
          "margay to learn the peer's route again",
          async () => (await m2.ctl.rib({ prefix: theirs })).matched > 0,
          20_000,
          200,
        );
        await sleep(1500); // let the FIB loop run after the relearn
        monitor.kill('SIGTERM');
        const events = String((await monitor).stdout);
        expect(events).not.toContain(theirs);
        expect(await kernelBgpRoutes(margayNs)).toContain(theirs);
        if (kind === 'bird') {
          // The Restarting bit was for the first session only: after a reset the renewed session peers again.
          await (peer.handle as BirdHandle).birdc('restart', 'margay');
          await waitFor(
            'the renewed session',
            async () =>
              m2.log().includes('session renewed without the graceful-restart Restarting bit') &&
              (await peer.established()),
            30_000,
            200,
          );
          await waitFor(`${kind} to have ${KEEP} again`, () => peer.hasRoute(KEEP), 20_000, 200);
        }
      } finally {
        await cleanup(peers, margays);
      }
    });
  });

  it(`${kind} restarts: margay keeps its route stale (and in the kernel) until ${kind} is back`, async () => {
    await withTopology(1, async ({ margayNs, links: [l] }) => {
      const link = l!;
      const peers: RunningPeer[] = [];
      const margays: MargayProcess[] = [];
      try {
        const m = await startMargay(margayNs, margayYaml(link, [KEEP]));
        margays.push(m);
        const p1 = await startPeer(kind, spec(link));
        peers.push(p1);
        const theirs = ORIGIN_PREFIX[kind];
        await waitFor(
          `margay to learn ${kind}'s prefix`,
          async () => (await m.ctl.rib({ prefix: theirs })).matched > 0,
          30_000,
          200,
        );
        await waitFor(
          'route in the kernel',
          async () => (await kernelBgpRoutes(margayNs)).includes(theirs),
          10_000,
          200,
        );

        for (const pid of await p1.handle.pids()) process.kill(pid, 'SIGKILL');
        await waitFor(
          'margay to see the session down',
          async () => (await m.peer(link.peerIp))?.state !== 'Established',
          20_000,
          100,
        );
        await sleep(1000);
        const stale = (await m.ctl.rib({ prefix: theirs })).routes[0];
        expect(stale).toMatchObject({ prefix: theirs, stale: true });
        expect(await kernelBgpRoutes(margayNs)).toContain(theirs);

        const p2 = await startPeer(kind, spec(link));
        peers.push(p2);
        await waitFor('session back', async () => (await m.peer(link.peerIp))?.state === 'Established', 30_000, 200);
        await waitFor(
          `route fresh again after ${kind}'s End-of-RIB`,
          async () => {
            const r = (await m.ctl.rib({ prefix: theirs })).routes[0];
            return r !== undefined && r.stale !== true;
          },
          30_000,
          200,
        );
        // The FIB follows the RIB through its own loop: without the F bit in the restarted peer's OPEN
        // (RFC 4724 4.2) the stale route is removed at once and the fresh one written a moment later.
        await waitFor(
          'route in the kernel again',
          async () => (await kernelBgpRoutes(margayNs)).includes(theirs),
          10_000,
          100,
        );
      } finally {
        await cleanup(peers, margays);
      }
    });
  });
});
