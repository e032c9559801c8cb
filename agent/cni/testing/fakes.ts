import { IpamExhaustedError } from '../../../ipam/index.js';
import type { Resource } from '../../../src/model/index.js';
import type {
  CniIpam,
  EndpointRegistry,
  IpamAssignRequest,
  PodDirectory,
  WorkloadEndpointRegistration,
} from '../ports.js';

/**
 * In-memory IPv4 (optionally IPv6) IPAM for CNI tests only: hands out the next free address of one
 * /24-or-smaller range per family, per handle, and refuses when full. Not the real allocator (ipam/).
 */
export class MemoryIpam implements CniIpam {
  readonly handles = new Map<string, string[]>();
  readonly requests: IpamAssignRequest[] = [];
  failNext: Error | undefined;

  constructor(
    private readonly v4Base = '10.244.0.',
    private readonly size = 250,
    private readonly v6Base?: string,
  ) {}

  async assign(req: IpamAssignRequest): Promise<readonly string[]> {
    this.requests.push(req);
    const f = this.failNext;
    this.failNext = undefined;
    if (f) throw f;
    const held = this.handles.get(req.handleId);
    if (held) return held;
    const used = new Set([...this.handles.values()].flat());
    let v4: string | undefined;
    for (let i = 1; i <= this.size && v4 === undefined; i++)
      if (!used.has(`${this.v4Base}${i}/32`)) v4 = `${this.v4Base}${i}/32`;
    if (v4 === undefined) throw new IpamExhaustedError('ipv4', 'test-node', [], false);
    const out = [v4];
    if (this.v6Base !== undefined) out.push(`${this.v6Base}${v4.split('.')[3]!.replace('/32', '')}/128`);
    this.handles.set(req.handleId, out);
    return out;
  }

  async release(handleId: string): Promise<void> {
    this.handles.delete(handleId);
  }

  async handlesOf(network: string): Promise<readonly string[]> {
    return [...this.handles.keys()].filter((h) => h.startsWith(`${network}.`));
  }

  async hasRoom(): Promise<boolean> {
    return this.handles.size < this.size;
  }
}

export class RecordingEndpoints implements EndpointRegistry {
  readonly endpoints = new Map<string, WorkloadEndpointRegistration>();
  readonly log: string[] = [];
  failNext: Error | undefined;

  register(reg: WorkloadEndpointRegistration): void {
    const f = this.failNext;
    this.failNext = undefined;
    if (f) throw f;
    this.log.push(`register ${reg.key}`);
    this.endpoints.set(reg.key, reg);
  }

  unregister(key: string): void {
    this.log.push(`unregister ${key}`);
    this.endpoints.delete(key);
  }
}

export class MapPods implements PodDirectory {
  readonly pods = new Map<string, Resource>();

  add(namespace: string, name: string, labels: Record<string, string> = {}): void {
    this.pods.set(`${namespace}/${name}`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { namespace, name, labels },
    } as unknown as Resource);
  }

  async getPod(namespace: string, name: string): Promise<Resource | undefined> {
    return this.pods.get(`${namespace}/${name}`);
  }
}
