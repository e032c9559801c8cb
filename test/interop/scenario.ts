/**
 * Topology helpers for the interop suite: margay-bgpd in one namespace, each reference daemon in its
 * own, joined by veths with IPv4 and IPv6 (nodad, so addresses are usable at once). Everything is
 * created here and deleted in `finally`.
 */
import { deleteNetns, createNetns, linkNetns, run } from '../helpers/netns.js';
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
  const made: string[] = [];
  try {
    const margayNs = await createNetns('mg');
    made.push(margayNs);
    const links: Link[] = [];
    for (let i = 0; i < count; i++) {
      const ns = await createNetns(`d${i}`);
      made.push(ns);
      const n = i + 1;
      const { ifA, ifB } = await linkNetns(margayNs, ns, `10.10.${n}.1/24`, `10.10.${n}.2/24`);
      await run('ip', ['-n', margayNs, 'addr', 'add', `fd00:10:${n}::1/64`, 'dev', ifA, 'nodad']);
      await run('ip', ['-n', ns, 'addr', 'add', `fd00:10:${n}::2/64`, 'dev', ifB, 'nodad']);
      links.push({ ns, margayIp: `10.10.${n}.1`, peerIp: `10.10.${n}.2`, margayIp6: `fd00:10:${n}::1`, peerIp6: `fd00:10:${n}::2` });
    }
    await fn({ margayNs, links });
  } finally {
    for (const ns of made.reverse()) await deleteNetns(ns);
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
