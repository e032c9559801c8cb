/** `margayctl bgp …`: the BGP command group (loaded lazily by src/cli/margayctl.ts). */
export { BGP_GROUP } from './bgp-commands.js';
export { formatDuration, formatPeers, formatRib, renderTable } from './bgp-format.js';
