import { describe, expect, it } from 'vitest';
import type { PeerStatusView } from '../../bgp/index.js';
import { formatNodeStatus } from './node.js';

function peer(address: string, state: string, description: string, uptimeSeconds: number): PeerStatusView {
  return {
    address,
    port: 179,
    asn: 64512,
    description,
    dynamic: false,
    type: 'ibgp',
    state,
    uptimeSeconds,
    families: ['ipv4'],
    prefixesReceived: 1,
    prefixesAccepted: 1,
    prefixesAdvertised: 1,
    routeReflectorClient: false,
    flaps: 0,
  };
}

describe('formatNodeStatus', () => {
  it('prints the peers per family like calicoctl node status', () => {
    const text = formatNodeStatus([
      peer('10.0.0.2', 'Established', 'mesh node-b', 3725),
      peer('10.0.0.254', 'Active', 'BGPPeer tor', 5),
    ]);
    expect(text).toBe(
      [
        'Margay process is running.',
        '',
        'IPv4 BGP status',
        '+--------------+-------------------+-------+----------+-------------+',
        '| PEER ADDRESS | PEER TYPE         | STATE | SINCE    | INFO        |',
        '+--------------+-------------------+-------+----------+-------------+',
        '| 10.0.0.2     | node-to-node mesh | up    | 01:02:05 | Established |',
        '| 10.0.0.254   | BGPPeer tor       | start | 00:00:05 | Active      |',
        '+--------------+-------------------+-------+----------+-------------+',
        '',
        'IPv6 BGP status',
        'No IPv6 peers found.',
        '',
      ].join('\n'),
    );
  });
});
