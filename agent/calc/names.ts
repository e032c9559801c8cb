/**
 * Names the graph gives to kernel objects. All carry Margay's prefixes (src/kernel/ownership.ts):
 * chains `mgy-` (≤ 28 chars), ipsets `mgy` (≤ 31 chars; `mgyt-` is reserved for temporaries).
 */
import type { IpFamily } from './types.js';

export const CHAINS = {
  /** Jumped to from the kernel's filter FORWARD, INPUT and OUTPUT chains and nat POSTROUTING. */
  forward: 'mgy-FORWARD',
  input: 'mgy-INPUT',
  output: 'mgy-OUTPUT',
  postrouting: 'mgy-POSTROUTING',
  fromWorkloadDispatch: 'mgy-from-wl-dispatch',
  toWorkloadDispatch: 'mgy-to-wl-dispatch',
  natOutgoing: 'mgy-nat-outgoing',
} as const;

/** Traffic from a workload (its egress policy): `mgy-fw-<veth>`. */
export function fromWorkloadChain(iface: string): string {
  return `mgy-fw-${iface}`;
}

/** Traffic to a workload (its ingress policy): `mgy-tw-<veth>`. */
export function toWorkloadChain(iface: string): string {
  return `mgy-tw-${iface}`;
}

/** Every IPPool CIDR of a family. */
export function allPoolsIpset(family: IpFamily): string {
  return `mgy${family}-all-pools`;
}

/** The CIDRs of pools with natOutgoing. */
export function masqPoolsIpset(family: IpFamily): string {
  return `mgy${family}-masq-pools`;
}

/** Wildcard matching every workload veth (`-i mgy+`). */
export const WORKLOAD_IFACE_WILDCARD = 'mgy+';

/**
 * Packet mark bit a policy chain sets when it allows a packet (the endpoint chain then returns).
 * The policy issue's rendered chains use it; nothing else in Margay may use this bit.
 */
export const ACCEPT_MARK = '0x10000';
