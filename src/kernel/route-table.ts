import { InvariantError, KernelOpError } from '../errors.js';
import type { Logger } from '../log.js';
import type { CommandRunner } from './command-runner.js';
import type { RouteWriter } from './netlink.js';
import type { RouteOp } from './netlink-route.js';
import { KernelBatchError, parseIpBatchFailures, type BatchLineFailure } from './errors.js';
import { isOwnedRouteProtocol, OWNED_ROUTE_PROTOCOLS } from './ownership.js';
import {
  familyOf,
  parseRoutes,
  renderRouteArgs,
  renderRouteDeleteArgs,
  routeKeyString,
  type IpFamily,
  type KernelRoute,
  type RouteKey,
} from './route-format.js';

export interface RouteFilter {
  readonly family?: IpFamily;
  /** A table number; all tables when absent. */
  readonly table?: number;
  /** A subset of Margay's protocol numbers; all of them when absent. */
  readonly protos?: readonly number[];
  /**
   * Keep this read (it must be of every protocol and both families) for the next such list: when it
   * comes within 5 s and nothing was written through this table since, it is answered from here
   * instead of another `ip` process. The agent's start-up read (BGP routes of a previous run: a
   * graceful restart) and the dataplane's read before in-sync are the same query, one after the other.
   */
  readonly shareWithNext?: boolean;
}

const SHARED_LIST_MS = 5000;

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
  #shared: { readonly at: number; readonly routes: readonly KernelRoute[] } | undefined;

  /**
   * `writer`: route writes over rtnetlink (netlink.ts) instead of `ip -force -batch -`, through a
   * socket in the same namespace as `netns` (the caller makes it so). Reads stay with ip.
   */
  constructor(
    private readonly runner: CommandRunner,
    private readonly log: Logger,
    readonly netns?: string,
    private readonly writer?: RouteWriter,
  ) {
    this.#ip = netns === undefined ? ['ip'] : ['ip', '-n', netns];
  }

  async list(filter: RouteFilter = {}): Promise<KernelRoute[]> {
    const every = filter.protos === undefined && filter.family === undefined;
    const shared = this.#shared;
    this.#shared = undefined;
    if (every && shared !== undefined && Date.now() - shared.at <= SHARED_LIST_MS)
      return shared.routes.filter((r) => filter.table === undefined || r.table === filter.table);
    if (filter.shareWithNext) {
      if (!every || filter.table !== undefined)
        throw new InvariantError('route list: only a read of every protocol, family and table can be shared');
      const routes = await this.list({});
      this.#shared = { at: Date.now(), routes };
      return routes;
    }
    const protos = filter.protos ?? OWNED_ROUTE_PROTOCOLS;
    for (const p of protos) assertOwnedProto(p, 'route list');
    // One `ip route show ... proto P` per protocol and family: the kernel filters, so a node that
    // also carries a full BGP table from another daemon does not have to parse all of it. All of them
    // go to one `ip -batch` process (a first apply waits for this read; one process start, not six).
    const families: IpFamily[] = filter.family === undefined ? [4, 6] : [filter.family];
    const queries = protos.flatMap((proto) => families.map((family) => ({ family, proto })));
    const batched = await this.#showBatch(queries, filter.table);
    if (batched !== undefined) return batched;
    // The batch stopped at a failed line (e.g. a table that does not exist): one process per query.
    return (await Promise.all(protos.map((p) => this.#listAll(filter.family, filter.table, p)))).flat();
  }

  /**
   * `route show … proto P root 0.0.0.0/0` (or `::/0`: the family, as `-4`/`-6` cannot be given per
   * line) for each query in one `ip -N -j -batch -` (without -force: it stops at a failure). Each
   * command prints one JSON array on one line. Undefined when the batch did not run through.
   */
  async #showBatch(
    queries: readonly { readonly family: IpFamily; readonly proto: number }[],
    table: number | undefined,
  ): Promise<KernelRoute[] | undefined> {
    // `table all`, and table N kept here: without -6, ip reads a numbered table as IPv4 only, and
    // with one table asked for it leaves the table out of its output.
    const input = queries
      .map((q) => `route show table all proto ${q.proto} root ${q.family === 4 ? '0.0.0.0/0' : '::/0'}\n`)
      .join('');
    const r = await this.runner.run([...this.#ip, '-N', '-j', '-batch', '-'], { stdin: input, allowFailure: true });
    if (r.exitCode !== 0) return undefined;
    const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
    if (lines.length !== queries.length)
      throw new KernelOpError(r.argv, r.exitCode, `expected ${queries.length} JSON lines, got ${lines.length}`);
    const routes = queries.flatMap((q, i) => parseRoutes(lines[i]!, q.family, q.proto));
    return table === undefined ? routes : routes.filter((r) => r.table === table);
  }

  async replace(route: KernelRoute): Promise<void> {
    await this.apply({ replace: [route] });
  }

  async remove(key: RouteKey): Promise<void> {
    await this.apply({ remove: [key] });
  }

  /**
   * Two steps, so that filling a table never lists it: first one batch of `route del` and
   * `route add` (NLM_F_EXCL: the kernel itself refuses a key that is taken, by anyone). Only for the
   * adds refused with "File exists" does it list our own routes (kernel-side proto filter): those
   * keys that are ours get a `route replace` in a second batch; the others belong to another
   * protocol and are refused. Failures are reported against the logical batch (removes, then
   * replaces as `route replace …`), whichever step ran them.
   */
  async apply(changes: RouteChanges): Promise<void> {
    const removes = changes.remove ?? [];
    const replaces = changes.replace ?? [];
    for (const k of removes) assertOwnedProto(k.proto, `route del ${k.dst}`);
    for (const r of replaces) assertOwnedProto(r.proto, `route replace ${r.dst}`);
    if (removes.length + replaces.length === 0) return;
    this.#shared = undefined; // what was read is no longer what is there

    // Logical batch: what a caller reads in failures (line numbers and text).
    const logical = [
      ...removes.map((k) => `route del ${renderRouteDeleteArgs(k).join(' ')}`),
      ...replaces.map((r) => `route replace ${renderRouteArgs(r).join(' ')}`),
    ];
    const first = logical.map((l, i) => (i < removes.length ? l : `route add ${l.slice('route replace '.length)}`));
    const firstOps: RouteOp[] = [
      ...removes.map((key) => ({ op: 'del' as const, key })),
      ...replaces.map((route) => ({ op: 'add' as const, route })),
    ];
    const failures: BatchLineFailure[] = [];
    const taken: number[] = []; // indexes into `replaces` whose key the kernel already holds
    const step1 = await this.#batch(first, firstOps);
    for (const f of step1.failures) {
      const i = f.line - 1;
      if (i < removes.length && /No such process/.test(f.reason)) continue; // already gone: wanted
      if (i >= removes.length && /File exists/.test(f.reason)) taken.push(i - removes.length);
      else failures.push({ ...f, text: logical[i] ?? f.text });
    }
    let argv = step1.argv;
    if (taken.length > 0) {
      const ours = await this.#ownKeys(taken.map((i) => replaces[i]!));
      const again: number[] = [];
      const foreign: number[] = [];
      for (const i of taken) (ours.has(routeKeyString(replaces[i]!)) ? again : foreign).push(i);
      if (foreign.length > 0) {
        const owners = await this.#foreignOwners(foreign.map((i) => replaces[i]!));
        for (const i of foreign) {
          const owner = owners.get(routeKeyString(replaces[i]!));
          const reason = `would overwrite a route with proto ${owner ?? '(unknown: gone since)'}, which Margay does not own`;
          failures.push({ line: removes.length + i + 1, text: logical[removes.length + i]!, reason });
        }
      }
      if (again.length > 0) {
        const step2 = await this.#batch(
          again.map((i) => logical[removes.length + i]!),
          again.map((i) => ({ op: 'replace' as const, route: replaces[i]! })),
        );
        argv = step2.argv;
        for (const f of step2.failures) {
          const i = again[f.line - 1]!;
          failures.push({ ...f, line: removes.length + i + 1, text: logical[removes.length + i]! });
        }
      }
    }
    if (failures.length > 0) {
      failures.sort((a, b) => a.line - b.line);
      this.log.warn({ failures: failures.length, lines: logical.length }, 'route batch partly failed');
      throw new KernelBatchError(argv, step1.exitCode, step1.stderr, failures);
    }
    if (this.log.isLevelEnabled('debug'))
      this.log.debug({ replaced: replaces.length, removed: removes.length }, 'routes applied');
  }

  /**
   * One `ip -force -batch -` of `lines`, or the same `ops` over rtnetlink: the lines that failed
   * (every other line is applied).
   */
  async #batch(
    lines: readonly string[],
    ops: readonly RouteOp[],
  ): Promise<{ argv: readonly string[]; exitCode: number | null; stderr: string; failures: BatchLineFailure[] }> {
    if (this.writer !== undefined) {
      const results = await this.writer.write(ops);
      const failures: BatchLineFailure[] = [];
      results.forEach((reason, i) => {
        if (reason !== undefined) failures.push({ line: i + 1, text: lines[i]!, reason });
      });
      const stderr = failures.map((f) => f.reason).join('\n');
      return { argv: ['rtnetlink', 'route'], exitCode: failures.length > 0 ? 1 : 0, stderr, failures };
    }
    const input = lines.map((l) => `${l}\n`).join('');
    const r = await this.runner.run([...this.#ip, '-force', '-batch', '-'], { stdin: input, allowFailure: true });
    if (r.exitCode === 0) return { argv: r.argv, exitCode: 0, stderr: r.stderr, failures: [] };
    const failures = parseIpBatchFailures(r.stderr, input);
    if (failures.length === 0) throw new KernelBatchError(r.argv, r.exitCode, r.stderr, []);
    return { argv: r.argv, exitCode: r.exitCode, stderr: r.stderr, failures };
  }

  /** Keys of our own routes among the families and tables of `routes` (kernel-side proto filter). */
  async #ownKeys(routes: readonly KernelRoute[]): Promise<Set<string>> {
    const keys = new Set<string>();
    for (const { family, table } of scopesOf(routes)) {
      for (const e of await this.list({ family, ...(table === undefined ? {} : { table }) }))
        keys.add(routeKeyString(e));
    }
    return keys;
  }

  /** Protocol of the route holding each key of `routes` (a full listing: only on a conflict). */
  async #foreignOwners(routes: readonly KernelRoute[]): Promise<Map<string, number>> {
    const owners = new Map<string, number>();
    for (const { family, table } of scopesOf(routes)) {
      for (const e of await this.#listAll(family, table))
        if (!isOwnedRouteProtocol(e.proto)) owners.set(routeKeyString(e), e.proto);
    }
    return owners;
  }

  async #listAll(family: IpFamily | undefined, table: number | undefined, proto?: number): Promise<KernelRoute[]> {
    const families: IpFamily[] = family === undefined ? [4, 6] : [family];
    const perFamily = await Promise.all(families.map((f) => this.#listFamily(f, table, proto)));
    return perFamily.flat();
  }

  async #listFamily(f: IpFamily, table: number | undefined, proto: number | undefined): Promise<KernelRoute[]> {
    {
      const argv = [
        ...this.#ip,
        '-N',
        '-j',
        `-${f}`,
        'route',
        'show',
        'table',
        table === undefined ? 'all' : String(table),
      ];
      if (proto !== undefined) argv.push('proto', String(proto));
      const r = await this.runner.run(argv, { allowFailure: true });
      // A table that holds no route of this family does not exist yet: it is empty, not an error.
      if (r.exitCode !== 0 && /FIB table does not exist/.test(r.stderr)) return [];
      if (r.exitCode !== 0) throw new KernelOpError(r.argv, r.exitCode, r.stderr);
      // With a proto filter ip leaves the protocol out of its output; parseRoutes fills it in.
      return parseRoutes(r.stdout, f, proto);
    }
  }
}

/** The families to look at, each with its table when all routes of that family share one. */
function scopesOf(routes: readonly KernelRoute[]): { family: IpFamily; table: number | undefined }[] {
  return [...new Set(routes.map((r) => familyOf(r.dst)))].map((family) => {
    const tables = new Set(routes.filter((r) => familyOf(r.dst) === family).map((r) => r.table));
    return { family, table: tables.size === 1 ? [...tables][0] : undefined };
  });
}
