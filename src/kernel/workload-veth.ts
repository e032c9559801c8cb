import { InvariantError, KernelOpError } from '../errors.js';
import type { Logger } from '../log.js';
import type { CommandRunner } from './command-runner.js';
import { validateIfName } from './link-ops.js';
import { isOwnedInterface, OWNERSHIP } from './ownership.js';

/**
 * A pod's veth pair, both ends, in as few process starts as the kernel allows (the CNI ADD path is
 * timed): one `ip -batch` in the agent's namespace creates the pair with the peer directly in the
 * pod's namespace (by path, as CNI_NETNS gives it) and sets up the host side; one
 * `nsenter --net=PATH ip -batch` configures the pod side. The host end carries an alias
 * `margay:<owner>` so a later DEL deletes only the veth its own container made (a pod re-created
 * under the same name gets the same host name before the old one's DEL arrives).
 */
export interface WorkloadVethSpec {
  /** Host side: `mgy` + hash (OWNERSHIP.interfacePrefix). */
  readonly hostIf: string;
  /** Pod side (CNI_IFNAME). */
  readonly podIf: string;
  /** The pod's network namespace as a path (/proc/PID/ns/net, /run/netns/NAME, ...). */
  readonly netnsPath: string;
  readonly mtu: number;
  readonly hostMac: string;
  readonly podMac: string;
  /** Written as the host end's alias `margay:<owner>`. */
  readonly owner: string;
  /** Pod addresses, /32 and /128. */
  readonly addresses: readonly string[];
  /** Gateways the pod routes through: on-link, default route via each. */
  readonly gateways: { readonly 4: string; readonly 6: string };
  /** Protocol number of the host's /32 and /128 routes to the pod. */
  readonly routeProto: number;
}

export interface PodInterfaceState {
  readonly exists: boolean;
  readonly up: boolean;
  readonly mac?: string;
  readonly addresses: readonly string[];
  /** Gateways of the pod's default routes. */
  readonly defaultVia: readonly string[];
}

export interface WorkloadVethOps {
  /** Veth pair, host end up with proxy-ready link-local, the host routes and static neighbours to the pod. */
  createHostSide(spec: WorkloadVethSpec): Promise<void>;
  /** Pod end: addresses, up, on-link gateway routes and default routes. */
  configurePodSide(spec: WorkloadVethSpec): Promise<void>;
  /** The owner written on the host end; `undefined` when there is no such link, `null` when it has no Margay alias. */
  ownerOf(hostIf: string): Promise<string | null | undefined>;
  /** Deletes the host end (the pod end, routes and neighbours go with it). Idempotent. */
  remove(hostIf: string): Promise<void>;
  inspectPod(netnsPath: string, podIf: string): Promise<PodInterfaceState>;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
const HOST_CIDR = /^[0-9a-fA-F.:]+\/(32|128)$/;
const ADDR = /^[0-9a-fA-F.:]+$/;
const OWNER = /^[A-Za-z0-9_.-]{1,200}$/;
const ALIAS_PREFIX = 'margay:';

function checked(spec: WorkloadVethSpec): WorkloadVethSpec {
  validateIfName(spec.hostIf);
  validateIfName(spec.podIf);
  if (!isOwnedInterface(spec.hostIf))
    throw new InvariantError(`host veth ${spec.hostIf} lacks the ${OWNERSHIP.interfacePrefix} prefix`);
  if (!spec.netnsPath.startsWith('/') || /[\s\0]/.test(spec.netnsPath))
    throw new InvariantError(`netns path ${JSON.stringify(spec.netnsPath)} is not valid`);
  if (!MAC.test(spec.hostMac) || !MAC.test(spec.podMac)) throw new InvariantError('veth MACs are not valid');
  if (!OWNER.test(spec.owner)) throw new InvariantError(`veth owner ${JSON.stringify(spec.owner)} is not valid`);
  if (!Number.isInteger(spec.mtu) || spec.mtu < 68 || spec.mtu > 65_535)
    throw new InvariantError(`MTU ${spec.mtu} is not valid`);
  for (const a of spec.addresses)
    if (!HOST_CIDR.test(a)) throw new InvariantError(`pod address ${JSON.stringify(a)} is not a /32 or /128`);
  if (!ADDR.test(spec.gateways[4]) || !ADDR.test(spec.gateways[6])) throw new InvariantError('gateways are not valid');
  return spec;
}

const addrOf = (cidr: string): string => cidr.slice(0, cidr.indexOf('/'));

/** `ip -batch` lines for the host side (exported for unit tests). */
export function hostSideBatch(s: WorkloadVethSpec): string[] {
  const v6 = s.addresses.some((a) => a.includes(':'));
  const lines = [
    `link add ${s.hostIf} mtu ${s.mtu} address ${s.hostMac} type veth peer name ${s.podIf} mtu ${s.mtu} address ${s.podMac} netns ${s.netnsPath}`,
    `link set ${s.hostIf} alias ${ALIAS_PREFIX}${s.owner}`,
  ];
  // IPv6: the pod's gateway is the host end's link-local; set it without DAD so it answers at once.
  if (v6) lines.push(`link set ${s.hostIf} addrgenmode none`, `addr add ${s.gateways[6]}/64 dev ${s.hostIf} nodad`);
  lines.push(`link set ${s.hostIf} up`);
  for (const a of s.addresses) {
    lines.push(`route replace ${a} dev ${s.hostIf} proto ${s.routeProto} scope link`);
    lines.push(`neigh replace ${addrOf(a)} lladdr ${s.podMac} dev ${s.hostIf} nud permanent`);
  }
  return lines;
}

/** `ip -batch` lines for the pod side. */
export function podSideBatch(s: WorkloadVethSpec): string[] {
  const lines: string[] = [];
  for (const a of s.addresses) lines.push(`addr add ${a} dev ${s.podIf}${a.includes(':') ? ' nodad' : ''}`);
  lines.push(`link set ${s.podIf} up`);
  if (s.addresses.some((a) => !a.includes(':'))) {
    lines.push(
      `route add ${s.gateways[4]} dev ${s.podIf} scope link`,
      `route add default via ${s.gateways[4]} dev ${s.podIf}`,
    );
  }
  if (s.addresses.some((a) => a.includes(':'))) lines.push(`route add default via ${s.gateways[6]} dev ${s.podIf}`);
  return lines;
}

export class IpWorkloadVethOps implements WorkloadVethOps {
  constructor(
    private readonly runner: CommandRunner,
    private readonly log: Logger,
  ) {}

  async createHostSide(spec: WorkloadVethSpec): Promise<void> {
    const s = checked(spec);
    await this.runner.run(['ip', '-batch', '-'], { stdin: `${hostSideBatch(s).join('\n')}\n` });
    if (this.log.isLevelEnabled('debug'))
      this.log.debug({ hostIf: s.hostIf, netns: s.netnsPath }, 'workload veth created');
  }

  async configurePodSide(spec: WorkloadVethSpec): Promise<void> {
    const s = checked(spec);
    await this.runner.run(['nsenter', `--net=${s.netnsPath}`, 'ip', '-batch', '-'], {
      stdin: `${podSideBatch(s).join('\n')}\n`,
    });
  }

  async ownerOf(hostIf: string): Promise<string | null | undefined> {
    const r = await this.runner.run(['ip', '-j', 'link', 'show', 'dev', validateIfName(hostIf)], {
      allowFailure: true,
    });
    if (r.exitCode !== 0 && /does not exist|Cannot find device/.test(r.stderr)) return undefined;
    if (r.exitCode !== 0) throw new KernelOpError(r.argv, r.exitCode, r.stderr);
    const alias = (JSON.parse(r.stdout) as { ifalias?: string }[])[0]?.ifalias;
    return alias?.startsWith(ALIAS_PREFIX) ? alias.slice(ALIAS_PREFIX.length) : null;
  }

  async remove(hostIf: string): Promise<void> {
    if (!isOwnedInterface(hostIf)) throw new InvariantError(`refusing to delete ${hostIf}: not a Margay interface`);
    const r = await this.runner.run(['ip', 'link', 'del', validateIfName(hostIf)], { allowFailure: true });
    if (r.exitCode !== 0 && !/Cannot find device|does not exist/.test(r.stderr))
      throw new KernelOpError(r.argv, r.exitCode, r.stderr);
  }

  async inspectPod(netnsPath: string, podIf: string): Promise<PodInterfaceState> {
    const ns = ['nsenter', `--net=${netnsPath}`];
    const a = await this.runner.run([...ns, 'ip', '-j', 'addr', 'show', 'dev', validateIfName(podIf)], {
      allowFailure: true,
    });
    if (a.exitCode !== 0 && /does not exist|Cannot find device/.test(a.stderr))
      return { exists: false, up: false, addresses: [], defaultVia: [] };
    if (a.exitCode !== 0) throw new KernelOpError(a.argv, a.exitCode, a.stderr);
    const link = (
      JSON.parse(a.stdout) as {
        flags?: string[];
        address?: string;
        addr_info?: { local: string; prefixlen: number; scope?: string }[];
      }[]
    )[0];
    const via: string[] = [];
    for (const fam of ['-4', '-6']) {
      const r = await this.runner.run([...ns, 'ip', '-j', fam, 'route', 'show', 'default', 'dev', podIf]);
      for (const rt of JSON.parse(r.stdout || '[]') as { gateway?: string }[]) if (rt.gateway) via.push(rt.gateway);
    }
    return {
      exists: link !== undefined,
      up: (link?.flags ?? []).includes('UP'),
      ...(link?.address ? { mac: link.address } : {}),
      addresses: (link?.addr_info ?? []).filter((x) => x.scope !== 'link').map((x) => `${x.local}/${x.prefixlen}`),
      defaultVia: via,
    };
  }
}
