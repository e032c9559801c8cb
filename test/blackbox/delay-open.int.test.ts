/**
 * DelayOpen (RFC 4271 §8.1.1, §8.2.2) on a listen range, black box: margay-bgpd sends its OPEN only
 * when the DelayOpen timer expires, or at once (OPEN + KEEPALIVE) when the peer's OPEN comes first.
 */
import { describe, expect, it } from 'vitest';
import { run } from '../helpers/netns.js';
import { RawBgpPeer } from '../helpers/raw-bgp-peer.js';
import { MARGAY_RAW_IP, withRig } from './rig.js';

describe('margay-bgpd DelayOpen', () => {
  it('waits delayOpen seconds for a silent peer, answers a peer that opens first at once', {
    timeout: 30_000,
  }, async () => {
    await withRig(
      async (rig) => {
        await run('ip', ['addr', 'add', '10.30.0.10/24', 'dev', rig.hostIf]);
        await run('ip', ['addr', 'add', '10.30.0.11/24', 'dev', rig.hostIf]);
        const silent = await RawBgpPeer.connect(MARGAY_RAW_IP, 179, '10.30.0.10');
        const t0 = Date.now();
        try {
          await silent.waitForType(1, 6000);
          const waited = Date.now() - t0;
          expect(waited, 'OPEN held back for the DelayOpen time').toBeGreaterThan(1500);
          expect(waited).toBeLessThan(4500);
        } finally {
          silent.close();
        }
        const eager = await RawBgpPeer.connect(MARGAY_RAW_IP, 179, '10.30.0.11');
        try {
          const t1 = Date.now();
          eager.sendOpen({ asn: 65002, bgpId: '10.30.0.11' });
          await eager.waitForType(1, 3000);
          await eager.waitForType(4, 3000);
          expect(Date.now() - t1, 'OPEN + KEEPALIVE right after the peer’s OPEN').toBeLessThan(1000);
          const types = eager.received.map((m) => m.type);
          expect(types.indexOf(1)).toBeLessThan(types.indexOf(4));
        } finally {
          eager.close();
        }
      },
      { rangeOptions: 'delayOpen: 2' },
    );
  });
});
