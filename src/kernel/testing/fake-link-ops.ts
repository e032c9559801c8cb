import { InvariantError, KernelOpError, type MargayError } from '../../errors.js';
import type { KernelLink, LinkChanges, LinkOps, VethSpec } from '../link-ops.js';
import { validateIfName } from '../link-ops.js';
import { isOwnedInterface } from '../ownership.js';
import { FailureInjector } from './failure-injector.js';

type MutableLink = { -readonly [K in keyof KernelLink]: KernelLink[K] };

/**
 * In-memory LinkOps for one namespace. Links moved to another namespace (`set({netns})`) or created
 * there (veth peers) are recorded in `elsewhere` so tests can assert on them. Applies the same
 * ownership guard as IpLinkOps.
 */
export class FakeLinkOps implements LinkOps {
  readonly links = new Map<string, MutableLink>();
  readonly elsewhere: { readonly netns: string; readonly name: string }[] = [];
  readonly faults = new FailureInjector();
  #nextIndex = 2;

  constructor(private readonly touchForeign = false) {
    this.links.set('lo', {
      name: 'lo',
      index: 1,
      mtu: 65536,
      mac: '00:00:00:00:00:00',
      up: true,
      operState: 'UNKNOWN',
      addresses: ['127.0.0.1/8', '::1/128'],
    });
  }

  get ops(): string[] {
    return this.faults.ops;
  }

  failNext(err: MargayError, match?: RegExp): void {
    this.faults.failNext(err, match);
  }

  async list(): Promise<KernelLink[]> {
    this.faults.record('list');
    return [...this.links.values()].map((l) => ({ ...l }));
  }

  async get(name: string): Promise<KernelLink | undefined> {
    this.faults.record(`get ${name}`);
    const l = this.links.get(name);
    return l === undefined ? undefined : { ...l };
  }

  async addVeth(spec: VethSpec): Promise<void> {
    this.faults.record(`addVeth ${spec.name} ${spec.peerName}${spec.peerNetns ? ` netns ${spec.peerNetns}` : ''}`);
    this.#guard(spec.name);
    this.#create(spec.name, 'veth', spec.mtu, spec.mac);
    if (spec.peerNetns === undefined) this.#create(spec.peerName, 'veth', spec.mtu, spec.peerMac);
    else this.elsewhere.push({ netns: spec.peerNetns, name: spec.peerName });
  }

  async addBridge(name: string): Promise<void> {
    this.faults.record(`addBridge ${name}`);
    this.#guard(name);
    this.#create(name, 'bridge');
  }

  async delete(name: string): Promise<void> {
    this.faults.record(`delete ${name}`);
    this.#guard(name);
    this.links.delete(name);
  }

  async set(name: string, c: LinkChanges): Promise<void> {
    this.faults.record(`set ${name} ${JSON.stringify(c)}`);
    this.#guard(name);
    const l = this.#must(name);
    if (c.up !== undefined) {
      l.up = c.up;
      l.operState = c.up ? 'UP' : 'DOWN';
    }
    if (c.mtu !== undefined) l.mtu = c.mtu;
    if (c.mac !== undefined) l.mac = c.mac;
    if (c.master === null) delete l.master;
    else if (c.master !== undefined) l.master = c.master;
    const newName = c.name === undefined ? name : validateIfName(c.name);
    this.links.delete(name);
    if (c.netns !== undefined) this.elsewhere.push({ netns: c.netns, name: newName });
    else this.links.set(newName, { ...l, name: newName });
  }

  async addAddress(name: string, cidr: string): Promise<void> {
    this.faults.record(`addAddress ${name} ${cidr}`);
    this.#guard(name);
    const l = this.#must(name);
    if (!l.addresses.includes(cidr)) l.addresses = [...l.addresses, cidr];
  }

  async removeAddress(name: string, cidr: string): Promise<void> {
    this.faults.record(`removeAddress ${name} ${cidr}`);
    this.#guard(name);
    const l = this.#must(name);
    if (!l.addresses.includes(cidr))
      throw new KernelOpError(
        ['ip', 'addr', 'del', cidr, 'dev', name],
        2,
        'RTNETLINK answers: Cannot assign requested address',
      );
    l.addresses = l.addresses.filter((a) => a !== cidr);
  }

  #create(name: string, kind: string, mtu = 1500, mac?: string): void {
    if (this.links.has(validateIfName(name)))
      throw new KernelOpError(['ip', 'link', 'add', name], 2, 'RTNETLINK answers: File exists');
    const index = this.#nextIndex++;
    const m =
      mac ?? `02:00:00:00:${(index >> 8).toString(16).padStart(2, '0')}:${(index & 255).toString(16).padStart(2, '0')}`;
    this.links.set(name, { name, index, mtu, mac: m, up: false, operState: 'DOWN', kind, addresses: [] });
  }

  #must(name: string): MutableLink {
    const l = this.links.get(name);
    if (l === undefined) throw new KernelOpError(['ip', 'link', 'set', name], 1, `Cannot find device "${name}"`);
    return l;
  }

  #guard(name: string): void {
    if (!this.touchForeign && !isOwnedInterface(name))
      throw new InvariantError(`link ${JSON.stringify(name)}: not a Margay interface`);
  }
}
