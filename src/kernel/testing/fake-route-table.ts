import type { MargayError } from '../../errors.js';
import { KernelBatchError } from '../errors.js';
import { isOwnedRouteProtocol } from '../ownership.js';
import { familyOf, routeKeyString, type KernelRoute, type RouteKey } from '../route-format.js';
import { assertOwnedProto, type RouteChanges, type RouteFilter, type RouteTable } from '../route-table.js';
import { FailureInjector } from './failure-injector.js';

/**
 * In-memory RouteTable. `routes` holds everything "in the kernel", including foreign routes a test
 * seeds with `seedForeign`, so reconcilers can be tested for leaving those alone.
 */
export class FakeRouteTable implements RouteTable {
  readonly routes = new Map<string, KernelRoute>();
  readonly faults = new FailureInjector();

  get ops(): string[] {
    return this.faults.ops;
  }

  failNext(err: MargayError, match?: RegExp): void {
    this.faults.failNext(err, match);
  }

  /** A route another program owns (any proto), as if it were already in the kernel. */
  seedForeign(route: KernelRoute): void {
    this.routes.set(routeKeyString(route), route);
  }

  async list(filter: RouteFilter = {}): Promise<KernelRoute[]> {
    this.faults.record('list');
    for (const p of filter.protos ?? []) assertOwnedProto(p, 'route list');
    return [...this.routes.values()].filter(
      (r) =>
        isOwnedRouteProtocol(r.proto) &&
        (filter.protos === undefined || filter.protos.includes(r.proto)) &&
        (filter.family === undefined || familyOf(r.dst) === filter.family) &&
        (filter.table === undefined || filter.table === r.table),
    );
  }

  async replace(route: KernelRoute): Promise<void> {
    await this.apply({ replace: [route] });
  }

  async remove(key: RouteKey): Promise<void> {
    await this.apply({ remove: [key] });
  }

  async apply(changes: RouteChanges): Promise<void> {
    for (const k of changes.remove ?? []) assertOwnedProto(k.proto, `route del ${k.dst}`);
    for (const r of changes.replace ?? []) assertOwnedProto(r.proto, `route replace ${r.dst}`);
    for (const k of changes.remove ?? []) {
      this.faults.record(`remove ${k.dst}`);
      const cur = this.routes.get(routeKeyString(k));
      if (cur !== undefined && cur.proto === k.proto) this.routes.delete(routeKeyString(k));
    }
    const refused: { line: number; text: string; reason: string }[] = [];
    const removes = changes.remove?.length ?? 0;
    for (const [i, r] of (changes.replace ?? []).entries()) {
      this.faults.record(`replace ${r.dst}`);
      const cur = this.routes.get(routeKeyString(r));
      if (cur !== undefined && !isOwnedRouteProtocol(cur.proto)) {
        // Line numbers as IpRouteTable reports them: removes first, then replaces, 1-based.
        refused.push({
          line: removes + i + 1,
          text: `route replace ${r.dst}`,
          reason: `would overwrite a route with proto ${cur.proto}`,
        });
      } else {
        this.routes.set(routeKeyString(r), r);
      }
    }
    if (refused.length > 0) throw new KernelBatchError(['fake-route-table'], 1, '', refused);
  }
}
