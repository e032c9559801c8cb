import type { MargayError } from '../../errors.js';
import type { PodInterfaceState, WorkloadVethOps, WorkloadVethSpec } from '../workload-veth.js';
import { FailureInjector } from './failure-injector.js';

/** In-memory WorkloadVethOps: host ends by name, pod ends by `<netns>|<ifname>`; failures injectable per op. */
export class FakeWorkloadVethOps implements WorkloadVethOps {
  readonly hosts = new Map<string, WorkloadVethSpec>();
  readonly pods = new Map<string, { spec: WorkloadVethSpec; configured: boolean }>();
  readonly faults = new FailureInjector();

  get ops(): string[] {
    return this.faults.ops;
  }

  failNext(err: MargayError, match?: RegExp): void {
    this.faults.failNext(err, match);
  }

  async createHostSide(spec: WorkloadVethSpec): Promise<void> {
    if (this.hosts.has(spec.hostIf)) throw new Error(`RTNETLINK answers: File exists (${spec.hostIf})`);
    // Like `ip -batch`: the pair exists before a later line can fail.
    this.hosts.set(spec.hostIf, spec);
    this.pods.set(`${spec.netnsPath}|${spec.podIf}`, { spec, configured: false });
    this.faults.record(`create ${spec.hostIf}`);
  }

  async configurePodSide(spec: WorkloadVethSpec): Promise<void> {
    this.faults.record(`configure ${spec.podIf}`);
    const p = this.pods.get(`${spec.netnsPath}|${spec.podIf}`);
    if (p === undefined) throw new Error(`Cannot find device "${spec.podIf}"`);
    p.configured = true;
  }

  async ownerOf(hostIf: string): Promise<string | null | undefined> {
    this.faults.record(`owner ${hostIf}`);
    return this.hosts.get(hostIf)?.owner;
  }

  async remove(hostIf: string): Promise<void> {
    this.faults.record(`remove ${hostIf}`);
    const h = this.hosts.get(hostIf);
    if (h !== undefined) this.pods.delete(`${h.netnsPath}|${h.podIf}`);
    this.hosts.delete(hostIf);
  }

  async inspectPod(netnsPath: string, podIf: string): Promise<PodInterfaceState> {
    this.faults.record(`inspect ${podIf}`);
    const p = this.pods.get(`${netnsPath}|${podIf}`);
    if (p === undefined) return { exists: false, up: false, addresses: [], defaultVia: [] };
    const s = p.spec;
    return {
      exists: true,
      up: p.configured,
      mac: s.podMac,
      addresses: p.configured ? [...s.addresses] : [],
      defaultVia: p.configured
        ? [...new Set(s.addresses.map((a) => (a.includes(':') ? s.gateways[6] : s.gateways[4])))]
        : [],
    };
  }
}
