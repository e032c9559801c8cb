import { InvariantError, KernelOpError } from '../errors.js';
import type { Logger } from '../log.js';
import type { CommandRunner } from './command-runner.js';
import { KernelBatchError, parseIpBatchFailures, type BatchLineFailure } from './errors.js';
import { isOwnedRouteProtocol, OWNED_ROUTE_PROTOCOLS } from './ownership.js';
import {
  familyOf, parseRoutes, renderRouteArgs, renderRouteDeleteArgs, routeKeyString,
  type IpFamily, type KernelRoute, type RouteKey,
} from './route-format.js';

export interface RouteFilter {
  readonly family?: IpFamily;
  /** A table number; all tables when absent. */
  readonly table?: number;
  /** A subset of Margay's protocol numbers; all of them when absent. */
  readonly protos?: readonly number[];
}

export interface RouteChanges {
  readonly replace?: readonly KernelRoute[];
  readonly remove?: readonly RouteKey[];
}

/**
 * Routes Margay owns, recognised by protocol number (src/kernel/ownership.ts). `list` never returns
 * and `remove` never deletes a route with another protocol (the kernel matches `proto` on delete),
 * and `apply` refuses a replace that would overwrite another protocol's route with the same
 * table, destination and metric. `apply` writes everything in one `ip -force -batch -`; a
 * KernelBatchError names each line the kernel refused, and every other line is applied.
 */
export interface RouteTable {
  list(filter?: RouteFilter): Promise<KernelRoute[]>;
  replace(route: KernelRoute): Promise<void>;
  remove(key: RouteKey): Promise<void>;
  apply(changes: RouteChanges): Promise<void>;
}

export function assertOwnedProto(proto: number, what: string): void {
  if (!isOwnedRouteProtocol(proto)) {
    throw new InvariantError(`${what}: proto ${proto} is not one of Margay's (${OWNED_ROUTE_PROTOCOLS.join(', ')})`);
  }
}

/** `ip route` through a CommandRunner, optionally in another network namespace (`ip -n NS`). */
export class IpRouteTable implements RouteTable {
  readonly #ip: readonly string[];

  constructor(
    private readonly runner: CommandRunner,
    private readonly log: Logger,
    readonly netns?: string,
  ) {
    this.#ip = netns === undefined ? ['ip'] : ['ip', '-n', netns];
  }

  async list(filter: RouteFilter = {}): Promise<KernelRoute[]> {
    const protos = filter.protos ?? OWNED_ROUTE_PROTOCOLS;
    for (const p of protos) assertOwnedProto(p, 'route list');
    // One `ip route show ... proto P` per protocol and family: the kernel filters, so a node that
    // also carries a full BGP table from another daemon does not have to parse all of it.
    const out: KernelRoute[] = [];
    for (const p of protos) out.push(...(await this.#listAll(filter.family, filter.table, p)));
    return out;
  }

  async replace(route: KernelRoute): Promise<void> {
    await this.apply({ replace: [route] });
  }

  async remove(key: RouteKey): Promise<void> {
    await this.apply({ remove: [key] });
  }

  async apply(changes: RouteChanges): Promise<void> {
    const removes = changes.remove ?? [];
    const replaces = changes.replace ?? [];
    for (const k of removes) assertOwnedProto(k.proto, `route del ${k.dst}`);
    for (const r of replaces) assertOwnedProto(r.proto, `route replace ${r.dst}`);
    if (removes.length + replaces.length === 0) return;

    const refused: BatchLineFailure[] = [];
    const lines = removes.map((k) => `route del ${renderRouteDeleteArgs(k).join(' ')}`);
    const foreign = replaces.length > 0 ? await this.#foreignKeys(replaces) : new Map<string, number>();
    for (const r of replaces) {
      const line = `route replace ${renderRouteArgs(r).join(' ')}`;
      const owner = foreign.get(routeKeyString(r));
      if (owner === undefined) lines.push(line);
      else refused.push({ line: 0, text: line, reason: `would overwrite a route with proto ${owner}, which Margay does not own` });
    }
    const input = lines.map((l) => `${l}\n`).join('');
    const argv = [...this.#ip, '-force', '-batch', '-'];
    const r = lines.length === 0 ? undefined : await this.runner.run(argv, { stdin: input, allowFailure: true });
    const failed = r === undefined || r.exitCode === 0 ? [] : parseIpBatchFailures(r.stderr, input);
    // Deleting a route that is already gone is what we wanted.
    const real = failed.filter((f) => !(f.text.startsWith('route del ') && /No such process/.test(f.reason)));
    if (r !== undefined && r.exitCode !== 0 && failed.length === 0) {
      throw new KernelBatchError(r.argv, r.exitCode, r.stderr, []);
    }
    const all = [...real, ...refused];
    if (all.length > 0) {
      this.log.warn({ failures: all.length, lines: lines.length }, 'route batch partly failed');
      throw new KernelBatchError(r?.argv ?? argv, r?.exitCode ?? null, r?.stderr ?? '', all);
    }
    if (this.log.isLevelEnabled('debug')) this.log.debug({ replaced: replaces.length, removed: removes.length }, 'routes applied');
  }

  async #listAll(family: IpFamily | undefined, table: number | undefined, proto?: number): Promise<KernelRoute[]> {
    const families: IpFamily[] = family === undefined ? [4, 6] : [family];
    const out: KernelRoute[] = [];
    for (const f of families) {
      const argv = [...this.#ip, '-N', '-j', `-${f}`, 'route', 'show', 'table', table === undefined ? 'all' : String(table)];
      if (proto !== undefined) argv.push('proto', String(proto));
      const r = await this.runner.run(argv, { allowFailure: true });
      // A table that holds no route of this family does not exist yet: it is empty, not an error.
      if (r.exitCode !== 0 && /FIB table does not exist/.test(r.stderr)) continue;
      if (r.exitCode !== 0) throw new KernelOpError(r.argv, r.exitCode, r.stderr);
      // With a proto filter ip leaves the protocol out of its output; parseRoutes fills it in.
      out.push(...parseRoutes(r.stdout, f, proto));
    }
    return out;
  }

  /** Keys of routes of other protocols that a replace of one of `routes` would overwrite. */
  async #foreignKeys(routes: readonly KernelRoute[]): Promise<Map<string, number>> {
    const families = [...new Set(routes.map((r) => familyOf(r.dst)))];
    const tables = [...new Set(routes.map((r) => r.table))];
    const keys = new Map<string, number>();
    for (const f of families) {
      const existing = await this.#listAll(f, tables.length === 1 ? tables[0] : undefined);
      for (const e of existing) if (!isOwnedRouteProtocol(e.proto)) keys.set(routeKeyString(e), e.proto);
    }
    return keys;
  }
}
