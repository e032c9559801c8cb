import { describe, expect, it } from 'vitest';
import type { PeerStatusView, RibQueryResult } from '../speaker/index.js';
import { formatDuration, formatPeers, formatRib } from './bgp-format.js';

describe('bgp formatting', () => {
  it('formatDuration', () => {
    expect(formatDuration(0)).toBe('00:00:00');
    expect(formatDuration(3723)).toBe('01:02:03');
    expect(formatDuration(90_061)).toBe('1d01:01:01');
  });
  it('formatPeers renders a table like birdc show protocols', () => {
    const p: PeerStatusView = {
      address: '10.0.0.2',
      port: 179,
      asn: 65002,
      dynamic: false,
      type: 'ebgp',
      state: 'Established',
      uptimeSeconds: 61,
      families: ['ipv4'],
      prefixesReceived: 10,
      prefixesAccepted: 9,
      prefixesAdvertised: 3,
      routeReflectorClient: false,
      flaps: 0,
    };
    const text = formatPeers([
      p,
      { ...p, address: '10.0.0.3', state: 'Active', lastError: 'Hold timer expired (4/0)', dynamic: true },
    ]);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^PEER\s+ASN\s+TYPE\s+STATE\s+SINCE\s+RECEIVED\s+ACCEPTED\s+ADVERTISED\s+LAST ERROR$/);
    expect(lines[1]).toMatch(/^10\.0\.0\.2\s+65002\s+ebgp\s+Established\s+00:01:01\s+10\s+9\s+3\s+-$/);
    expect(lines[2]).toContain('Hold timer expired (4/0)');
    expect(text).toContain('1 of 2 sessions Established (* = dynamic neighbour)');
  });
  it('formatRib marks best paths and shows counts', () => {
    const r: RibQueryResult = {
      matched: 2,
      prefixes: { ipv4: 1, ipv6: 0 },
      paths: { ipv4: 2, ipv6: 0 },
      routes: [
        {
          prefix: '10.1.0.0/24',
          from: '10.0.0.2',
          nextHop: '10.0.0.2',
          asPath: '65002',
          origin: 'igp',
          communities: ['65000:1'],
          largeCommunities: [],
          best: true,
          reason: 'as-path-length',
        },
      ],
    };
    const t = formatRib(r, false);
    expect(t).toContain('*> 10.1.0.0/24');
    expect(t).toContain('65002 i');
    expect(t).toContain('[as-path-length]');
    expect(t).toContain('1 more not shown');
    expect(formatRib(r, true)).toBe('IPv4: 1 prefixes, 2 paths; IPv6: 0 prefixes, 0 paths; 2 paths match');
  });
});
