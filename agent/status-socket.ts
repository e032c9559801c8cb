/**
 * The agent's status socket (`<run dir>/bgp.sock`): the BGP control API of the embedded speaker,
 * read-only. `margayctl node status` and `margayctl bgp peers|rib --socket` read it. Announcing
 * and withdrawing are refused: the agent originates its IPAM blocks from the datastore itself.
 */
import type { ControlHandler, PeerStatusView, RibQuery, RibQueryResult } from '../bgp/index.js';
import { MargayError } from '../src/errors.js';

export class AgentControlError extends MargayError {
  readonly code = 'MGY_AGENT_CONTROL_READ_ONLY';
}

const EMPTY_RIB: RibQueryResult = {
  matched: 0,
  prefixes: { ipv4: 0, ipv6: 0 },
  paths: { ipv4: 0, ipv6: 0 },
  routes: [],
};

export function agentControlHandler(src: {
  peers(): PeerStatusView[];
  rib(q: RibQuery): RibQueryResult | undefined;
}): ControlHandler {
  const refuse = (): never => {
    throw new AgentControlError(
      'margay-node originates its IPAM blocks from the datastore; announce/withdraw only on margay-bgpd',
    );
  };
  return {
    peers: () => src.peers(),
    rib: (q) => src.rib(q) ?? EMPTY_RIB,
    announce: refuse,
    withdraw: refuse,
    reload: async () => ({ reloaded: false, error: 'margay-node follows the datastore; there is no file to reload' }),
    refresh: () => ({ sent: false }),
  };
}
