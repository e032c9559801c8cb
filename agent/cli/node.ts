/**
 * `margayctl node status`: this node's BGP sessions as `calicoctl node status` shows them, read
 * from margay-node's status socket (`<run dir>/bgp.sock`).
 */
import { parseArgs } from 'node:util';
import { ControlClient } from '../../bgp/index.js';
import type { PeerStatusView } from '../../bgp/index.js';
import type { CommandGroup } from '../../src/cli/index.js';
import { UsageError } from '../../src/cli/index.js';

export const DEFAULT_NODE_SOCKET = '/run/margay/bgp.sock';

function duration(s: number): string {
  const t = Math.max(0, Math.floor(s));
  const d = Math.floor(t / 86_400);
  const hms = [Math.floor((t % 86_400) / 3600), Math.floor((t % 3600) / 60), t % 60]
    .map((n) => String(n).padStart(2, '0'))
    .join(':');
  return d > 0 ? `${d}d${hms}` : hms;
}

function peerType(p: PeerStatusView): string {
  const d = p.description ?? '';
  if (d.startsWith('mesh ')) return 'node-to-node mesh';
  if (d.startsWith('BGPPeer ')) return `BGPPeer ${d.slice('BGPPeer '.length)}`;
  return p.dynamic ? 'dynamic' : d || 'configured';
}

function table(rows: string[][]): string {
  const head = ['PEER ADDRESS', 'PEER TYPE', 'STATE', 'SINCE', 'INFO'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const fmt = (r: string[]): string => `|${r.map((c, i) => ` ${c.padEnd(widths[i]!)} `).join('|')}|`;
  return [line, fmt(head), line, ...rows.map(fmt), line].join('\n');
}

/** The calicoctl-style text for a list of peers. */
export function formatNodeStatus(peers: readonly PeerStatusView[]): string {
  const out = ['Margay process is running.', ''];
  for (const fam of ['IPv4', 'IPv6'] as const) {
    const list = peers.filter((p) => (fam === 'IPv6') === p.address.includes(':'));
    out.push(`${fam} BGP status`);
    if (list.length === 0) out.push(`No ${fam} peers found.`);
    else {
      out.push(
        table(
          list.map((p) => [
            p.address,
            peerType(p),
            p.state === 'Established' ? 'up' : 'start',
            duration(p.uptimeSeconds),
            p.state === 'Established' ? 'Established' : `${p.state}${p.lastError ? ` ${p.lastError}` : ''}`,
          ]),
        ),
      );
    }
    out.push('');
  }
  return out.join('\n');
}

export const NODE_GROUP: CommandGroup = {
  summary: "this node's agent (margay-node): BGP session status",
  commands: {
    status: {
      summary: "show the node's BGP peers and their states, like calicoctl node status",
      usage: 'margayctl node status [--socket PATH (default /run/margay/bgp.sock)] [-o json]',
      async run(args, io) {
        const { values } = parseArgs({
          args,
          options: { socket: { type: 'string', default: DEFAULT_NODE_SOCKET }, output: { type: 'string', short: 'o' } },
          strict: true,
        });
        if (values.output !== undefined && values.output !== 'json')
          throw new UsageError(`unknown output format "${values.output}" (use -o json)`);
        let peers: readonly PeerStatusView[];
        try {
          peers = await new ControlClient(values.socket).peers();
        } catch (err) {
          io.err(`Margay process is not running (${(err as Error).message})`);
          return 1;
        }
        io.out(values.output === 'json' ? JSON.stringify(peers, null, 2) : formatNodeStatus(peers));
        return 0;
      },
    },
  },
};
