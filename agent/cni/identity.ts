import { randomBytes } from 'node:crypto';
import { sha1Hex } from '../calc/index.js';
import { CNI_ERROR, CniError } from '../../cni/index.js';
import { dnsLabelProblem, dnsSubdomainProblem } from '../../src/model/index.js';
import { OWNERSHIP } from '../../src/kernel/index.js';

/** Who a CNI call is for: a Kubernetes pod (CNI_ARGS) or, without that, just a container id. */
export interface PodIdentity {
  readonly namespace: string;
  readonly pod: string;
}

/** K8S_POD_NAMESPACE + K8S_POD_NAME when both are given (validated), none when neither is. */
export function podIdentity(args: Readonly<Record<string, string>>): PodIdentity | undefined {
  const namespace = args.K8S_POD_NAMESPACE;
  const pod = args.K8S_POD_NAME;
  if (namespace === undefined && pod === undefined) return undefined;
  if (!namespace || !pod) {
    throw new CniError(
      CNI_ERROR.invalidEnvironment,
      'invalid environment',
      'CNI_ARGS must give both K8S_POD_NAMESPACE and K8S_POD_NAME, or neither',
    );
  }
  const p =
    dnsLabelProblem(namespace) ??
    (dnsSubdomainProblem(pod) === undefined ? undefined : `K8S_POD_NAME: ${dnsSubdomainProblem(pod)}`);
  if (p !== undefined)
    throw new CniError(
      CNI_ERROR.invalidEnvironment,
      'invalid environment',
      `CNI_ARGS pod identity ${namespace}/${pod}: ${p}`,
    );
  return { namespace, pod };
}

/**
 * The host-side veth: `mgy` + 11 hex digits of sha1(`<namespace>.<pod>`) (Calico's scheme, the
 * same function agent/calc uses), or of the container id without Kubernetes identity. A second
 * interface of the same pod (CNI_IFNAME other than eth0) hashes the interface name in too.
 */
export function hostIfName(id: PodIdentity | undefined, containerId: string, ifName: string): string {
  const base = id === undefined ? containerId : `${id.namespace}.${id.pod}`;
  const key = ifName === 'eth0' ? base : `${base}.${ifName}`;
  return `${OWNERSHIP.interfacePrefix}${sha1Hex(key).slice(0, 11)}`;
}

/** A random locally administered unicast MAC for the pod side. */
export function randomPodMac(): string {
  const b = randomBytes(6);
  b[0] = (b[0]! & 0xfe) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** The host side's MAC, as Calico: every pod sees its gateway at ee:ee:ee:ee:ee:ee. */
export const HOST_VETH_MAC = 'ee:ee:ee:ee:ee:ee';
