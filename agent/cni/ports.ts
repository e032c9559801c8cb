/**
 * What the CNI server needs from the rest of the agent, as narrow ports (agent/main.ts wires the
 * real ones; tests pass fakes from ./testing). Shapes follow the IPAM service (ipam/) and the
 * calculation graph's endpoint input (agent/calc WorkloadEndpointRegistration) so the agent can
 * pass those straight through or with a thin adapter.
 */
import type { Resource } from '../../src/model/index.js';
import type { WorkloadEndpointRegistration } from '../calc/index.js';

export interface IpamAssignRequest {
  /** `<network>.<containerId>`: the handle every address of this attachment is recorded under. */
  readonly handleId: string;
  readonly containerId: string;
  readonly ifName: string;
  /** Kubernetes identity when the runtime passed it (CNI_ARGS K8S_POD_NAMESPACE / K8S_POD_NAME). */
  readonly namespace?: string;
  readonly pod?: string;
  /** The Pod object (annotations: pools, fixed addresses) when identity was given. */
  readonly podObject?: Resource;
  /** The netconf's `ipam` section (pool choice from CNI config: ipv4_pools, assign_ipv4, ...). */
  readonly ipamConfig: Readonly<Record<string, unknown>>;
}

/** The agent's own IPAM (`ipam.type: margay-ipam`). */
export interface CniIpam {
  /**
   * Addresses for one attachment as /32 and /128 CIDRs. Idempotent per handle: a repeated ADD gets
   * what the handle already holds. Throws IpamExhaustedError when no pool has room.
   */
  assign(req: IpamAssignRequest): Promise<readonly string[]>;
  /** Releases everything held by the handle; a handle that holds nothing is not an error. */
  release(handleId: string): Promise<void>;
  /** Handles of this node whose id starts with `<network>.` (CNI GC). */
  handlesOf(network: string): Promise<readonly string[]>;
  /** Whether some pool usable by this node still has a free address (CNI STATUS). */
  hasRoom(): Promise<boolean>;
}

/** The calculation graph's endpoint input: one definition, agent/calc's (re-exported for CNI callers). */
export type { WorkloadEndpointRegistration };

export interface EndpointRegistry {
  register(reg: WorkloadEndpointRegistration): void;
  unregister(key: string): void;
  /**
   * Resolves true once the endpoint's routes and policy are in the kernel, false when `timeoutMs`
   * passes first (Calico's policy_setup_timeout). Optional: without it ADD does not wait.
   */
  waitProgrammed?(key: string, timeoutMs: number): Promise<boolean>;
}

/** Pod objects from the agent's datastore view. */
export interface PodDirectory {
  getPod(namespace: string, name: string): Promise<Resource | undefined>;
}
