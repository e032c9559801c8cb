/**
 * The reference daemons as BGP peers of margay-bgpd, behind one small interface so each interop
 * scenario runs against BIRD 2, FRR and GoBGP alike. Every daemon originates ORIGIN_PREFIX (v4) and
 * ORIGIN_PREFIX6 (v6, when the session carries IPv6) and accepts everything margay sends.
 */
import { execa } from 'execa';
import {
  startBird,
  startFrr,
  startGobgp,
  GOBGP_ESTABLISHED,
  type BirdHandle,
  type DaemonHandle,
} from '../helpers/bgp-daemons.js';

export type DaemonKind = 'bird' | 'frr' | 'gobgp';
export const DAEMONS: readonly DaemonKind[] = ['bird', 'frr', 'gobgp'];

export const ORIGIN_PREFIX: Readonly<Record<DaemonKind, string>> = {
  bird: '192.0.2.0/24',
  frr: '198.51.100.0/24',
  gobgp: '203.0.113.0/24',
};
export const ORIGIN_PREFIX6: Readonly<Record<DaemonKind, string>> = {
  bird: '2001:db8:b1::/48',
  frr: '2001:db8:f1::/48',
  gobgp: '2001:db8:90::/48',
};

export interface PeerSpec {
  readonly ns: string;
  /** The daemon's own address and ASN. */
  readonly ip: string;
  readonly asn: number;
  readonly routerId: string;
  /** margay-bgpd's addresses and ASN as seen from the daemon. */
  readonly margayIp: string;
  readonly margayAsn: number;
  /** IPv6 session addresses (daemon, margay) when the test runs IPv6 too. */
  readonly ip6?: { readonly own: string; readonly margay: string };
  readonly holdTime?: number;
  readonly gracefulRestart?: boolean;
  /** Route-reflector client setup is margay's side; nothing here. */
}

export interface RunningPeer {
  readonly kind: DaemonKind;
  readonly handle: DaemonHandle;
  established(): Promise<boolean>;
  /** Whether the daemon's RIB holds `prefix` learned from margay. */
  hasRoute(prefix: string): Promise<boolean>;
  stop(): Promise<void>;
}

async function inNs(ns: string, cmd: string, args: string[]): Promise<string> {
  const r = await execa('ip', ['netns', 'exec', ns, cmd, ...args], { reject: false });
  if (r.exitCode !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

export async function startPeer(kind: DaemonKind, s: PeerSpec): Promise<RunningPeer> {
  const ibgp = s.asn === s.margayAsn;
  const hold = s.holdTime ?? 90;
  switch (kind) {
    case 'bird': {
      // iBGP next hops resolve recursively through `direct` interface routes plus a static route to the
      // other test subnets via margay (route reflection hands us next hops that are not on our link).
      // Only the s4/s6 routes are exported.
      const ib = ibgp ? 'next hop self;' : '';
      const gr = s.gracefulRestart ? 'graceful restart on;' : '';
      const v6 = s.ip6
        ? `protocol static s6 { ipv6; route ${ORIGIN_PREFIX6.bird} blackhole; }
protocol bgp margay6 { local ${s.ip6.own} as ${s.asn}; neighbor ${s.ip6.margay} as ${s.margayAsn}; hold time ${hold}; ${gr}
  ipv6 { import all; export where proto = "s6"; ${ib} }; }`
        : '';
      const h = await startBird(
        s.ns,
        `router id ${s.routerId};
protocol device {}
protocol direct { ipv4; ipv6; }
protocol static s4 { ipv4; route ${ORIGIN_PREFIX.bird} blackhole; }
protocol static nh4 { ipv4; route 10.10.0.0/16 via ${s.margayIp}; }
protocol bgp margay { local ${s.ip} as ${s.asn}; neighbor ${s.margayIp} as ${s.margayAsn}; hold time ${hold}; ${gr}
  ipv4 { import all; export where proto = "s4"; ${ib} }; }
${v6}`,
      );
      return {
        kind,
        handle: h,
        established: async () => {
          const p = await h.protocols();
          return (
            p.get('margay')?.info.includes('Established') === true &&
            (!s.ip6 || p.get('margay6')?.info.includes('Established') === true)
          );
        },
        hasRoute: (prefix) => birdHasRoute(h, prefix),
        stop: () => h.stop(),
      };
    }
    case 'frr': {
      const timers = `timers ${Math.max(1, Math.floor(hold / 3))} ${hold}`;
      const m6 = s.ip6?.margay;
      const h = await startFrr(
        s.ns,
        [
          'frr defaults traditional',
          `router bgp ${s.asn}`,
          ` bgp router-id ${s.routerId}`,
          ' no bgp ebgp-requires-policy',
          ' no bgp network import-check',
          ...(s.gracefulRestart ? [' bgp graceful-restart'] : []),
          ` neighbor ${s.margayIp} remote-as ${s.margayAsn}`,
          ` neighbor ${s.margayIp} ${timers}`,
          ...(m6 ? [` neighbor ${m6} remote-as ${s.margayAsn}`, ` neighbor ${m6} ${timers}`] : []),
          ' address-family ipv4 unicast',
          `  network ${ORIGIN_PREFIX.frr}`,
          ...(m6 ? [`  no neighbor ${m6} activate`] : []),
          ' exit-address-family',
          ...(m6
            ? [
                ' address-family ipv6 unicast',
                `  network ${ORIGIN_PREFIX6.frr}`,
                `  neighbor ${m6} activate`,
                ' exit-address-family',
              ]
            : []),
        ].join('\n'),
      );
      return {
        kind,
        handle: h,
        established: async () => {
          const p = await h.peers('ipv4');
          const ok4 = p[s.margayIp]?.state === 'Established';
          if (!s.ip6) return ok4;
          const p6 = await h.peers('ipv6');
          return ok4 && p6[s.ip6.margay]?.state === 'Established';
        },
        hasRoute: async (prefix) => {
          const afi = prefix.includes(':') ? 'ipv6' : 'ipv4';
          const j = await h.vtyshJson<{ paths?: unknown[] }>(`show bgp ${afi} unicast ${prefix} json`);
          return (j.paths?.length ?? 0) > 0;
        },
        stop: () => h.stop(),
      };
    }
    case 'gobgp': {
      const nb = (addr: string, fams: string[]): string => `[[neighbors]]
  [neighbors.config]
    neighbor-address = "${addr}"
    peer-as = ${s.margayAsn}
  [neighbors.timers.config]
    hold-time = ${hold}
    keepalive-interval = ${Math.max(1, Math.floor(hold / 3))}
${s.gracefulRestart ? '  [neighbors.graceful-restart.config]\n    enabled = true\n    restart-time = 120\n' : ''}${fams
  .map(
    (f) =>
      `  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = "${f}"\n${s.gracefulRestart ? '    [neighbors.afi-safis.mp-graceful-restart.config]\n      enabled = true\n' : ''}`,
  )
  .join('')}`;
      const h = await startGobgp(
        s.ns,
        `[global.config]
  as = ${s.asn}
  router-id = "${s.routerId}"
${nb(s.margayIp, ['ipv4-unicast'])}
${s.ip6 ? nb(s.ip6.margay, ['ipv6-unicast']) : ''}
`,
      );
      await h.gobgp('global', 'rib', 'add', ORIGIN_PREFIX.gobgp, ...(ibgp ? ['local-pref', '100'] : []));
      if (s.ip6) await h.gobgp('global', 'rib', '-a', 'ipv6', 'add', ORIGIN_PREFIX6.gobgp, 'nexthop', s.ip6.own);
      return {
        kind,
        handle: h,
        established: async () => {
          const n = await h.neighbors();
          const want = [s.margayIp, ...(s.ip6 ? [s.ip6.margay] : [])];
          return want.every(
            (a) => n.find((x) => x.conf.neighbor_address === a)?.state.session_state === GOBGP_ESTABLISHED,
          );
        },
        hasRoute: async (prefix) => {
          const out = await h.gobgp('global', 'rib', ...(prefix.includes(':') ? ['-a', 'ipv6'] : []), prefix);
          return out.includes(prefix);
        },
        stop: () => h.stop(),
      };
    }
  }
}

/** Whether BIRD's table holds `prefix` (birdc exits non-zero with "Network not found" when not). */
export async function birdHasRoute(h: BirdHandle, prefix: string): Promise<boolean> {
  try {
    return (await h.birdc('show', 'route', prefix)).includes(prefix);
  } catch (err) {
    if (/Network not found/.test((err as Error).message)) return false;
    throw err;
  }
}

/** Routes with Margay's BGP protocol number in a namespace's main table. */
export async function kernelBgpRoutes(ns: string, family: 4 | 6 = 4): Promise<string> {
  return inNs(ns, 'ip', [`-${family}`, 'route', 'show', 'proto', '110']);
}
