/**
 * Max-prefix (RFC 4486 Cease 1) toward a listen-range neighbour, black box: the NOTIFICATION carries
 * AFI, SAFI and the limit; the peer's routes are withdrawn downstream; and the restart back-off holds
 * for the neighbour's address even though dynamic neighbours are forgotten when their session ends
 * (an operator expects `action: restart, restartSeconds: N` to keep a flapping peer out for N s).
 */
import { describe, expect, it } from 'vitest';
import { sleep, waitFor } from '../helpers/bgp-daemons.js';
import { RawBgpPeer } from '../helpers/raw-bgp-peer.js';
import { ipHex, MARGAY_RAW_IP, nlri, update, withRig } from './rig.js';

const good = (ip: string): string => '40010100' + '4002060201 0000fdea' + `400304${ipHex(ip)}`;

describe('margay-bgpd max-prefix on a dynamic neighbour', () => {
  it('sends Cease 1 with AFI/SAFI/limit, withdraws downstream, and keeps the peer out for restartSeconds', {
    timeout: 60_000,
  }, async () => {
    await withRig(
      async (rig) => {
        const ip = '10.30.0.10';
        const p = await rig.rawPeer(10);
        p.send(update(good(ip), nlri('10.180.1.0/24') + nlri('10.180.2.0/24')));
        await waitFor('first two at BIRD', async () => (await rig.birdRoute('10.180.2.0/24')) !== '', 5000, 50);
        p.send(update(good(ip), nlri('10.180.3.0/24')));
        const n = await p.notification();
        expect(n).toEqual({ code: 6, subcode: 1, data: '00010100000002' });
        await p.closed;
        await waitFor('withdrawn at BIRD', async () => (await rig.birdRoute('10.180.1.0/24')) === '', 5000, 50);
        // Within restartSeconds (5 s) a new connection must not get a session.
        await sleep(1500);
        const again = await RawBgpPeer.connect(MARGAY_RAW_IP, 179, ip);
        again.sendOpen({ asn: 65002, bgpId: ip });
        await again.waitFor((m) => m.type === 3, 5000).catch(() => undefined);
        expect(
          again.received.some((m) => m.type === 4),
          'session re-established inside the max-prefix back-off',
        ).toBe(false);
        again.close();
        // After it, the peer is welcome again.
        await sleep(4000);
        const later = await waitFor(
          'reconnected after restartSeconds',
          () => rig.rawPeer(10).catch(() => undefined),
          10_000,
          300,
        );
        later.close();
      },
      { rangeOptions: 'maxPrefix: { limit: 2, action: restart, restartSeconds: 5 }' },
    );
  });
});
