/**
 * CNI results per spec version, pure. One attachment (host veth, pod interface, addresses, routes)
 * renders as a 1.0.0/1.1.0 result, or as 0.3.x/0.4.0 (where `ips[].version` is required). When
 * margay runs after another plugin in a chain, the previous result's interfaces, addresses and
 * routes come first and the indexes of Margay's own addresses are shifted past them.
 */
import { CNI_ERROR, CniError, compareVersions } from './protocol.js';

export interface AttachmentInterface {
  readonly name: string;
  readonly mac: string;
  readonly mtu?: number;
  /** The netns path for the pod-side interface; absent for the host side. */
  readonly sandbox?: string;
}

export interface Attachment {
  readonly host: AttachmentInterface;
  readonly pod: AttachmentInterface;
  /** Pod addresses as CIDRs (/32, /128). */
  readonly addresses: readonly string[];
  /** Routes in the pod, as the result lists them (`gw` absent: on-link). */
  readonly routes: readonly { readonly dst: string; readonly gw?: string }[];
  readonly dns?: Readonly<Record<string, unknown>>;
}

export interface CniResult {
  readonly cniVersion: string;
  readonly interfaces: readonly Record<string, unknown>[];
  readonly ips: readonly Record<string, unknown>[];
  readonly routes: readonly Record<string, unknown>[];
  readonly dns: Readonly<Record<string, unknown>>;
}

const isV6 = (cidr: string): boolean => cidr.includes(':');

function list(v: unknown): Record<string, unknown>[] {
  return Array.isArray(v) ? v.filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null) : [];
}

/** The gateway the pod uses: 169.254.1.1 / fe80::ecee:eeff:feee:eeee (the host veth's link-local). */
export const POD_GATEWAY = { 4: '169.254.1.1', 6: 'fe80::ecee:eeff:feee:eeee' } as const;

export function renderResult(cniVersion: string, a: Attachment, prev?: Readonly<Record<string, unknown>>): CniResult {
  const legacy = compareVersions(cniVersion, '1.0.0') < 0;
  const prevIfs = list(prev?.interfaces);
  const iface = (i: AttachmentInterface): Record<string, unknown> => ({
    name: i.name,
    mac: i.mac,
    ...(i.mtu !== undefined && !legacy ? { mtu: i.mtu } : {}),
    ...(i.sandbox !== undefined ? { sandbox: i.sandbox } : {}),
  });
  const podIndex = prevIfs.length + 1;
  const ips = a.addresses.map((cidr) => ({
    ...(legacy ? { version: isV6(cidr) ? '6' : '4' } : {}),
    address: cidr,
    gateway: isV6(cidr) ? POD_GATEWAY[6] : POD_GATEWAY[4],
    interface: podIndex,
  }));
  const prevDns = prev?.dns;
  return {
    cniVersion,
    interfaces: [...prevIfs, iface(a.host), iface(a.pod)],
    ips: [...list(prev?.ips), ...ips],
    routes: [
      ...list(prev?.routes),
      ...a.routes.map((r) => ({ dst: r.dst, ...(r.gw !== undefined ? { gw: r.gw } : {}) })),
    ],
    dns: typeof prevDns === 'object' && prevDns !== null ? (prevDns as Record<string, unknown>) : (a.dns ?? {}),
  };
}

/** Addresses of an IPAM plugin's result (`ips[].address`), validated. */
export function ipamAddresses(result: unknown): string[] {
  const ips = list((result as Record<string, unknown> | null)?.ips);
  const out: string[] = [];
  for (const ip of ips) {
    const addr = ip.address;
    if (typeof addr !== 'string' || !/^[0-9a-fA-F.:]+\/\d{1,3}$/.test(addr))
      throw new CniError(
        CNI_ERROR.decodeFailure,
        'IPAM result is not usable',
        `invalid address ${JSON.stringify(addr)}`,
      );
    out.push(addr);
  }
  if (out.length === 0) throw new CniError(CNI_ERROR.decodeFailure, 'IPAM result is not usable', 'no addresses');
  return out;
}
