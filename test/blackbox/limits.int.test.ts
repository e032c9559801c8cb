/**
 * Max-prefix (RFC 4486 Cease 1) toward a listen-range neighbour, black box: the NOTIFICATION carries
 * AFI, SAFI and the limit; the peer's routes are withdrawn downstream; the peer can come back later.
 * (That it can come back *before* restartSeconds is a known gap: see docs/bgp-acceptance.md.)
 */
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/bgp-daemons.js';
import { ipHex, nlri, update, withRig } from './rig.js';

const good = (ip: string): string => '40010100' + '4002060201 0000fdea' + `400304${ipHex(ip)}`;

describe('margay-bgpd max-prefix on a dynamic neighbour', () => {
  it('sends Cease 1 with AFI/SAFI/limit, withdraws downstream, and lets the peer back later', { timeout: 60_000 }, async () => {
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
        // After restartSeconds the peer is welcome again.
        const later = await waitFor('reconnected after restartSeconds', () => rig.rawPeer(10).catch(() => undefined), 15_000, 300);
        later.close();
      },
      { rangeOptions: 'maxPrefix: { limit: 2, action: restart, restartSeconds: 5 }' },
    );
  });
});
