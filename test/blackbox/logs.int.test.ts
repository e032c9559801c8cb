/**
 * margay-bgpd's log lines, black box (issue 8 §5): every line is one JSON object without repeated keys
 * (some log pipelines reject `"peer":…,"peer":…`); an UPDATE with an RFC 7606 problem and a session
 * going down are each logged once, not twice; a NEXT_HOP that is margay-bgpd's own address is logged
 * (RFC 4271 §6.3 SHOULD), once for a burst of such UPDATEs (rate-limited).
 */
import { describe, expect, it } from 'vitest';
import { topLevelKeys } from '../../bgp/session/log-bindings.js';
import { waitFor } from '../helpers/bgp-daemons.js';
import { MARGAY_RAW_IP, ipHex, nlri, update, withRig } from './rig.js';

const ORIGIN = '40010100';
const AS_PATH = '4002060201 0000fdea';
const nh = (ip: string): string => `400304${ipHex(ip)}`;

interface Line {
  readonly msg?: string;
  readonly peer?: string;
  readonly [k: string]: unknown;
}

describe('margay-bgpd logs', () => {
  it('one line per RFC 7606 problem, per session down and per own-NEXT_HOP burst; no repeated keys', async () => {
    await withRig(async (rig) => {
      const peerIp = '10.30.0.7';
      const raw = await rig.rawPeer(7);
      // RFC 7606 §7.1: ORIGIN value 3 → treat-as-withdraw, logged.
      raw.send(update('40010103' + AS_PATH + nh(peerIp), nlri('10.77.1.0/24')));
      // RFC 4271 §6.3: our own address as NEXT_HOP, five times in a row → one line.
      for (let i = 0; i < 5; i++) raw.send(update(ORIGIN + AS_PATH + nh(MARGAY_RAW_IP), nlri(`10.77.${10 + i}.0/24`)));
      // A sentinel: once it is in the RIB, everything before it was processed.
      raw.send(update(ORIGIN + AS_PATH + nh(peerIp), nlri('10.77.99.0/24')));
      await waitFor(
        'sentinel in the RIB',
        async () => (await rig.ribFrom('10.77.99.0/24', peerIp)).length === 1,
        10_000,
        50,
      );
      expect(await rig.ribFrom('10.77.10.0/24', peerIp)).toEqual([]);
      raw.close();
      const parse = (): Line[] =>
        rig.margay
          .log()
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Line);
      await waitFor(
        'session down logged',
        async () => parse().some((l) => l.msg === 'session down' && l.peer === peerIp),
        10_000,
        50,
      );
      await new Promise((r) => setTimeout(r, 300)); // a second line, if any, would be written by now

      const text = rig.margay
        .log()
        .split('\n')
        .filter((l) => l.startsWith('{'));
      expect(text.length).toBeGreaterThan(10);
      for (const l of text) {
        const keys = topLevelKeys(l);
        expect(keys, l).toEqual([...new Set(keys)]);
      }
      const lines = parse();
      const of = (msg: RegExp): Line[] => lines.filter((l) => l.peer === peerIp && msg.test(l.msg ?? ''));
      expect(of(/RFC 7606/)).toHaveLength(1);
      expect(of(/^session down$/)).toHaveLength(1);
      expect(of(/^session established$/)).toHaveLength(1);
      const own = of(/own address as NEXT_HOP/);
      expect(own).toHaveLength(1);
      expect(own[0]).toMatchObject({ nextHop: MARGAY_RAW_IP, updates: 1, level: 40 });
    });
  }, 90_000);
});
