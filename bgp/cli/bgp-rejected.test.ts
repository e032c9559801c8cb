/** `margayctl bgp rib --rejected`: paths kept but not accepted show why. */
import { describe, expect, it } from 'vitest';
import type { RibQueryResult } from '../../bgp/speaker/types.js';
import { formatRib } from './bgp-format.js';

describe('formatRib with rejected paths', () => {
  it('marks a not-accepted path with its rejection reason', () => {
    const r: RibQueryResult = {
      matched: 1,
      prefixes: { ipv4: 0, ipv6: 0 },
      paths: { ipv4: 1, ipv6: 0 },
      routes: [
        {
          prefix: '10.1.0.0/24',
          from: '10.0.0.2',
          nextHop: '10.99.0.1',
          asPath: '65002',
          origin: 'igp',
          communities: [],
          largeCommunities: [],
          best: false,
          accepted: false,
          rejection: 'next-hop-unreachable',
        },
      ],
    };
    expect(formatRib(r, false)).toContain('(rejected: next-hop-unreachable)');
  });
});
