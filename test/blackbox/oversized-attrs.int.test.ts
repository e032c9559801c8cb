/**
 * One valid 4092-byte UPDATE whose path attributes (with a 4040-byte unknown optional transitive
 * attribute) no longer fit a 4096-byte UPDATE once margay prepends its AS for BIRD (no extended
 * messages). This used to hang margay-bgpd at 100% CPU (bgp/rib/update-writer.ts looped without
 * progress). Expected and now checked: the route is not advertised to that peer (RFC 4271 §9.2: a route
 * whose attributes cannot be sent is not sent), the daemon keeps running and answering.
 * (Written by J1 as a failing black-box test; moved here by F1 with the fix, see bgp/rib/rib-oversize.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { sleep } from '../helpers/bgp-daemons.js';
import { BIRD_IP, ipHex, nlri, update, withRig } from './rig.js';

const head = (ip: string): string => '40010100' + '40020602010000fdea' + `400304${ipHex(ip)}`;

describe('margay-bgpd with attributes too big to re-advertise', () => {
  it('stays responsive and keeps its other sessions', { timeout: 60_000 }, async () => {
    await withRig(async (rig) => {
      const p = await rig.rawPeer(65);
      p.send(update(head('10.30.0.65') + 'd0fa0fc8' + '00'.repeat(4040), nlri('10.141.1.0/24')));
      await sleep(1000);
      const answer = await Promise.race([
        rig.margay.ctl.peers().then(() => 'answered'),
        sleep(3000).then(() => 'hung'),
      ]);
      expect(answer).toBe('answered');
      expect((await rig.margay.peer(BIRD_IP))?.state).toBe('Established');
      expect(await rig.birdRoute('10.141.1.0/24')).toBe('');
      p.close();
    });
  });
});
