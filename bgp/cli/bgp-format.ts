/** Pure text rendering for `margayctl bgp` (tables an operator reads like `birdc show protocols`). */
import type { PeerStatusView, RibQueryResult } from '../speaker/index.js';

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const hms = `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`;
  return d > 0 ? `${d}d${hms}` : hms;
}

export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function formatPeers(peers: readonly PeerStatusView[]): string {
  if (peers.length === 0) return 'No BGP peers configured.';
  const rows = peers.map((p) => [
    p.address + (p.dynamic ? '*' : ''),
    String(p.asn),
    p.type + (p.routeReflectorClient ? '/rr-client' : ''),
    p.state,
    formatDuration(p.uptimeSeconds),
    String(p.prefixesReceived),
    String(p.prefixesAccepted),
    String(p.prefixesAdvertised),
    p.lastError ?? '-',
  ]);
  const table = renderTable(
    ['PEER', 'ASN', 'TYPE', 'STATE', 'SINCE', 'RECEIVED', 'ACCEPTED', 'ADVERTISED', 'LAST ERROR'],
    rows,
  );
  const up = peers.filter((p) => p.state === 'Established').length;
  return `${table}\n\n${up} of ${peers.length} sessions Established${peers.some((p) => p.dynamic) ? ' (* = dynamic neighbour)' : ''}`;
}

export function formatRib(r: RibQueryResult, countOnly: boolean): string {
  const counts =
    `IPv4: ${r.prefixes.ipv4} prefixes, ${r.paths.ipv4} paths; IPv6: ${r.prefixes.ipv6} prefixes, ${r.paths.ipv6} paths; ` +
    `${r.matched} paths match`;
  if (countOnly) return counts;
  if (r.routes.length === 0) return `No matching routes.\n${counts}`;
  const rows = r.routes.map((x) => [
    (x.best ? '*> ' : '   ') + x.prefix + (x.pathId !== undefined ? ` #${x.pathId}` : ''),
    x.nextHop,
    x.from,
    x.localPref === undefined ? '' : String(x.localPref),
    x.med === undefined ? '' : String(x.med),
    `${x.asPath}${x.asPath ? ' ' : ''}${x.origin === 'igp' ? 'i' : x.origin === 'egp' ? 'e' : '?'}`,
    [...x.communities, ...x.largeCommunities].join(' ') +
      (x.stale ? ' (stale)' : '') +
      (x.accepted === false ? ` (rejected: ${x.rejection ?? 'unknown'})` : '') +
      (x.best && x.reason ? ` [${x.reason}]` : ''),
  ]);
  const more = r.matched > r.routes.length ? `\n(${r.matched - r.routes.length} more not shown; use --limit)` : '';
  return `${renderTable(['   PREFIX', 'NEXT HOP', 'FROM', 'LPREF', 'MED', 'PATH', 'COMMUNITIES'], rows)}${more}\n${counts}`;
}
