import { describe, expect, it } from 'vitest';
import { sleep, startBird, waitFor, type BirdHandle } from '../helpers/bgp-daemons.js';
import { startMargay, type MargayProcess } from './margay-process.js';
import type { RunningPeer } from './peers.js';
import { cleanup, withTopology } from './scenario.js';

// The margay-bgpd config path for TCP-MD5 (the socket options themselves are B2's and tested there):
// `password` in the YAML reaches both the outgoing socket and the listener, so BIRD with the same key
// peers, with a different key never does; the password never appears in margay's logs.

function running(h: BirdHandle): RunningPeer {
  return { kind: 'bird', handle: h, established: async () => false, hasRoute: async () => false, stop: () => h.stop() };
}

describe('TCP-MD5 through margay-bgpd config', () => {
  it.each([
    ['the right key', 'k3y-Right', true],
    ['a wrong key', 'k3y-Wrong', false],
  ] as const)('BIRD with %s', async (_label, birdKey, shouldPeer) => {
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
peers:
  - { address: ${link.peerIp}, asn: 65002, connectRetry: 1, password: k3y-Right }
`,
        );
        margays.push(m);
        const b = await startBird(
          link.ns,
          `router id ${link.peerIp};
protocol device {}
protocol bgp margay { local ${link.peerIp} as 65002; neighbor ${link.margayIp} as 65001; password "${birdKey}"; connect retry time 1;
  ipv4 { import none; export none; }; }`,
        );
        peers.push(running(b));
        const up = async (): Promise<boolean> => (await m.peer(link.peerIp))?.state === 'Established';
        if (shouldPeer) {
          await waitFor('Established with the right key', up, 30_000, 200);
        } else {
          for (let i = 0; i < 16; i++) {
            expect(await up()).toBe(false);
            await sleep(500);
          }
          expect((await b.protocols()).get('margay')?.info).not.toContain('Established');
        }
        expect(m.log()).not.toContain('k3y-Right');
      } finally {
        await cleanup(peers, margays);
      }
    });
  });
});
