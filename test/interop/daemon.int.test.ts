import { describe, expect, it } from 'vitest';
import { runMargayctl } from '../../src/cli/margayctl.js';
import { sleep, waitFor, type BirdHandle } from '../helpers/bgp-daemons.js';
import { startMargay, type MargayProcess } from './margay-process.js';
import { startPeer, type RunningPeer } from './peers.js';
import { cleanup, withTopology, type Link } from './scenario.js';

// margay-bgpd as a daemon: SIGHUP reload resets only the peer whose session settings changed (Cease 6)
// and leaves the other session alone while new originated routes flow to it; an invalid file is
// rejected and the running config kept; SIGTERM sends Cease 2 with the RFC 9003 message and exits 0.

function yaml(b: Link, f: Link, opts: { birdHold: number; originate: readonly string[]; junk?: boolean }) {
  return (socket: string) => `
routerId: 10.10.1.1
asn: 65001
listen: { addresses: ["0.0.0.0"], port: 179 }
control: { socket: ${socket} }
ebgpRequiresPolicy: false
originate: [${opts.originate.map((p) => `{ prefix: ${p} }`).join(', ')}]
peers:
  - { address: ${b.peerIp}, asn: 65002, holdTime: ${opts.birdHold}, connectRetry: 1 }
  - { address: ${f.peerIp}, asn: 65003, holdTime: 9, connectRetry: 1${opts.junk ? ', bogusKey: 1' : ''} }
`;
}

describe('margay-bgpd daemon', () => {
  it('SIGHUP reload touches only changed sessions; a bad file is rejected; SIGTERM sends Cease 2 with a message', async () => {
    await withTopology(2, async ({ margayNs, links }) => {
      const [lb, lf] = [links[0]!, links[1]!];
      const peers: RunningPeer[] = [];
      const margays: MargayProcess[] = [];
      try {
        const m = await startMargay(margayNs, yaml(lb, lf, { birdHold: 9, originate: ['10.244.1.0/26'] }));
        margays.push(m);
        const bird = await startPeer('bird', {
          ns: lb.ns,
          ip: lb.peerIp,
          asn: 65002,
          routerId: lb.peerIp,
          margayIp: lb.margayIp,
          margayAsn: 65001,
          holdTime: 9,
        });
        peers.push(bird);
        const frr = await startPeer('frr', {
          ns: lf.ns,
          ip: lf.peerIp,
          asn: 65003,
          routerId: lf.peerIp,
          margayIp: lf.margayIp,
          margayAsn: 65001,
          holdTime: 9,
        });
        peers.push(frr);
        await waitFor(
          'both sessions up',
          async () => (await bird.established()) && (await frr.established()),
          30_000,
          200,
        );
        await waitFor('FRR has the first block', () => frr.hasRoute('10.244.1.0/26'), 20_000, 200);

        // Reload: BIRD's hold time changes (session reset), a second block is originated.
        await m.reload(yaml(lb, lf, { birdHold: 6, originate: ['10.244.1.0/26', '10.244.2.0/26'] })(m.ctl.socketPath));
        await waitFor('FRR learns the new block without a reset', () => frr.hasRoute('10.244.2.0/26'), 20_000, 200);
        await waitFor(
          'BIRD session back with the new hold time',
          async () => (await m.peer(lb.peerIp))?.holdTime === 6,
          30_000,
          200,
        );
        const f = (await m.peer(lf.peerIp))!;
        expect(f).toMatchObject({ state: 'Established', flaps: 0 });
        // The BIRD peer got a new session (Cease 6 to the old one), so its counters start again.
        // BIRD writes its log line on its own schedule: wait for it rather than read it once.
        await waitFor(
          'BIRD logs the Cease 6 it received',
          async () => /Received: Other configuration change/i.test(await bird.handle.log()),
          10_000,
          200,
        ).catch(async (e) => {
          console.log(`BIRD's log:\n${await bird.handle.log()}\nmargay-bgpd's log:\n${m.log()}`);
          throw e;
        });

        // An invalid file: rejected, running config kept, nothing reset.
        await m.reload(yaml(lb, lf, { birdHold: 3, originate: [], junk: true })(m.ctl.socketPath));
        await sleep(1000);
        expect(m.log()).toMatch(/reload rejected/);
        expect(m.log()).toContain('peers[1]: Unrecognized key: \\"bogusKey\\"');
        const out: string[] = [];
        expect(
          await runMargayctl(['bgp', 'reload', '--socket', m.ctl.socketPath], {
            out: (t) => out.push(t),
            err: (t) => out.push(t),
          }),
        ).toBe(1);
        expect(out.join('\n')).toContain('bogusKey');
        expect((await m.peer(lb.peerIp))!).toMatchObject({ holdTime: 6, flaps: 0 });
        expect((await m.peer(lf.peerIp))!).toMatchObject({ state: 'Established', flaps: 0 });
        expect(await frr.hasRoute('10.244.2.0/26')).toBe(true);

        // Clean stop: Cease 2 with the shutdown message, exit 0.
        expect(await m.stop()).toBe(0);
        await waitFor(
          'BIRD to record the shutdown',
          async () =>
            /Administrative shutdown/i.test(
              await (bird.handle as BirdHandle).birdc('show', 'protocols', 'all', 'margay'),
            ),
          10_000,
          100,
        );
        const info = await (bird.handle as BirdHandle).birdc('show', 'protocols', 'all', 'margay');
        expect(info).toContain('margay-bgpd shutting down');
      } finally {
        await cleanup(peers, margays);
      }
    });
  });
});
