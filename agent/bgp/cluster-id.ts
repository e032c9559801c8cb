/**
 * A node's routeReflectorClusterID changing while the speaker runs (making a node a route reflector
 * is step one of Calico's mesh → route-reflector migration). The speaker treats its cluster ID as a
 * global setting and restarts every session when it changes (Cease 6: peers flush our routes, then
 * reconnect after their back-off) — traffic loss on every peer at once. The reflector role itself
 * needs no restart: which peers are clients is a per-peer RIB setting the speaker changes in place.
 *
 * So the running speaker keeps the cluster ID it has while that is safe, and the new one takes effect
 * at the next start (a restart is graceful). The ID is only a loop guard (RFC 4456 §8): a reflector
 * prepends it to CLUSTER_LIST and drops routes that carry it. Keeping an ID that no other node uses
 * is loop-free — it just acts as a cluster of its own, as RFC 4456 allows. It is not safe once some
 * other node's cluster ID equals the kept one: that node's reflections would be dropped as loops,
 * so then the new ID is applied at once (restart). Pure.
 */

export interface ClusterIdInput {
  /** What the running speaker uses: its configured cluster ID, or undefined (= its router ID). */
  readonly running: string | undefined;
  /** The node's routeReflectorClusterID now. */
  readonly wanted: string | undefined;
  readonly routerId: string;
  /** Cluster IDs of the other nodes. */
  readonly others: Iterable<string | undefined>;
}

export interface ClusterIdChoice {
  readonly clusterId: string | undefined;
  /** The wanted ID differs and waits for the next start. */
  readonly deferred: boolean;
}

export function chooseClusterId(i: ClusterIdInput): ClusterIdChoice {
  if (i.running === i.wanted) return { clusterId: i.wanted, deferred: false };
  const effective = i.running ?? i.routerId;
  if ((i.wanted ?? i.routerId) === effective) return { clusterId: i.running, deferred: false };
  for (const o of i.others) if (o === effective) return { clusterId: i.wanted, deferred: false };
  return { clusterId: i.running, deferred: true };
}
