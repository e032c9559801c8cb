/**
 * LocalEndpointResolver: the workload endpoints on this node, joined with what the datastore says
 * about their pods.
 *
 *   CNI registration ─┐
 *   Pod (this node) ──┼──▶ [LocalEndpointResolver] ──▶ endpointChanged(key, LocalEndpoint | undefined)
 *   Namespace ────────┤          ▲ veth MTU                ──▶ RouteResolver, PolicyResolver,
 *   encap overhead ───┘──────────┘                             EndpointChainRenderer, sequencer
 *
 * A registration (from CNI ADD) is the endpoint; its Pod object, when seen, supplies the labels.
 * A local Pod with addresses but no registration (an agent that restarted before the CNI server
 * re-registered its pods) is an endpoint too, keyed `pod:<ns>/<name>` on the veth name the plugin
 * derives (`workloadInterfaceName`), so a restart never drops a working pod's routes. Work is
 * deferred to `flush()`.
 */
import type { Resource } from '../../src/model/index.js';
import { hostPrefix } from './addr.js';
import { sha1Hex } from './sha1.js';
import type { CalcConfig, LocalEndpoint, WorkloadEndpointRegistration } from './types.js';

export interface EndpointListener {
  endpointChanged(key: string, ep: LocalEndpoint | undefined): void;
}

/** The host-side veth name of a pod: `mgy` + the first 11 hex digits of sha1(`<namespace>.<pod>`) (Calico's scheme). */
export function workloadInterfaceName(namespace: string, pod: string): string {
  return `mgy${sha1Hex(`${namespace}.${pod}`).slice(0, 11)}`;
}

interface PodInfo {
  readonly labels: Readonly<Record<string, string>>;
  readonly nets: readonly string[];
}

const EMPTY: Readonly<Record<string, string>> = Object.freeze({});

function podInfo(pod: Resource): PodInfo {
  const status = pod['status'] as { podIP?: string; podIPs?: { ip?: string }[] } | undefined;
  const spec = pod['spec'] as { hostNetwork?: boolean } | undefined;
  const ips = (status?.podIPs ?? []).map((p) => p.ip).filter((ip): ip is string => typeof ip === 'string');
  if (ips.length === 0 && typeof status?.podIP === 'string') ips.push(status.podIP);
  const nets = spec?.hostNetwork === true ? [] : ips.map(hostPrefix).filter((n): n is string => n !== undefined);
  return { labels: pod.metadata.labels ?? EMPTY, nets };
}

function sortedNets(nets: readonly string[]): string[] {
  return [...new Set(nets.map(hostPrefix).filter((n): n is string => n !== undefined))].sort();
}

export class LocalEndpointResolver {
  readonly #registrations = new Map<string, WorkloadEndpointRegistration>();
  /** `ns/pod` → registration keys naming that pod. */
  readonly #regsByPod = new Map<string, Set<string>>();
  readonly #pods = new Map<string, PodInfo>();
  readonly #namespaces = new Map<string, Readonly<Record<string, string>>>();
  readonly #emitted = new Map<string, string>();
  readonly #dirty = new Set<string>();
  #overhead = 0;

  constructor(
    private readonly config: CalcConfig,
    private readonly out: EndpointListener,
  ) {}

  register(reg: WorkloadEndpointRegistration): void {
    this.unregister(reg.key);
    this.#registrations.set(reg.key, reg);
    const pk = podKeyOf(reg);
    if (pk !== undefined) {
      const s = this.#regsByPod.get(pk) ?? new Set<string>();
      s.add(reg.key);
      this.#regsByPod.set(pk, s);
      this.#dirty.add(`pod:${pk}`); // a pod-derived endpoint gives way
    }
    this.#dirty.add(reg.key);
  }

  unregister(key: string): void {
    const reg = this.#registrations.get(key);
    if (reg === undefined) return;
    this.#registrations.delete(key);
    const pk = podKeyOf(reg);
    if (pk !== undefined) {
      const s = this.#regsByPod.get(pk);
      s?.delete(key);
      if (s?.size === 0) this.#regsByPod.delete(pk);
      this.#dirty.add(`pod:${pk}`);
    }
    this.#dirty.add(key);
  }

  /** Only pods of this node are kept; others are ignored (a pod moving away is a removal). */
  onPod(key: string, pod: Resource | undefined): void {
    const node = (pod?.['spec'] as { nodeName?: string } | undefined)?.nodeName;
    if (pod === undefined || node !== this.config.nodeName) {
      if (!this.#pods.delete(key)) return;
    } else {
      this.#pods.set(key, podInfo(pod));
    }
    this.#dirty.add(`pod:${key}`);
    for (const r of this.#regsByPod.get(key) ?? []) this.#dirty.add(r);
  }

  onNamespace(name: string, ns: Resource | undefined): void {
    if (ns === undefined) this.#namespaces.delete(name);
    else this.#namespaces.set(name, ns.metadata.labels ?? EMPTY);
    // Namespace label changes are rare; a scan of the endpoints is fine.
    for (const [k, r] of this.#registrations) if (r.namespace === name) this.#dirty.add(k);
    for (const k of this.#pods.keys()) if (k.startsWith(`${name}/`)) this.#dirty.add(`pod:${k}`);
  }

  encapOverheadChanged(bytes: number): void {
    if (bytes === this.#overhead) return;
    this.#overhead = bytes;
    for (const k of this.#emitted.keys()) this.#dirty.add(k);
  }

  get mtu(): number {
    return this.config.vethMtu ?? this.config.hostMtu - this.#overhead;
  }

  flush(): void {
    for (const key of this.#dirty) {
      const ep = this.#compute(key);
      const text = ep === undefined ? undefined : JSON.stringify(ep);
      if (this.#emitted.get(key) === text) continue;
      if (text === undefined) this.#emitted.delete(key);
      else this.#emitted.set(key, text);
      this.out.endpointChanged(key, ep);
    }
    this.#dirty.clear();
  }

  #compute(key: string): LocalEndpoint | undefined {
    if (key.startsWith('pod:') && !this.#registrations.has(key)) {
      const pk = key.slice('pod:'.length);
      const pod = this.#pods.get(pk);
      if (pod === undefined || pod.nets.length === 0 || this.#regsByPod.has(pk)) return undefined;
      const [namespace, name] = splitPodKey(pk);
      return {
        key,
        iface: workloadInterfaceName(namespace, name),
        namespace,
        pod: name,
        ipv4Nets: pod.nets.filter((n) => !n.includes(':')).sort(),
        ipv6Nets: pod.nets.filter((n) => n.includes(':')).sort(),
        labels: pod.labels,
        namespaceLabels: this.#namespaces.get(namespace) ?? EMPTY,
        mtu: this.mtu,
      };
    }
    const reg = this.#registrations.get(key);
    if (reg === undefined) return undefined;
    const pk = podKeyOf(reg);
    const pod = pk === undefined ? undefined : this.#pods.get(pk);
    return {
      key,
      iface: reg.iface,
      ...(reg.mac === undefined ? {} : { mac: reg.mac.toLowerCase() }),
      ...(reg.namespace === undefined ? {} : { namespace: reg.namespace }),
      ...(reg.pod === undefined ? {} : { pod: reg.pod }),
      ...(reg.containerId === undefined ? {} : { containerId: reg.containerId }),
      ipv4Nets: sortedNets(reg.ipv4Nets),
      ipv6Nets: sortedNets(reg.ipv6Nets),
      labels: pod?.labels ?? reg.labels ?? EMPTY,
      namespaceLabels: reg.namespace === undefined ? EMPTY : (this.#namespaces.get(reg.namespace) ?? EMPTY),
      mtu: this.mtu,
    };
  }
}

function podKeyOf(reg: WorkloadEndpointRegistration): string | undefined {
  return reg.namespace !== undefined && reg.pod !== undefined ? `${reg.namespace}/${reg.pod}` : undefined;
}

function splitPodKey(k: string): [string, string] {
  const i = k.indexOf('/');
  return [k.slice(0, i), k.slice(i + 1)];
}
