import { describe, expect, it } from 'vitest';
import type { PeerStatusView, RibQueryResult } from '../../bgp/speaker/types.js';
import { formatDuration, formatPeers, formatRib } from './bgp-format.js';
import { UsageError, type CliIo, type CommandGroup } from './command.js';
import { GROUPS, runMargayctl } from './margayctl.js';

function io(): CliIo & { outs: string[]; errs: string[] } {
  const outs: string[] = [];
  const errs: string[] = [];
  return { outs, errs, out: (t) => outs.push(t), err: (t) => errs.push(t) };
}

const calls: string[][] = [];
const TEST_GROUPS: Record<string, CommandGroup> = {
  g: {
    summary: 'a group',
    commands: {
      ok: { summary: 's', usage: 'u', run: async (a) => (calls.push(a), 0) },
      bad: { summary: 's', usage: 'ok-usage', run: async () => { throw new UsageError('nope'); } },
    },
  },
};

describe('runMargayctl dispatcher', () => {
  it('dispatches to the group command with the remaining args', async () => {
    expect(await runMargayctl(['g', 'ok', '--x', '1'], io(), TEST_GROUPS)).toBe(0);
    expect(calls.at(-1)).toEqual(['--x', '1']);
  });
  it('unknown group/command exit 2 with help', async () => {
    const i = io();
    expect(await runMargayctl(['zz'], i, TEST_GROUPS)).toBe(2);
    expect(i.errs[0]).toContain('unknown group "zz"');
    expect(await runMargayctl(['g', 'zz'], i, TEST_GROUPS)).toBe(2);
    expect(await runMargayctl(['g', 'toString'], i, TEST_GROUPS)).toBe(2);
  });
  it('UsageError exits 2 with usage; --help exits 0', async () => {
    const i = io();
    expect(await runMargayctl(['g', 'bad'], i, TEST_GROUPS)).toBe(2);
    expect(i.errs.at(-1)).toContain('ok-usage');
    expect(await runMargayctl(['g', 'ok', '--help'], i, TEST_GROUPS)).toBe(0);
  });
  it('registers the bgp group with peers, rib, announce, withdraw, reload', () => {
    expect(Object.keys(GROUPS.bgp!.commands).sort()).toEqual(['announce', 'peers', 'refresh', 'reload', 'rib', 'withdraw']);
  });
  it('bgp commands report an unreachable socket as exit 1 with a hint', async () => {
    const i = io();
    expect(await runMargayctl(['bgp', 'peers', '--socket', '/nonexistent/dir/x.sock'], i)).toBe(1);
    expect(i.errs[0]).toContain('is margay-bgpd running?');
  });
  it('bad options are usage errors', async () => {
    const i = io();
    expect(await runMargayctl(['bgp', 'peers', '--bogus'], i)).toBe(2);
    expect(await runMargayctl(['bgp', 'announce', '--socket', '/x'], i)).toBe(2);
  });
});

describe('bgp formatting', () => {
  it('formatDuration', () => {
    expect(formatDuration(0)).toBe('00:00:00');
    expect(formatDuration(3723)).toBe('01:02:03');
    expect(formatDuration(90_061)).toBe('1d01:01:01');
  });
  it('formatPeers renders a table like birdc show protocols', () => {
    const p: PeerStatusView = {
      address: '10.0.0.2', port: 179, asn: 65002, dynamic: false, type: 'ebgp', state: 'Established', uptimeSeconds: 61,
      families: ['ipv4'], prefixesReceived: 10, prefixesAccepted: 9, prefixesAdvertised: 3, routeReflectorClient: false, flaps: 0,
    };
    const text = formatPeers([p, { ...p, address: '10.0.0.3', state: 'Active', lastError: 'Hold timer expired (4/0)', dynamic: true }]);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^PEER\s+ASN\s+TYPE\s+STATE\s+SINCE\s+RECEIVED\s+ACCEPTED\s+ADVERTISED\s+LAST ERROR$/);
    expect(lines[1]).toMatch(/^10\.0\.0\.2\s+65002\s+ebgp\s+Established\s+00:01:01\s+10\s+9\s+3\s+-$/);
    expect(lines[2]).toContain('Hold timer expired (4/0)');
    expect(text).toContain('1 of 2 sessions Established (* = dynamic neighbour)');
  });
  it('formatRib marks best paths and shows counts', () => {
    const r: RibQueryResult = {
      matched: 2, prefixes: { ipv4: 1, ipv6: 0 }, paths: { ipv4: 2, ipv6: 0 },
      routes: [
        { prefix: '10.1.0.0/24', from: '10.0.0.2', nextHop: '10.0.0.2', asPath: '65002', origin: 'igp', communities: ['65000:1'], largeCommunities: [], best: true, reason: 'as-path-length' },
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
