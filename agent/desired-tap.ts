/**
 * A pass-through between the calc graph and the dataplane that keeps counts of the desired state
 * (routes by kind, local endpoints) for the metrics, so they are not tracked in a second place.
 */
import type { DataplaneSink, DesiredRoute, LocalEndpoint } from './calc/index.js';

export class DesiredStateTap {
  readonly routes = new Map<string, DesiredRoute['kind']>();
  readonly endpoints = new Set<string>();

  wrap(inner: DataplaneSink): DataplaneSink {
    return {
      ipsetUpdated: (s) => inner.ipsetUpdated(s),
      ipsetRemoved: (f, n) => inner.ipsetRemoved(f, n),
      chainUpdated: (ch) => inner.chainUpdated(ch),
      chainRemoved: (f, t, n) => inner.chainRemoved(f, t, n),
      endpointUpdated: (ep: LocalEndpoint) => {
        this.endpoints.add(ep.key);
        inner.endpointUpdated(ep);
      },
      endpointRemoved: (key) => {
        this.endpoints.delete(key);
        inner.endpointRemoved(key);
      },
      routeUpdated: (r) => {
        this.routes.set(r.dst, r.kind);
        inner.routeUpdated(r);
      },
      routeRemoved: (dst) => {
        this.routes.delete(dst);
        inner.routeRemoved(dst);
      },
      inSync: () => inner.inSync(),
      learnedRoutesInSync: () => inner.learnedRoutesInSync(),
    };
  }

  routeCounts(): Record<string, number> {
    const out: Record<string, number> = { workload: 0, blackhole: 0, remote: 0 };
    for (const k of this.routes.values()) out[k] = (out[k] ?? 0) + 1;
    return out;
  }
}
