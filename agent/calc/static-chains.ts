/**
 * The chains that do not depend on any resource: the top-level chains the kernel's chains jump to
 * (the jumps themselves are the iptables reconciler's: it inserts them once) and NAT-outgoing.
 *
 *   (graph start) ──▶ [renderStaticChains] ──▶ chainUpdated ──▶ sequencer
 *
 *   filter mgy-FORWARD:  -i mgy+ → mgy-from-wl-dispatch (source's egress policy)
 *                        -o mgy+ → mgy-to-wl-dispatch   (destination's ingress policy)
 *                        -i mgy+ ACCEPT, -o mgy+ ACCEPT (allowed by both)
 *   filter mgy-INPUT:    -i mgy+ → mgy-from-wl-dispatch (a pod's egress policy also covers the host;
 *                        what it allows continues through the host's own INPUT rules)
 *   filter mgy-OUTPUT:   -o mgy+ RETURN: the host may always reach its pods (kubelet probes), as in
 *                        Calico; the place where host-endpoint policy would go
 *   nat mgy-POSTROUTING → mgy-nat-outgoing: MASQUERADE what leaves a natOutgoing pool for
 *                        anywhere outside all pools (ipsets from IpPoolIndex)
 */
import { allPoolsIpset, CHAINS, masqPoolsIpset, WORKLOAD_IFACE_WILDCARD as WL } from './names.js';
import type { DesiredChain, IpFamily } from './types.js';

export function renderStaticChains(family: IpFamily): DesiredChain[] {
  const filter = (name: string, rules: string[][]): DesiredChain => ({ family, table: 'filter', name, rules });
  const nat = (name: string, rules: string[][]): DesiredChain => ({ family, table: 'nat', name, rules });
  return [
    filter(CHAINS.forward, [
      ['-i', WL, '-j', CHAINS.fromWorkloadDispatch],
      ['-o', WL, '-j', CHAINS.toWorkloadDispatch],
      ['-i', WL, '-j', 'ACCEPT'],
      ['-o', WL, '-j', 'ACCEPT'],
    ]),
    filter(CHAINS.input, [['-i', WL, '-j', CHAINS.fromWorkloadDispatch]]),
    filter(CHAINS.output, [['-o', WL, '-j', 'RETURN']]),
    nat(CHAINS.postrouting, [['-j', CHAINS.natOutgoing]]),
    nat(CHAINS.natOutgoing, [
      [
        '-m',
        'set',
        '--match-set',
        masqPoolsIpset(family),
        'src',
        '-m',
        'set',
        '!',
        '--match-set',
        allPoolsIpset(family),
        'dst',
        '-j',
        'MASQUERADE',
      ],
    ]),
  ];
}
