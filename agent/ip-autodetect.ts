/**
 * Finds this node's address for one family the way calico-node does (IP_AUTODETECTION_METHOD):
 * the choice is a pure function over the host's interface list (`chooseAddress`); the I/O around it
 * reads the interfaces, asks the kernel which source it would use toward a destination (a connected
 * UDP socket sends nothing), or reads the Node's InternalIP from the datastore.
 */
import { createSocket } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import type { IpAutodetection, IpSetting } from '../src/config/index.js';
import { MargayError } from '../src/errors.js';
import { cidrContains, parseCidr } from '../src/model/index.js';

export class IpAutodetectError extends MargayError {
  readonly code = 'MGY_IP_AUTODETECT';
}

export interface HostAddress {
  readonly iface: string;
  readonly address: string;
  readonly prefixLength: number;
  readonly family: 4 | 6;
}

export interface DetectedIp {
  readonly address: string;
  readonly prefixLength: number;
  readonly iface: string | undefined;
}

/** Interfaces first-found never picks (Calico's list plus Margay's own `mgy` prefix). */
export const FIRST_FOUND_EXCLUDE = [
  /^lo$/,
  /^docker/,
  /^cbr/,
  /^dummy/,
  /^virbr/,
  /^lxcbr/,
  /^veth/,
  /^cali/,
  /^tunl/,
  /^flannel/,
  /^kube-ipvs/,
  /^cni/,
  /^vxlan/,
  /^wireguard/,
  /^wg-/,
  /^mgy/,
];

function usable(a: HostAddress): boolean {
  if (a.family === 4) return !a.address.startsWith('127.') && !a.address.startsWith('169.254.');
  const lower = a.address.toLowerCase();
  return lower !== '::1' && !/^fe[89ab]/.test(lower);
}

function anchored(patterns: readonly string[]): RegExp[] {
  return patterns.map((p) => new RegExp(`^(?:${p})$`));
}

/** Pure choice for every method but can-reach and kubernetes-internal-ip. */
export function chooseAddress(
  addrs: readonly HostAddress[],
  family: 4 | 6,
  m: IpAutodetection,
): HostAddress | undefined {
  const cands = addrs.filter((a) => a.family === family && usable(a));
  switch (m.method) {
    case 'first-found':
      return cands.find((a) => !FIRST_FOUND_EXCLUDE.some((re) => re.test(a.iface)));
    case 'interface': {
      const res = anchored(m.patterns);
      return cands.find((a) => res.some((re) => re.test(a.iface)));
    }
    case 'skip-interface': {
      const res = anchored(m.patterns);
      return cands.find(
        (a) => !res.some((re) => re.test(a.iface)) && !FIRST_FOUND_EXCLUDE.some((re) => re.test(a.iface)),
      );
    }
    case 'cidr': {
      const nets = m.cidrs.map((c) => parseCidr(c)!);
      return cands.find((a) => {
        const host = parseCidr(a.address, { allowBareIp: true })!;
        return nets.some((n) => cidrContains(n, host));
      });
    }
    default:
      return undefined;
  }
}

export function hostAddresses(): HostAddress[] {
  const out: HostAddress[] = [];
  for (const [iface, list] of Object.entries(networkInterfaces())) {
    for (const a of list ?? []) {
      const prefixLength = Number(a.cidr?.split('/')[1] ?? (a.family === 'IPv4' ? 32 : 128));
      out.push({ iface, address: a.address, prefixLength, family: a.family === 'IPv4' ? 4 : 6 });
    }
  }
  return out;
}

/** The source address the kernel would use toward `destination` (connect() on UDP sends nothing). */
export async function sourceAddressToward(destination: string, family: 4 | 6): Promise<string> {
  const sock = createSocket(family === 4 ? 'udp4' : 'udp6');
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.connect(53, destination, () => resolve());
    });
    return sock.address().address;
  } finally {
    sock.close();
  }
}

/**
 * Resolves an IP setting to an address (undefined for `none`). `internalIp` supplies the Node's
 * InternalIP for kubernetes-internal-ip. Throws IpAutodetectError naming the method when nothing fits.
 */
export async function resolveNodeIp(
  setting: IpSetting,
  family: 4 | 6,
  deps: { readonly addresses?: () => HostAddress[]; readonly internalIp?: () => Promise<string | undefined> } = {},
): Promise<DetectedIp | undefined> {
  if ('none' in setting) return undefined;
  const addrs = (deps.addresses ?? hostAddresses)();
  const withLen = (address: string): DetectedIp => {
    const on = addrs.find((a) => a.address === address);
    return { address, prefixLength: on?.prefixLength ?? (family === 4 ? 32 : 128), iface: on?.iface };
  };
  if ('address' in setting) {
    const on = addrs.find((a) => a.address === setting.address);
    return {
      address: setting.address,
      prefixLength: setting.prefixLength ?? on?.prefixLength ?? (family === 4 ? 32 : 128),
      iface: on?.iface,
    };
  }
  const m = setting.autodetect;
  if (m.method === 'can-reach') {
    try {
      return withLen(await sourceAddressToward(m.destination, family));
    } catch (err) {
      throw new IpAutodetectError(
        `IPv${family} autodetection can-reach=${m.destination}: no route (${(err as Error).message})`,
        { cause: err },
      );
    }
  }
  if (m.method === 'kubernetes-internal-ip') {
    const ip = await deps.internalIp?.();
    if (ip === undefined)
      throw new IpAutodetectError(
        `IPv${family} autodetection kubernetes-internal-ip: the Node has no InternalIP address`,
      );
    return withLen(ip);
  }
  const a = chooseAddress(addrs, family, m);
  if (!a) {
    const seen =
      addrs
        .filter((x) => x.family === family)
        .map((x) => `${x.iface}:${x.address}`)
        .join(', ') || 'none';
    throw new IpAutodetectError(`IPv${family} autodetection ${m.method}: no interface address matches (saw ${seen})`);
  }
  return { address: a.address, prefixLength: a.prefixLength, iface: a.iface };
}
