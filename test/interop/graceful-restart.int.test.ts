import { describe, expect, it } from 'vitest';
import { sleep, waitFor, type BirdHandle } from '../helpers/bgp-daemons.js';
import { startMargay, type MargayProcess } from './margay-process.js';
import { kernelBgpRoutes, ORIGIN_PREFIX, startPeer, type RunningPeer } from './peers.js';
import { cleanup, withTopology, type Link } from './scenario.js';

// RFC 4724 graceful restart with BIRD 2 in both roles.
//  1. margay-bgpd restarts (SIGKILL: the session just ends): BIRD keeps margay's routes while it is
//     gone; after the restart and margay's End-of-RIB, BIRD sweeps the route margay no longer announces.
//  2. BIRD restarts (SIGKILL): margay keeps BIRD's route (stale, still in the kernel) until BIRD is back
//     and has sent End-of-RIB, then the route is fresh again.

const KEEP = '10.244.1.0/26';
const DROP = '10.244.2.0/26';

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

async function birdHas(bird: RunningPeer, prefix: string): Promise<boolean> {
  return bird.hasRoute(prefix);
}

describe('graceful restart with BIRD 2', () => {
  it('margay-bgpd restarts: BIRD keeps its routes, then sweeps the one not re-announced after End-of-RIB', async () => {
    await withTopology(1, async ({ margayNs, links: [l] }) => {
      const link = l!;
      const peers: RunningPeer[] = [];
      const margays: MargayProcess[] = [];
      try {
        const m1 = await startMargay(margayNs, margayYaml(link, [KEEP, DROP]));
        margays.push(m1);
        const bird = await startPeer('bird', { ns: link.ns, ip: link.peerIp, asn: 65002, routerId: link.peerIp, margayIp: link.margayIp, margayAsn: 65001, holdTime: 9, gracefulRestart: true });
        peers.push(bird);
        await waitFor('BIRD to learn both prefixes', async () => (await birdHas(bird, KEEP)) && (await birdHas(bird, DROP)), 30_000, 200);

        await m1.kill();
        await waitFor('BIRD to notice the session is gone', async () => !(await bird.established()), 20_000, 100);
        await sleep(1000);
        expect(await birdHas(bird, KEEP)).toBe(true);
        expect(await birdHas(bird, DROP)).toBe(true);
        const info = await (bird.handle as BirdHandle).birdc('show', 'protocols', 'all', 'margay');
        expect(info).toContain('Neighbor graceful restart active');

        const m2 = await startMargay(margayNs, margayYaml(link, [KEEP]), { workdir: m1.workdir });
        margays.push(m2);
        await waitFor('session back', () => bird.established(), 30_000, 200);
        await waitFor(`BIRD to sweep ${DROP} after margay's End-of-RIB`, async () => !(await birdHas(bird, DROP)), 20_000, 200);
        expect(await birdHas(bird, KEEP)).toBe(true);
      } finally {
        await cleanup(peers, margays);
      }
    });
  });

  it('BIRD restarts: margay keeps its route stale (and in the kernel) until BIRD is back', async () => {
    await withTopology(1, async ({ margayNs, links: [l] }) => {
      const link = l!;
      const peers: RunningPeer[] = [];
      const margays: MargayProcess[] = [];
      try {
        const m = await startMargay(margayNs, margayYaml(link, [KEEP]));
        margays.push(m);
        const spec = { ns: link.ns, ip: link.peerIp, asn: 65002, routerId: link.peerIp, margayIp: link.margayIp, margayAsn: 65001, holdTime: 9, gracefulRestart: true };
        const bird1 = await startPeer('bird', spec);
        peers.push(bird1);
        const theirs = ORIGIN_PREFIX.bird;
        await waitFor('margay to learn BIRD\'s prefix', async () => (await m.ctl.rib({ prefix: theirs })).matched > 0, 30_000, 200);
        await waitFor('route in the kernel', async () => (await kernelBgpRoutes(margayNs)).includes(theirs), 10_000, 200);

        for (const pid of await bird1.handle.pids()) process.kill(pid, 'SIGKILL');
        await waitFor('margay to see the session down', async () => (await m.peer(link.peerIp))?.state !== 'Established', 20_000, 100);
        await sleep(1000);
        const stale = (await m.ctl.rib({ prefix: theirs })).routes[0];
        expect(stale).toMatchObject({ prefix: theirs, stale: true });
        expect(await kernelBgpRoutes(margayNs)).toContain(theirs);

        const bird2 = await startPeer('bird', spec);
        peers.push(bird2);
        await waitFor('session back', async () => (await m.peer(link.peerIp))?.state === 'Established', 30_000, 200);
        await waitFor('route fresh again after BIRD\'s End-of-RIB', async () => {
          const r = (await m.ctl.rib({ prefix: theirs })).routes[0];
          return r !== undefined && r.stale !== true;
        }, 20_000, 200);
        expect(await kernelBgpRoutes(margayNs)).toContain(theirs);
      } finally {
        await cleanup(peers, margays);
      }
    });
  });
});
