/**
 * `margayctl ipam show | check | release | gc`, shaped like `calicoctl ipam`: usage per pool, node
 * and (--show-blocks) block; check lists leaked, duplicate and orphaned allocations and handles as
 * a table or JSON and writes a report file (-o) that `release --from-report` accepts.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { CliIo, Command, CommandGroup } from '../src/cli/index.js';
import { UsageError, withStore } from '../src/cli/index.js';
import type { CheckReport, UsageRow } from './check.js';
import { allocationsOf } from './check.js';
import { Ipam } from './ipam.js';

const STORE_OPTS = { datastore: { type: 'string' }, kubeconfig: { type: 'string' } } as const;

async function withIpam<T>(
  values: { datastore?: string | undefined; kubeconfig?: string | undefined },
  io: CliIo,
  fn: (ipam: Ipam) => Promise<T>,
): Promise<T> {
  return withStore(values, io, (store, log) =>
    fn(new Ipam({ store, log: log.child({ component: 'ipam' }), clusterCacheMs: 0 })),
  );
}

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows]
    .map((r) =>
      r
        .map((c, i) => (c ?? '').padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function pct(used: number, size: number | bigint): string {
  const s = Number(size);
  return s === 0 ? '-' : `${((100 * used) / s).toFixed(s > 1e6 ? 4 : 0)}%`;
}

function usageRows(rows: readonly UsageRow[], kind: string): string[][] {
  return rows.map((r) => [
    kind,
    r.cidr ?? r.name,
    String(r.size),
    `${r.allocated} (${pct(r.allocated, r.size)})`,
    String(BigInt(r.size) - BigInt(r.allocated)),
    r.node ?? (r.blocks !== undefined ? `${r.blocks} block(s)` : ''),
  ]);
}

const show: Command = {
  summary: 'IP usage per pool and node (--show-blocks: per block); --ip ADDR: who holds an address',
  usage: 'margayctl ipam show [--show-blocks] [--ip ADDR] [-o table|json] [--datastore ...]',
  async run(args, io) {
    const { values } = parseArgs({
      args,
      strict: true,
      options: {
        ...STORE_OPTS,
        'show-blocks': { type: 'boolean', default: false },
        ip: { type: 'string' },
        output: { type: 'string', short: 'o', default: 'table' },
      },
    });
    if (!['table', 'json'].includes(values.output))
      throw new UsageError(`unknown output format "${values.output}" (table, json)`);
    return withIpam(values, io, async (ipam) => {
      if (values.ip !== undefined) return showIp(ipam, values.ip, values.output, io);
      const u = await ipam.usage();
      if (values.output === 'json') {
        io.out(JSON.stringify(u, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2));
        return 0;
      }
      const rows = [
        ...usageRows(u.pools, 'IP Pool'),
        ...usageRows(
          u.nodes.map((n) => ({ ...n, cidr: n.name })),
          'Node',
        ),
      ];
      if (values['show-blocks']) rows.push(...usageRows(u.blocks, 'Block'));
      io.out(table(['GROUPING', 'CIDR / NAME', 'IPS TOTAL', 'IPS IN USE', 'IPS FREE', 'NODE / BLOCKS'], rows));
      return 0;
    });
  },
};

async function showIp(ipam: Ipam, ip: string, output: string, io: CliIo): Promise<number> {
  for (const b of await ipam.bs.listBlocks()) {
    for (const a of allocationsOf(b)) {
      if (a.address !== ip) continue;
      if (output === 'json') io.out(JSON.stringify(a, null, 2));
      else
        io.out(
          `${ip} is allocated in block ${a.block} (affinity ${b.spec.affinity ?? 'none'}) to handle ${a.handleId ?? '(none)'}${a.pod ? `, pod ${a.namespace}/${a.pod}` : ''}${a.node ? `, node ${a.node}` : ''}, sequence ${a.sequenceNumber ?? '-'}`,
        );
      return 0;
    }
  }
  io.out(`${ip} is not allocated`);
  return 0;
}

function reportTable(r: CheckReport): string {
  const head = `Checked ${r.summary.blocks} block(s), ${r.summary.allocations} allocation(s), ${r.summary.handles} handle(s) at ${r.generatedAt}.`;
  if (r.problems.length === 0) return `${head}\nNo problems found.`;
  const rows = r.problems.map((p) => [
    p.kind,
    p.address ?? p.block ?? '',
    p.handleId ?? '',
    p.pod ?? p.node ?? '',
    p.releasable ? 'yes' : 'no',
    p.message,
  ]);
  const counts = Object.entries(r.summary.problems)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  return `${head}\nFound ${r.problems.length} problem(s): ${counts}.\n\n${table(['PROBLEM', 'ADDRESS/BLOCK', 'HANDLE', 'POD/NODE', 'RELEASABLE', 'DETAIL'], rows)}`;
}

const check: Command = {
  summary:
    'find leaked, duplicate and orphaned allocations and handles (exit 1 when any); -o FILE writes a report for release --from-report',
  usage: 'margayctl ipam check [-o REPORT.json] [--json] [--datastore ...]',
  async run(args, io) {
    const { values } = parseArgs({
      args,
      strict: true,
      options: { ...STORE_OPTS, output: { type: 'string', short: 'o' }, json: { type: 'boolean', default: false } },
    });
    return withIpam(values, io, async (ipam) => {
      const report = await ipam.check();
      if (values.output !== undefined)
        await writeFile(values.output, `${JSON.stringify(report, null, 2)}\n`, { mode: 0o600 });
      io.out(values.json ? JSON.stringify(report, null, 2) : reportTable(report));
      if (values.output !== undefined && !values.json)
        io.out(
          `\nReport written to ${values.output}; release what it marks releasable with: margayctl ipam release --from-report ${values.output}`,
        );
      return report.problems.length === 0 ? 0 : 1;
    });
  },
};

const release: Command = {
  summary:
    "release addresses (--ip), a handle (--handle), a deleted node's blocks (--node), or what a check report marks releasable",
  usage:
    'margayctl ipam release --ip ADDR [--ip ...] | --handle ID | --node NODE | --from-report FILE [--datastore ...]',
  async run(args, io) {
    const { values } = parseArgs({
      args,
      strict: true,
      options: {
        ...STORE_OPTS,
        ip: { type: 'string', multiple: true },
        handle: { type: 'string' },
        node: { type: 'string' },
        'from-report': { type: 'string' },
      },
    });
    const modes = [
      values.ip?.length ? 1 : 0,
      values.handle ? 1 : 0,
      values.node ? 1 : 0,
      values['from-report'] ? 1 : 0,
    ].reduce((a, b) => a + b, 0);
    if (modes !== 1) throw new UsageError('give exactly one of --ip, --handle, --node, --from-report');
    let report: unknown;
    if (values['from-report']) {
      const path = values['from-report'];
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (err) {
        throw new UsageError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
          cause: err,
        });
      }
      try {
        report = JSON.parse(text);
      } catch (err) {
        throw new UsageError(`${path} is not JSON: ${(err as Error).message}`, { cause: err });
      }
    }
    return withIpam(values, io, async (ipam) => {
      if (values.ip?.length) {
        const r = await ipam.releaseAddresses(values.ip.map((address) => ({ address })));
        for (const x of r.released) io.out(`released ${x.address} (block ${x.block}, handle ${x.handleId ?? 'none'})`);
        for (const s of r.skipped) io.err(`not released ${s.address}: ${s.reason}`);
        return r.skipped.length === 0 ? 0 : 1;
      }
      if (values.handle) {
        const r = await ipam.releaseByHandle(values.handle);
        io.out(
          r.length === 0
            ? `handle ${values.handle} held no address`
            : r.map((x) => `released ${x.address} (block ${x.block})`).join('\n'),
        );
        return 0;
      }
      if (values.node) {
        const r = await ipam.releaseNode(values.node);
        io.out(
          `node ${values.node}: ${r.deletedBlocks.length} empty block(s) deleted, ${r.unaffinedBlocks.length} block(s) with addresses in use lost the affinity`,
        );
        return 0;
      }
      const r = await ipam.releaseFromReport(report);
      io.out(
        `released ${r.releasedAddresses.length} address(es), deleted ${r.deletedHandles.length} handle(s), ` +
          `released ${r.releasedNodes.length} node(s), removed ${r.removedAffinities.length} affinit(ies); ` +
          'problems that changed since the report were left alone',
      );
      for (const x of r.releasedAddresses) io.out(`  released ${x.address} (handle ${x.handleId ?? 'none'})`);
      return 0;
    });
  },
};

const gc: Command = {
  summary:
    'one garbage-collection pass: release what check finds leaked (pods, handles, deleted nodes, interrupted claims)',
  usage: 'margayctl ipam gc [--datastore ...]',
  async run(args, io) {
    const { values } = parseArgs({ args, strict: true, options: { ...STORE_OPTS } });
    return withIpam(values, io, async (ipam) => {
      const r = await ipam.gc({ gracePeriodMs: 0 });
      io.out(
        `released ${r.releasedAddresses.length} address(es), deleted ${r.deletedHandles.length} handle(s), ` +
          `released ${r.releasedNodes.length} node(s) (${r.releasedNodes.join(', ') || '-'}), removed ${r.removedAffinities.length} affinit(ies)`,
      );
      return 0;
    });
  },
};

export const IPAM_GROUP: CommandGroup = {
  summary: 'IP address management: usage, consistency check, release, garbage collection',
  commands: { show, check, release, gc },
};
