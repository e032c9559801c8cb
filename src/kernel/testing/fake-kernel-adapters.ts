import type { KernelAdapters } from '../adapters.js';
import { FakeConntrackOps } from './fake-conntrack-ops.js';
import { FakeIptablesBackend } from './fake-iptables-backend.js';
import { FakeIpsetBackend } from './fake-ipset-backend.js';
import { FakeLinkOps } from './fake-link-ops.js';
import { FakeNeighborOps } from './fake-neighbor-ops.js';
import { FakeRouteTable } from './fake-route-table.js';
import { FakeSysctlOps } from './fake-sysctl-ops.js';

/** KernelAdapters made of fakes, typed as the fakes so tests can seed, inspect and inject failures. */
export interface FakeKernelAdapters extends KernelAdapters {
  readonly links: FakeLinkOps;
  readonly routes: FakeRouteTable;
  readonly sysctl: FakeSysctlOps;
  readonly neighbors: FakeNeighborOps;
  readonly iptables: { readonly 4: FakeIptablesBackend; readonly 6: FakeIptablesBackend };
  readonly ipsets: FakeIpsetBackend;
  readonly conntrack: FakeConntrackOps;
}

export function createFakeKernelAdapters(
  opts: { readonly netns?: string; readonly touchForeign?: boolean } = {},
): FakeKernelAdapters {
  return {
    netns: opts.netns,
    links: new FakeLinkOps(opts.touchForeign ?? false),
    routes: new FakeRouteTable(),
    sysctl: new FakeSysctlOps(),
    neighbors: new FakeNeighborOps(opts.touchForeign ?? false),
    iptables: { 4: new FakeIptablesBackend(4), 6: new FakeIptablesBackend(6) },
    ipsets: new FakeIpsetBackend(),
    conntrack: new FakeConntrackOps(),
  };
}
