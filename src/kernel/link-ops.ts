import { InvariantError, KernelOpError } from '../errors.js';
import type { Logger } from '../log.js';
import type { CommandRunner } from './command-runner.js';
import { KernelBatchError, parseIpBatchFailures } from './errors.js';
import { isOwnedInterface, OWNERSHIP } from './ownership.js';

export interface KernelLink {
  readonly name: string;
  readonly index: number;
  readonly mtu: number;
  readonly mac: string;
  /** Administratively up (`ip link set X up`). */
  readonly up: boolean;
  readonly operState: string;
  /** `veth`, `bridge`, ... from `ip -d`; absent for plain devices such as lo. */
  readonly kind?: string;
  readonly master?: string;
  /** Addresses as CIDRs; IPv6 link-local (fe80::/10) addresses the kernel makes are left out. */
  readonly addresses: readonly string[];
}

export interface VethSpec {
  readonly name: string;
  readonly peerName: string;
  /** Create the peer directly in this namespace. */
  readonly peerNetns?: string;
  readonly mtu?: number;
  readonly mac?: string;
  readonly peerMac?: string;
}

export interface LinkChanges {
  readonly up?: boolean;
  readonly mtu?: number;
  readonly mac?: string;
  /** Enslave to a bridge; `null` releases. */
  readonly master?: string | null;
  /** Move into this named network namespace (combined with `name`, renames it there). */
  readonly netns?: string;
  readonly name?: string;
}

/**
 * Links and addresses in one network namespace (`ip [-n NS] link|addr`). Unless constructed with
 * `touchForeign: true` (pod namespaces, the lab), every write is refused for a link whose name lacks
 * Margay's interface prefix, so the agent can never delete or reconfigure the host's own devices.
 */
export interface LinkOps {
  list(): Promise<KernelLink[]>;
  get(name: string): Promise<KernelLink | undefined>;
  addVeth(spec: VethSpec): Promise<void>;
  addBridge(name: string): Promise<void>;
  delete(name: string): Promise<void>;
  set(name: string, changes: LinkChanges): Promise<void>;
  addAddress(name: string, cidr: string): Promise<void>;
  removeAddress(name: string, cidr: string): Promise<void>;
}

const IFNAME = /^[A-Za-z0-9_.@:-]{1,15}$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
const CIDR = /^[0-9a-fA-F.:]+\/\d{1,3}$/;

export function validateIfName(name: string): string {
  if (!IFNAME.test(name) || name === '.' || name === '..') {
    throw new InvariantError(`interface name ${JSON.stringify(name)} is not valid (1-15 chars of [A-Za-z0-9_.@:-])`);
  }
  return name;
}

function check(v: string, re: RegExp, what: string): string {
  if (!re.test(v)) throw new InvariantError(`${what} ${JSON.stringify(v)} is not valid`);
  return v;
}

interface RawAddr {
  family?: string;
  local?: string;
  prefixlen?: number;
  scope?: string;
}
interface RawLink {
  ifname: string;
  ifindex: number;
  mtu: number;
  address?: string;
  flags?: string[];
  operstate?: string;
  master?: string;
  linkinfo?: { info_kind?: string };
  addr_info?: RawAddr[];
}

/** Parses `ip -d -j addr show` (links with their addresses). */
export function parseLinks(json: string): KernelLink[] {
  const text = json.trim();
  if (text === '') return [];
  const raw = JSON.parse(text) as RawLink[];
  return raw.map((l) => ({
    name: l.ifname,
    index: l.ifindex,
    mtu: l.mtu,
    mac: l.address ?? '',
    up: (l.flags ?? []).includes('UP'),
    operState: l.operstate ?? 'UNKNOWN',
    ...(l.linkinfo?.info_kind === undefined ? {} : { kind: l.linkinfo.info_kind }),
    ...(l.master === undefined ? {} : { master: l.master }),
    addresses: (l.addr_info ?? [])
      .filter((a) => a.local !== undefined && !(a.family === 'inet6' && a.scope === 'link'))
      .map((a) => `${a.local}/${a.prefixlen}`),
  }));
}

/** Arguments after `ip link set dev NAME`. */
export function renderLinkChanges(c: LinkChanges): string[] {
  const a: string[] = [];
  if (c.up !== undefined) a.push(c.up ? 'up' : 'down');
  if (c.mtu !== undefined) a.push('mtu', String(Math.trunc(c.mtu)));
  if (c.mac !== undefined) a.push('address', check(c.mac, MAC, 'MAC'));
  if (c.master === null) a.push('nomaster');
  else if (c.master !== undefined) a.push('master', validateIfName(c.master));
  if (c.netns !== undefined) a.push('netns', check(c.netns, /^[A-Za-z0-9_.-]{1,64}$/, 'netns'));
  if (c.name !== undefined) a.push('name', validateIfName(c.name));
  return a;
}

export class IpLinkOps implements LinkOps {
  readonly #ip: readonly string[];
  readonly #touchForeign: boolean;

  constructor(
    private readonly runner: CommandRunner,
    private readonly log: Logger,
    opts: { readonly netns?: string; readonly touchForeign?: boolean } = {},
  ) {
    this.#ip = opts.netns === undefined ? ['ip'] : ['ip', '-n', opts.netns];
    this.#touchForeign = opts.touchForeign ?? false;
  }

  async list(): Promise<KernelLink[]> {
    return parseLinks((await this.runner.run([...this.#ip, '-d', '-j', 'addr', 'show'])).stdout);
  }

  async get(name: string): Promise<KernelLink | undefined> {
    const r = await this.runner.run([...this.#ip, '-d', '-j', 'addr', 'show', 'dev', validateIfName(name)], {
      allowFailure: true,
    });
    if (r.exitCode !== 0 && /does not exist/.test(r.stderr)) return undefined;
    if (r.exitCode !== 0) throw new KernelOpError(r.argv, r.exitCode, r.stderr);
    return parseLinks(r.stdout)[0];
  }

  async addVeth(spec: VethSpec): Promise<void> {
    this.#guard(spec.name, 'add veth');
    if (spec.peerNetns === undefined) this.#guard(spec.peerName, 'add veth peer');
    const a = [...this.#ip, 'link', 'add', validateIfName(spec.name)];
    if (spec.mtu !== undefined) a.push('mtu', String(spec.mtu));
    if (spec.mac !== undefined) a.push('address', check(spec.mac, MAC, 'MAC'));
    a.push('type', 'veth', 'peer', 'name', validateIfName(spec.peerName));
    if (spec.mtu !== undefined) a.push('mtu', String(spec.mtu));
    if (spec.peerMac !== undefined) a.push('address', check(spec.peerMac, MAC, 'MAC'));
    if (spec.peerNetns !== undefined) a.push('netns', spec.peerNetns);
    await this.runner.run(a);
    this.log.debug({ link: spec.name, peer: spec.peerName, peerNetns: spec.peerNetns }, 'veth added');
  }

  async addBridge(name: string): Promise<void> {
    this.#guard(name, 'add bridge');
    await this.runner.run([...this.#ip, 'link', 'add', validateIfName(name), 'type', 'bridge']);
  }

  async delete(name: string): Promise<void> {
    this.#guard(name, 'delete');
    const r = await this.runner.run([...this.#ip, 'link', 'del', validateIfName(name)], { allowFailure: true });
    if (r.exitCode !== 0 && !/Cannot find device/.test(r.stderr)) throw new KernelOpError(r.argv, r.exitCode, r.stderr);
  }

  async set(name: string, changes: LinkChanges): Promise<void> {
    this.#guard(name, 'set');
    const args = renderLinkChanges(changes);
    if (args.length === 0) return;
    // As an `ip -batch` line: over a CoprocessCommandRunner it goes to the persistent co-process.
    const input = `${['link', 'set', 'dev', validateIfName(name), ...args].join(' ')}\n`;
    const r = await this.runner.run([...this.#ip, '-force', '-batch', '-'], { stdin: input, allowFailure: true });
    if (r.exitCode !== 0)
      throw new KernelBatchError(r.argv, r.exitCode, r.stderr, parseIpBatchFailures(r.stderr, input));
  }

  async addAddress(name: string, cidr: string): Promise<void> {
    this.#guard(name, 'addr add');
    const a = [...this.#ip, 'addr', 'replace', check(cidr, CIDR, 'address'), 'dev', validateIfName(name)];
    if (cidr.includes(':')) a.push('nodad');
    await this.runner.run(a);
  }

  async removeAddress(name: string, cidr: string): Promise<void> {
    this.#guard(name, 'addr del');
    await this.runner.run([...this.#ip, 'addr', 'del', check(cidr, CIDR, 'address'), 'dev', validateIfName(name)]);
  }

  #guard(name: string, op: string): void {
    if (!this.#touchForeign && !isOwnedInterface(name)) {
      throw new InvariantError(
        `link ${op} ${JSON.stringify(name)}: not a Margay interface (prefix ${JSON.stringify(OWNERSHIP.interfacePrefix)}) and touchForeign is off`,
      );
    }
  }
}
