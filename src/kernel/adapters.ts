import type { Logger } from '../log.js';
import { ExecaCommandRunner, type CommandRunner } from './command-runner.js';
import { SpawnHelperRunner } from './spawn-runner.js';
import { ConntrackToolOps, type ConntrackOps } from './conntrack-ops.js';
import { IptablesRestoreBackend, type IptablesBackend } from './iptables-backend.js';
import { detectIptables, type IptablesMode } from './iptables-detect.js';
import { DetectOnUseIptablesBackend } from './iptables-on-use.js';
import { IpsetRestoreBackend, type IpsetBackend } from './ipset-backend.js';
import { IpLinkOps, type LinkOps } from './link-ops.js';
import { IpNeighborOps, type NeighborOps } from './neighbor-ops.js';
import { CoprocessCommandRunner } from './ip-batch-session.js';
import { IpRouteTable, type RouteTable } from './route-table.js';
import { NetlinkRouteWriter, type RouteWriter } from './netlink.js';
import { ConfigError, PrerequisiteError } from '../errors.js';
import { ProcSysctlOps, type SysctlOps } from './sysctl-ops.js';

/** Every kernel adapter for one network namespace. Reconcilers take the one they own. */
export interface KernelAdapters {
  readonly netns: string | undefined;
  readonly links: LinkOps;
  readonly routes: RouteTable;
  readonly sysctl: SysctlOps;
  readonly neighbors: NeighborOps;
  readonly iptables: { readonly 4: IptablesBackend; readonly 6: IptablesBackend };
  readonly ipsets: IpsetBackend;
  readonly conntrack: ConntrackOps;
  /** Ends helper co-processes (the persistent `ip -batch`); the adapters must not be used after. */
  readonly close?: () => void;
}

export interface KernelAdapterOptions {
  /** Target namespace; the process's own when absent. */
  readonly netns?: string;
  /** `auto` (default) detects the host's backend; see iptables-detect.ts. */
  readonly iptablesMode?: IptablesMode | 'auto';
  /** `on-first-use`: detect it at the first iptables call (iptables-on-use.ts); default `at-start`. */
  readonly iptablesDetection?: 'at-start' | 'on-first-use';
  /** Allow link and neighbour writes on interfaces without Margay's prefix (pod namespaces, the lab). */
  readonly touchForeign?: boolean;
  /**
   * Route, neighbour and link writes through a persistent `ip -force -batch -` co-process (see
   * ip-batch-session.ts) instead of one `ip` process per apply. Default: on over an
   * ExecaCommandRunner or SpawnHelperRunner, off over any other runner (fakes record every command).
   */
  readonly coprocess?: boolean;
  /**
   * Route writes: `netlink` from this process (netlink.ts; needs the built addon), or `ip`. Default
   * `auto`: netlink in the process's own namespace over a real runner, else ip. `MARGAY_ROUTE_WRITER=ip` in the environment forces ip (troubleshooting).
   */
  readonly routeWriter?: 'auto' | 'netlink' | 'ip';
}

/**
 * Builds the real adapters for one namespace, each with its own child logger
 * (`{ component: 'kernel', adapter, netns }`). Detects the iptables backend once. In the process's
 * own namespace sysctls are read and written as /proc/sys files (no `sysctl` process).
 */
export async function createKernelAdapters(
  baseRunner: CommandRunner,
  log: Logger,
  opts: KernelAdapterOptions = {},
): Promise<KernelAdapters> {
  const netns = opts.netns;
  const child = (adapter: string): Logger =>
    log.child({ component: 'kernel', adapter, ...(netns === undefined ? {} : { netns }) });
  // Only over real processes: a fake runner (unit tests) sees every command itself.
  const coprocess =
    opts.coprocess ?? (baseRunner instanceof ExecaCommandRunner || baseRunner instanceof SpawnHelperRunner);
  const batching = coprocess ? new CoprocessCommandRunner(baseRunner, child('ip-batch')) : undefined;
  const runner: CommandRunner = batching ?? baseRunner;
  let detection: Promise<{ mode: IptablesMode; dumps: { 4?: string; 6?: string }; at: number }> | undefined;
  const detect = () =>
    (detection ??= detectIptables(runner, child('iptables-detect'), {
      ...(netns === undefined ? {} : { netns }),
      override: opts.iptablesMode ?? 'auto',
    }).then(
      (r) => ({ ...r, at: Date.now() }),
      (err: unknown) => {
        detection = undefined; // the next call detects again
        throw err;
      },
    ));
  const backend = async (f: 4 | 6): Promise<IptablesBackend> => {
    const { mode, dumps, at } = await detect();
    const primed = dumps[f] === undefined ? undefined : { text: dumps[f], at };
    return new IptablesRestoreBackend(runner, child(`iptables${f}`), f, mode, netns, primed);
  };
  const onUse = opts.iptablesDetection === 'on-first-use';
  const iptables = onUse
    ? { 4: new DetectOnUseIptablesBackend(4, backend), 6: new DetectOnUseIptablesBackend(6, backend) }
    : { 4: await backend(4), 6: await backend(6) };
  const writer = routeWriterFor(opts, netns, coprocess, child('routes'));
  const scoped = { ...(netns === undefined ? {} : { netns }), touchForeign: opts.touchForeign ?? false };
  return {
    netns,
    links: new IpLinkOps(runner, child('links'), scoped),
    routes: new IpRouteTable(runner, child('routes'), netns, writer),
    sysctl: new ProcSysctlOps(runner, child('sysctl'), netns, { direct: netns === undefined }),
    neighbors: new IpNeighborOps(runner, child('neighbors'), scoped),
    iptables,
    ipsets: new IpsetRestoreBackend(runner, child('ipsets'), netns),
    conntrack: new ConntrackToolOps(runner, child('conntrack'), netns),
    ...(batching === undefined && writer === undefined
      ? {}
      : {
          close: () => {
            batching?.close();
            writer?.close();
          },
        }),
  };
}

/** What `ip -n NAME` opens: /run/netns/NAME (a path is taken as it is). */
function netnsPath(netns: string): string {
  return netns.includes('/') ? netns : `/run/netns/${netns}`;
}

function routeWriterFor(
  opts: KernelAdapterOptions,
  netns: string | undefined,
  realRunner: boolean,
  log: Logger,
): RouteWriter | undefined {
  const forced = process.env['MARGAY_ROUTE_WRITER'];
  if (forced !== undefined && forced !== '' && forced !== 'ip')
    throw new ConfigError('MARGAY_ROUTE_WRITER', `${JSON.stringify(forced)}: the only value is ip (or leave it unset)`);
  const want = forced === 'ip' ? 'ip' : (opts.routeWriter ?? 'auto');
  if (want === 'ip' || (want === 'auto' && !realRunner)) return undefined;
  // In another namespace only when asked for: `auto` keeps `ip -n` there (pod namespaces, the lab).
  if (netns !== undefined && want === 'auto') return undefined;
  const w = NetlinkRouteWriter.create(log, netns === undefined ? undefined : netnsPath(netns));
  if (w === undefined && want === 'netlink')
    throw new PrerequisiteError('route writes over netlink need the native addon: run `npm run build:native`');
  if (w === undefined) log.warn('route writes through ip: the netlink addon is not built (npm run build:native)');
  else log.debug('route writes over rtnetlink');
  return w;
}
