/**
 * The interop suite's topology, a preset of the lab topology (src/lab/presets.ts `interopSpec`):
 * margay-bgpd in one namespace, each reference daemon in its own, joined by veths with IPv4 and IPv6
 * (nodad, so addresses are usable at once). Everything is created by upTopology and removed by its
 * down() in `finally`.
 */
import { interopSpec } from '../../src/lab/presets.js';
import { upTopology } from '../../src/lab/topology.js';
import { labDeps, uniquePrefix } from '../helpers/netns.js';
import type { DaemonKind, RunningPeer } from './peers.js';
import type { MargayProcess } from './margay-process.js';
import { removeWorkdir } from './margay-process.js';

export interface Link {
  /** Namespace of the daemon on this link. */
  readonly ns: string;
  readonly margayIp: string;
  readonly peerIp: string;
  readonly margayIp6: string;
  readonly peerIp6: string;
}

export interface Topology {
  readonly margayNs: string;
  /** One link per daemon, subnets 10.10.<i+1>.0/24 and fd00:10:<i+1>::/64 (.1 margay, .2 daemon). */
  readonly links: readonly Link[];
}

export async function withTopology(count: number, fn: (t: Topology) => Promise<void>): Promise<void> {
  const topo = await upTopology(interopSpec(uniquePrefix('io'), count), labDeps());
  try {
    const links: Link[] = [];
    for (let i = 0; i < count; i++) {
      const n = i + 1;
      links.push({
        ns: topo.ns(`d${i}`),
        margayIp: `10.10.${n}.1`,
        peerIp: `10.10.${n}.2`,
        margayIp6: `fd00:10:${n}::1`,
        peerIp6: `fd00:10:${n}::2`,
      });
    }
    await fn({ margayNs: topo.ns('margay'), links });
  } finally {
    await topo.down();
  }
}

/** Stops daemons and margay-bgpd (collecting their logs into the error when the test failed). */
export async function cleanup(peers: readonly RunningPeer[], margay: readonly MargayProcess[]): Promise<void> {
  for (const p of peers) await p.stop();
  for (const m of margay) {
    await m.kill();
    await removeWorkdir(m.workdir);
  }
}

export const KINDS_LABEL: Readonly<Record<DaemonKind, string>> = { bird: 'BIRD 2', frr: 'FRR', gobgp: 'GoBGP' };
