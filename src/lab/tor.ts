/**
 * The lab's top-of-rack router: BIRD 2, FRR (bgpd + zebra) or margay-bgpd in the `tor` namespace,
 * peering with every node (eBGP, AS 65000) and installing what it learns into its kernel so it
 * forwards pod traffic (eBGP mode, NAT-outgoing replies). One small interface over the three:
 * start, the sessions as rows, stop.
 */
import { execa } from 'execa';
import { LabProcessError } from './errors.js';
import type { LabPlan, TorKind } from './lab-plan.js';
import { binPath, startMargayBgpd } from './margay-processes.js';
import { toRecord, type ProcessRecord } from './processes.js';
import { startBird, startFrr } from './reference-daemons.js';

export interface SessionRow {
  readonly peer: string;
  readonly state: string;
}

export interface TorHandle {
  readonly kind: TorKind;
  readonly records: readonly ProcessRecord[];
  sessions(): Promise<SessionRow[]>;
}

export function birdTorConfig(plan: LabPlan): string {
  const peers = plan.options.mode === 'host-gw' ? [] : plan.nodes;
  const v6 = plan.tor.ip6 !== undefined;
  return `router id ${plan.tor.ip};
protocol device {}
protocol kernel k4 { ipv4 { export where source = RTS_BGP; }; merge paths on; }
${v6 ? 'protocol kernel k6 { ipv6 { export where source = RTS_BGP; }; merge paths on; }' : ''}
template bgp node { local as ${plan.tor.asn}; hold time 9; connect retry time 1; ipv4 { import all; export where source = RTS_BGP; }; }
template bgp node6 { local as ${plan.tor.asn}; hold time 9; connect retry time 1; ipv6 { import all; export where source = RTS_BGP; }; }
${peers.map((n) => `protocol bgp ${n.name.replace('-', '_')} from node { neighbor ${n.ip} as ${n.asn}; }`).join('\n')}
${v6 ? peers.map((n) => `protocol bgp ${n.name.replace('-', '_')}_v6 from node6 { neighbor ${n.ip6} as ${n.asn}; }`).join('\n') : ''}
`;
}

export function frrTorConfig(plan: LabPlan): string {
  const peers = plan.options.mode === 'host-gw' ? [] : plan.nodes;
  return [
    'frr defaults traditional',
    `router bgp ${plan.tor.asn}`,
    ` bgp router-id ${plan.tor.ip}`,
    ' no bgp ebgp-requires-policy',
    ' no bgp network import-check',
    ...peers.flatMap((n) => [
      ` neighbor ${n.ip} remote-as ${n.asn}`,
      ` neighbor ${n.ip} timers 3 9`,
      ` neighbor ${n.ip} timers connect 1`,
    ]),
    ...(plan.tor.ip6
      ? peers.flatMap((n) => [
          ` neighbor ${n.ip6} remote-as ${n.asn}`,
          ` neighbor ${n.ip6} timers 3 9`,
          ` neighbor ${n.ip6} timers connect 1`,
        ])
      : []),
    ' address-family ipv4 unicast',
    ...(plan.tor.ip6 ? peers.map((n) => `  no neighbor ${n.ip6} activate`) : []),
    ' exit-address-family',
    ...(plan.tor.ip6
      ? [' address-family ipv6 unicast', ...peers.map((n) => `  neighbor ${n.ip6} activate`), ' exit-address-family']
      : []),
  ].join('\n');
}

export function bgpdTorConfig(plan: LabPlan, socket: string): string {
  const peers = plan.options.mode === 'host-gw' ? [] : plan.nodes;
  return `routerId: ${plan.tor.ip}
asn: ${plan.tor.asn}
ebgpRequiresPolicy: false
fib: { enabled: true }
control: { socket: ${socket} }
peers:
${[...peers.map((n) => `  - { address: ${n.ip}, asn: ${n.asn}, holdTime: 9, connectRetry: 1, description: ${n.name} }`), ...(plan.tor.ip6 ? peers.map((n) => `  - { address: "${n.ip6}", asn: ${n.asn}, holdTime: 9, connectRetry: 1, description: ${n.name}-v6 }`) : [])].join('\n') || '  []'}
`.replace('peers:\n  []', 'peers: []');
}

/** Starts the ToR daemon in `ns` with its files in `workdir`; the caller records `records` at once. */
export async function startTor(kind: TorKind, plan: LabPlan, ns: string, workdir: string): Promise<TorHandle> {
  switch (kind) {
    case 'bird': {
      const h = await startBird(ns, birdTorConfig(plan), { workdir });
      return {
        kind,
        records: h.records,
        async sessions() {
          const rows: SessionRow[] = [];
          for (const [name, p] of await h.protocols()) {
            if (p.proto !== 'BGP') continue;
            const node = plan.nodes.find((n) => n.name.replace('-', '_') === name.replace(/_v6$/, ''));
            const addr = name.endsWith('_v6') ? node?.ip6 : node?.ip;
            rows.push({ peer: node ? `${node.name} ${addr}` : name, state: p.info.split(' ')[0] || p.state });
          }
          return rows;
        },
      };
    }
    case 'frr': {
      const h = await startFrr(ns, frrTorConfig(plan), { workdir, zebra: true });
      return {
        kind,
        records: h.records,
        async sessions() {
          const peers = await h.peers('ipv4');
          return Object.entries(peers).map(([ip, p]) => ({
            peer: `${plan.nodes.find((n) => n.ip === ip)?.name ?? '?'} ${ip}`,
            state: p.state,
          }));
        },
      };
    }
    case 'margay-bgpd': {
      const d = await startMargayBgpd({
        ns,
        workdir,
        name: 'tor',
        logLevel: 'warn',
        config: (socket) => bgpdTorConfig(plan, socket),
      });
      return {
        kind,
        records: [toRecord(d.proc)],
        async sessions() {
          const r = await execa(
            process.execPath,
            [binPath('margayctl'), 'bgp', 'peers', '-o', 'json', '--socket', d.socket],
            { reject: false },
          );
          if (r.exitCode !== 0) throw new LabProcessError('margayctl', `bgp peers: ${r.stderr}`);
          const peers = JSON.parse(r.stdout) as { address: string; state: string }[];
          return peers.map((p) => ({
            peer: `${plan.nodes.find((n) => n.ip === p.address)?.name ?? '?'} ${p.address}`,
            state: p.state,
          }));
        },
      };
    }
  }
}

/** Re-attaches to a running ToR for `status` (a later margayctl process): sessions through its control socket. */
export function torSessionsCommand(kind: TorKind, workdir: string): string[] {
  switch (kind) {
    case 'bird':
      return ['birdc', '-s', `${workdir}/bird.ctl`, 'show', 'protocols'];
    case 'frr':
      return ['vtysh', '--vty_socket', workdir, '-d', 'bgpd', '-c', 'show bgp ipv4 unicast summary'];
    case 'margay-bgpd':
      return [process.execPath, binPath('margayctl'), 'bgp', 'peers', '--socket', `${workdir}/tor.sock`];
  }
}
