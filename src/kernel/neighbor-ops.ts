import { InvariantError, KernelOpError } from '../errors.js';
import type { Logger } from '../log.js';
import type { CommandRunner } from './command-runner.js';
import { KernelBatchError, parseIpBatchFailures } from './errors.js';
import { validateIfName } from './link-ops.js';
import { isOwnedInterface } from './ownership.js';

export interface KernelNeighbor {
  readonly dst: string;
  readonly dev: string;
  readonly lladdr?: string;
  /** NUD states as ip prints them (`PERMANENT`, `REACHABLE`, `STALE`, ...); empty for proxy entries. */
  readonly state: readonly string[];
  /** A proxy (ARP/NDP) entry: the kernel answers for `dst` on `dev`. */
  readonly proxy: boolean;
}

export interface NeighborEntry {
  readonly dst: string;
  readonly dev: string;
  readonly lladdr: string;
}

/**
 * Neighbour (ARP/NDP) entries and proxy entries (`ip [-n NS] neigh`). Writes are permanent
 * (`nud permanent`) and, unless constructed with `touchForeign: true`, only allowed on devices with
 * Margay's interface prefix.
 */
export interface NeighborOps {
  list(filter?: { readonly dev?: string; readonly proxy?: boolean }): Promise<KernelNeighbor[]>;
  replace(entry: NeighborEntry): Promise<void>;
  replaceProxy(entry: { readonly dst: string; readonly dev: string }): Promise<void>;
  /** Idempotent: a missing entry is not an error. */
  delete(entry: { readonly dst: string; readonly dev: string; readonly proxy?: boolean }): Promise<void>;
  /**
   * Permanent entries replaced and entries deleted in one `ip -force -batch -`: every line is tried;
   * a KernelBatchError names the lines the kernel refused (a delete of a missing entry is not one).
   */
  apply(changes: {
    readonly replace?: readonly NeighborEntry[];
    readonly remove?: readonly { readonly dst: string; readonly dev: string }[];
  }): Promise<void>;
}

const ADDR = /^[0-9a-fA-F.:]+$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

function check(v: string, re: RegExp, what: string): string {
  if (!re.test(v)) throw new InvariantError(`neighbour ${what} ${JSON.stringify(v)} is not valid`);
  return v;
}

interface RawNeigh {
  dst?: string;
  dev?: string;
  lladdr?: string;
  state?: string[];
  proxy?: null;
}

/** Parses `ip -j neigh show [proxy] [dev D]` (ip leaves out `dev` when it filtered on it: pass it). */
export function parseNeighbors(json: string, filteredDev?: string): KernelNeighbor[] {
  const text = json.trim();
  if (text === '') return [];
  return (JSON.parse(text) as RawNeigh[])
    .map((n) => ({ ...n, dev: n.dev ?? filteredDev }))
    .filter((n) => n.dst !== undefined && n.dev !== undefined)
    .map((n) => ({
      dst: n.dst!,
      dev: n.dev!,
      ...(n.lladdr === undefined ? {} : { lladdr: n.lladdr }),
      state: n.state ?? [],
      proxy: 'proxy' in n,
    }));
}

export class IpNeighborOps implements NeighborOps {
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

  async list(filter: { readonly dev?: string; readonly proxy?: boolean } = {}): Promise<KernelNeighbor[]> {
    const dev = filter.dev === undefined ? [] : ['dev', validateIfName(filter.dev)];
    const out: KernelNeighbor[] = [];
    if (filter.proxy !== true) {
      out.push(
        ...parseNeighbors((await this.runner.run([...this.#ip, '-j', 'neigh', 'show', ...dev])).stdout, filter.dev),
      );
    }
    if (filter.proxy !== false) {
      out.push(
        ...parseNeighbors(
          (await this.runner.run([...this.#ip, '-j', 'neigh', 'show', 'proxy', ...dev])).stdout,
          filter.dev,
        ),
      );
    }
    return out;
  }

  async replace(e: NeighborEntry): Promise<void> {
    this.#guard(e.dev);
    await this.runner.run([
      ...this.#ip,
      'neigh',
      'replace',
      check(e.dst, ADDR, 'address'),
      'lladdr',
      check(e.lladdr, MAC, 'MAC'),
      'dev',
      validateIfName(e.dev),
      'nud',
      'permanent',
    ]);
  }

  async replaceProxy(e: { readonly dst: string; readonly dev: string }): Promise<void> {
    this.#guard(e.dev);
    await this.runner.run([
      ...this.#ip,
      'neigh',
      'replace',
      'proxy',
      check(e.dst, ADDR, 'address'),
      'dev',
      validateIfName(e.dev),
    ]);
  }

  async delete(e: { readonly dst: string; readonly dev: string; readonly proxy?: boolean }): Promise<void> {
    this.#guard(e.dev);
    const argv = [
      ...this.#ip,
      'neigh',
      'del',
      ...(e.proxy ? ['proxy'] : []),
      check(e.dst, ADDR, 'address'),
      'dev',
      validateIfName(e.dev),
    ];
    const r = await this.runner.run(argv, { allowFailure: true });
    if (r.exitCode !== 0 && !/No such file or directory|Cannot find device/.test(r.stderr)) {
      throw new KernelOpError(r.argv, r.exitCode, r.stderr);
    }
    if (this.log.isLevelEnabled('debug'))
      this.log.debug({ dst: e.dst, dev: e.dev, exitCode: r.exitCode }, 'neighbour deleted');
  }

  async apply(changes: {
    readonly replace?: readonly NeighborEntry[];
    readonly remove?: readonly { readonly dst: string; readonly dev: string }[];
  }): Promise<void> {
    const lines: string[] = [];
    for (const e of changes.remove ?? []) {
      this.#guard(e.dev);
      lines.push(`neigh del ${check(e.dst, ADDR, 'address')} dev ${validateIfName(e.dev)}`);
    }
    for (const e of changes.replace ?? []) {
      this.#guard(e.dev);
      lines.push(
        `neigh replace ${check(e.dst, ADDR, 'address')} lladdr ${check(e.lladdr, MAC, 'MAC')} dev ${validateIfName(e.dev)} nud permanent`,
      );
    }
    if (lines.length === 0) return;
    const input = lines.map((l) => `${l}\n`).join('');
    const r = await this.runner.run([...this.#ip, '-force', '-batch', '-'], { stdin: input, allowFailure: true });
    if (r.exitCode === 0) return;
    const failures = parseIpBatchFailures(r.stderr, input).filter(
      (f) => !(f.text.startsWith('neigh del') && /No such file or directory|Cannot find device/.test(f.reason)),
    );
    if (failures.length > 0 || parseIpBatchFailures(r.stderr, input).length === 0) {
      throw new KernelBatchError(r.argv, r.exitCode, r.stderr, failures);
    }
  }

  #guard(dev: string): void {
    if (!this.#touchForeign && !isOwnedInterface(dev)) {
      throw new InvariantError(`neighbour on ${JSON.stringify(dev)}: not a Margay interface and touchForeign is off`);
    }
  }
}
