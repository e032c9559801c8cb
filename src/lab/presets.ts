/**
 * Topology presets: the rigs the test suites used to build by hand, as specs for upTopology. Each
 * takes the instance's unique prefix. (The lab's own topology is planned in lab-plan.ts; the BGP
 * demo it replaced retired with `margayctl lab`.)
 */
import { HOST, type LinkSpec, type TopologySpec } from './topology-spec.js';

/**
 * The interop suite: margay-bgpd in `margay`, one reference daemon per `d<i>` namespace, each joined
 * to margay by a veth: 10.10.<i+1>.0/24 and fd00:10:<i+1>::/64 (.1 margay, .2 the daemon).
 */
export function interopSpec(prefix: string, daemons: number): TopologySpec {
  const links: LinkSpec[] = [];
  for (let i = 0; i < daemons; i++) {
    const n = i + 1;
    links.push({
      a: { node: 'margay', ifName: `d${i}`, addresses: [`10.10.${n}.1/24`, `fd00:10:${n}::1/64`] },
      b: { node: `d${i}`, ifName: 'margay', addresses: [`10.10.${n}.2/24`, `fd00:10:${n}::2/64`] },
    });
  }
  return { prefix, nodes: [{ name: 'margay' }, ...links.map((l) => ({ name: l.b.node }))], links };
}

export const BLACKBOX = {
  HOST_IP: '10.30.0.2',
  MARGAY_RAW_IP: '10.30.0.1',
  MARGAY_BIRD_IP: '10.31.0.1',
  BIRD_IP: '10.31.0.2',
} as const;

/**
 * The black-box rig: margay-bgpd in `bm`, BIRD in `bb`; the test process (the sandbox's own
 * namespace) reaches margay over `hostIf` (10.30.0.0/24), margay reaches BIRD over 10.31.0.0/24.
 */
export function blackboxSpec(prefix: string, hostIf: string): TopologySpec {
  return {
    prefix,
    allowHostLinks: true,
    nodes: [{ name: 'bm' }, { name: 'bb' }],
    links: [
      {
        a: { node: HOST, ifName: hostIf, addresses: [`${BLACKBOX.HOST_IP}/24`] },
        b: { node: 'bm', ifName: 'raw', addresses: [`${BLACKBOX.MARGAY_RAW_IP}/24`] },
      },
      {
        a: { node: 'bm', ifName: 'bird', addresses: [`${BLACKBOX.MARGAY_BIRD_IP}/24`] },
        b: { node: 'bb', ifName: 'margay', addresses: [`${BLACKBOX.BIRD_IP}/24`] },
      },
    ],
  };
}
