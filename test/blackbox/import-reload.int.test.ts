/**
 * Import policy changed by SIGHUP on a configured peer: routes the old policy rejected must appear
 * once the policy is gone, without resetting the session (the issue: reload "without dropping
 * unaffected sessions"; RFC 2918 route refresh or a kept Adj-RIB-In are both fine ways to get there),
 * and the received / accepted / advertised counts an operator reads in `margayctl bgp peers`.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/bgp-daemons.js';
import { ipHex, nlri, update, withRig } from './rig.js';

const good = (ip: string): string => '40010100' + '4002060201 0000fdea' + `400304${ipHex(ip)}`;

describe('margay-bgpd import policy reload', () => {
  it('a removed import policy lets the rejected routes in, without a session reset', { timeout: 60_000 }, async () => {
    await withRig(async (rig) => {
      const m = rig.margay;
      const base = await readFile(m.configFile, 'utf8');
      const ip = '10.30.0.70';
      const peerLine = (extra: string): string => `peers:\n  - { address: ${ip}, asn: 65002, passive: true${extra} }\n`;
      const policy =
        '\npolicies:\n  no-100:\n    defaultAction: accept\n    rules:\n      - { match: { prefixes: [{ prefix: 10.100.0.0/16, le: 32 }] }, action: reject }\n';
      await m.reload(base.replace('peers:\n', peerLine(', import: no-100')) + policy);
      await waitFor('peer configured', async () => (await m.peer(ip))?.dynamic === false, 10_000, 50);
      const p = await rig.rawPeer(70);
      try {
        p.send(update(good(ip), nlri('10.100.1.0/24') + nlri('10.244.5.0/24')));
        await waitFor('10.244.5.0/24 at BIRD', async () => (await rig.birdRoute('10.244.5.0/24')) !== '', 5000, 50);
        expect(await rig.birdRoute('10.100.1.0/24'), 'rejected by import policy').toBe('');
        // What `margayctl bgp peers` shows: 2 received, 1 accepted; BIRD was sent exactly what it imported.
        expect(await m.peer(ip)).toMatchObject({ prefixesReceived: 2, prefixesAccepted: 1 });
        await waitFor(
          'advertised count matches BIRD',
          async () => (await m.peer('10.31.0.2'))?.prefixesAdvertised === (await rig.bird.importedCount('margay')),
          5000,
          100,
        );
        const from = p.received.length;
        await m.reload(base.replace('peers:\n', peerLine('')) + policy);
        await waitFor(
          '10.100.1.0/24 at BIRD after the reload (answering a ROUTE-REFRESH if one comes)',
          async () => {
            if (p.received.slice(from).some((x) => x.type === 5))
              p.send(update(good(ip), nlri('10.100.1.0/24') + nlri('10.244.5.0/24')));
            return (await rig.birdRoute('10.100.1.0/24')) !== '';
          },
          10_000,
          200,
        );
        expect(p.received.filter((x) => x.type === 3)).toEqual([]);
        expect(await m.peer(ip)).toMatchObject({ flaps: 0, prefixesReceived: 2, prefixesAccepted: 2 });
        expect(p.isClosed).toBe(false);
      } finally {
        p.close();
      }
    });
  });
});
