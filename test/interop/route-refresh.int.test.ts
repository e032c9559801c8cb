import { describe, expect, it } from 'vitest';
import { runMargayctl } from '../../src/cli/margayctl.js';
import { waitFor, type BirdHandle } from '../helpers/bgp-daemons.js';
import { startMargay, type MargayProcess } from './margay-process.js';
import { startPeer, type RunningPeer } from './peers.js';
import { cleanup, withTopology } from './scenario.js';

// ROUTE-REFRESH (RFC 2918 / RFC 7313) both ways with BIRD 2: `birdc reload in` makes BIRD ask margay,
// which re-sends its Adj-RIB-Out (BIRD's import counter grows); `margayctl bgp refresh` makes margay ask
// BIRD, which re-sends its routes (BIRD's export counter grows).

function stat(info: string, row: 'Import updates' | 'Export updates', col: number): number {
  const line = info.split('\n').find((l) => l.trim().startsWith(`${row}:`));
  if (!line) throw new Error(`no "${row}" in:\n${info}`);
  const nums = line.split(':')[1]!.trim().split(/\s+/);
  return Number(nums[col]);
}

describe('route refresh with BIRD 2', () => {
  it('answers a refresh request and sends one', async () => {
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
originate: [{ prefix: 10.244.1.0/26 }, { prefix: 10.244.2.0/26 }]
peers:
  - { address: ${link.peerIp}, asn: 65002, connectRetry: 1 }
`,
        );
        margays.push(m);
        const peer = await startPeer('bird', {
          ns: link.ns,
          ip: link.peerIp,
          asn: 65002,
          routerId: link.peerIp,
          margayIp: link.margayIp,
          margayAsn: 65001,
        });
        peers.push(peer);
        const bird = peer.handle as BirdHandle;
        const info = (): Promise<string> => bird.birdc('show', 'protocols', 'all', 'margay');
        await waitFor(
          'BIRD has both blocks',
          async () => (await peer.hasRoute('10.244.1.0/26')) && (await peer.hasRoute('10.244.2.0/26')),
          30_000,
          200,
        );
        await waitFor(
          "margay has BIRD's route",
          async () => (await m.ctl.rib({ prefix: '192.0.2.0/24' })).matched > 0,
          20_000,
          200,
        );

        const in0 = stat(await info(), 'Import updates', 0);
        await bird.birdc('reload', 'in', 'margay');
        await waitFor(
          'margay to re-send its two routes',
          async () => stat(await info(), 'Import updates', 0) >= in0 + 2,
          10_000,
          100,
        );

        const out0 = stat(await info(), 'Export updates', 4);
        const out: string[] = [];
        const code = await runMargayctl(['bgp', 'refresh', link.peerIp, '--socket', m.ctl.socketPath], {
          out: (t) => out.push(t),
          err: (t) => out.push(t),
        });
        expect(out.join('\n')).toContain(`route refresh sent to ${link.peerIp}`);
        expect(code).toBe(0);
        await waitFor(
          'BIRD to re-send its route',
          async () => stat(await info(), 'Export updates', 4) >= out0 + 1,
          10_000,
          100,
        );
        expect((await m.peer(link.peerIp))!).toMatchObject({ state: 'Established', flaps: 0 });
      } finally {
        await cleanup(peers, margays);
      }
    });
  });
});
