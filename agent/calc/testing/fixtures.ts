/** Resource builders and a recording sink for calc and dataplane tests. */
import type { Resource } from '../../../src/model/kinds.js';
import type {
  ChainTable,
  DataplaneSink,
  DesiredChain,
  DesiredIpset,
  DesiredRoute,
  IpFamily,
  LocalEndpoint,
} from '../types.js';

export function node(name: string, ip?: string, ip6?: string): Resource {
  const addresses = [
    ...(ip ? [{ type: 'InternalIP', address: ip }] : []),
    ...(ip6 ? [{ type: 'InternalIP', address: ip6 }] : []),
  ];
  return { apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: {}, status: { addresses } };
}

export function pool(name: string, cidr: string, natOutgoing = false, extra: Record<string, unknown> = {}): Resource {
  return { apiVersion: 'margay.dev/v1', kind: 'IPPool', metadata: { name }, spec: { cidr, natOutgoing, ...extra } };
}

export function block(
  cidr: string,
  owner: string | undefined,
  allocations?: { ordinal: number; node: string }[],
): Resource {
  const name = cidr.replace(/[/:]/g, '-');
  const spec: Record<string, unknown> = { cidr, ...(owner === undefined ? {} : { affinity: `host:${owner}` }) };
  if (allocations !== undefined) {
    const prefix = Number(cidr.split('/')[1]);
    const size = 2 ** ((cidr.includes(':') ? 128 : 32) - prefix);
    const allocs: (number | null)[] = new Array(size).fill(null);
    const attributes: { secondary: Record<string, string> }[] = [];
    for (const a of allocations) {
      allocs[a.ordinal] = attributes.length;
      attributes.push({ secondary: { node: a.node } });
    }
    spec['allocations'] = allocs;
    spec['attributes'] = attributes;
  }
  return { apiVersion: 'margay.dev/v1', kind: 'IPAMBlock', metadata: { name }, spec };
}

export function affinity(node: string, cidr: string, state = 'confirmed'): Resource {
  return {
    apiVersion: 'margay.dev/v1',
    kind: 'BlockAffinity',
    metadata: { name: `${node}-${cidr.replace(/[/:]/g, '-')}` },
    spec: { node, cidr, state, deleted: false },
  };
}

export function pod(
  ns: string,
  name: string,
  nodeName: string,
  ips: string[] = [],
  labels: Record<string, string> = {},
): Resource {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels },
    spec: { nodeName, containers: [] },
    status: { podIPs: ips.map((ip) => ({ ip })) },
  };
}

export function namespace(name: string, labels: Record<string, string> = {}): Resource {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

export type SinkCall =
  | ['ipsetUpdated', DesiredIpset]
  | ['ipsetRemoved', IpFamily, string]
  | ['chainUpdated', DesiredChain]
  | ['chainRemoved', IpFamily, ChainTable, string]
  | ['endpointUpdated', LocalEndpoint]
  | ['endpointRemoved', string]
  | ['routeUpdated', DesiredRoute]
  | ['routeRemoved', string]
  | ['inSync']
  | ['learnedRoutesInSync'];

/** Records every call, and keeps the resulting state (what a dataplane would hold). */
export class RecordingSink implements DataplaneSink {
  readonly calls: SinkCall[] = [];
  readonly ipsets = new Map<string, DesiredIpset>();
  readonly chains = new Map<string, DesiredChain>();
  readonly endpoints = new Map<string, LocalEndpoint>();
  readonly routes = new Map<string, DesiredRoute>();

  ipsetUpdated(s: DesiredIpset): void {
    this.calls.push(['ipsetUpdated', s]);
    this.ipsets.set(`${s.family}|${s.name}`, s);
  }
  ipsetRemoved(f: IpFamily, n: string): void {
    this.calls.push(['ipsetRemoved', f, n]);
    this.ipsets.delete(`${f}|${n}`);
  }
  chainUpdated(c: DesiredChain): void {
    this.calls.push(['chainUpdated', c]);
    this.chains.set(`${c.family}|${c.table}|${c.name}`, c);
  }
  chainRemoved(f: IpFamily, t: ChainTable, n: string): void {
    this.calls.push(['chainRemoved', f, t, n]);
    this.chains.delete(`${f}|${t}|${n}`);
  }
  endpointUpdated(e: LocalEndpoint): void {
    this.calls.push(['endpointUpdated', e]);
    this.endpoints.set(e.key, e);
  }
  endpointRemoved(k: string): void {
    this.calls.push(['endpointRemoved', k]);
    this.endpoints.delete(k);
  }
  routeUpdated(r: DesiredRoute): void {
    this.calls.push(['routeUpdated', r]);
    this.routes.set(r.dst, r);
  }
  routeRemoved(d: string): void {
    this.calls.push(['routeRemoved', d]);
    this.routes.delete(d);
  }
  inSync(): void {
    this.calls.push(['inSync']);
  }
  learnedRoutesInSync(): void {
    this.calls.push(['learnedRoutesInSync']);
  }

  clear(): void {
    this.calls.length = 0;
  }
  /** Names of the calls since the last clear (for order assertions). */
  get names(): string[] {
    return this.calls.map((c) => c[0]);
  }
  /** The desired state as plain sorted data (for comparing two runs). */
  snapshot(): unknown {
    const sorted = <V>(m: Map<string, V>): [string, V][] => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return {
      ipsets: sorted(this.ipsets),
      chains: sorted(this.chains),
      endpoints: sorted(this.endpoints),
      routes: sorted(this.routes),
    };
  }
}
