/**
 * One lab topology: namespaces, veths, addresses and per-namespace sysctls built from a declarative
 * TopologySpec (topology-spec.ts), torn down by exactly what was built.
 *
 *   spec ──validateSpec──▶ upTopology ──(journal each thing *before* making it)──▶ Topology
 *                                                                                  │ down()
 *   journal entries (in memory, or a lab's state file) ──teardown (reverse order)──┘
 *
 * Writing the journal entry before the kernel object means a crash at any point leaves a journal
 * that names everything that might exist; teardown is idempotent, so removing a namespace that was
 * never made is fine. Nothing outside the spec's namespaces is touched, except the host end of a
 * HOST link, which only sandboxed test rigs may ask for (`allowHostLinks`).
 *
 * The interop suite, the black-box rig, the GTSM host link, the BGP demo and `margayctl lab` are all
 * presets of this (presets.ts).
 */
import { isIP } from 'node:net';
import type { CommandResult, CommandRunner, RunOptions } from '../kernel/index.js';
import type { Logger } from '../log.js';
import { TopologyError } from './errors.js';
import { sleep } from './wait.js';
import {
  HOST,
  cidrFamily,
  nsName,
  validateSpec,
  type LinkEnd,
  type LinkSpec,
  type NodeSpec,
  type TopologySpec,
} from './topology-spec.js';

export type TopologyEntry =
  | { readonly kind: 'netns'; readonly name: string }
  | { readonly kind: 'host-link'; readonly name: string };

export interface TopologyDeps {
  readonly runner: CommandRunner;
  readonly log: Logger;
  /**
   * Called with every entry so far before each object is made, and again without it when making it
   * failed (a lab persists the list to its state file).
   */
  readonly journal?: (entries: readonly TopologyEntry[]) => Promise<void>;
}

export interface Topology {
  readonly spec: TopologySpec;
  /** Namespace names in creation order. */
  readonly namespaces: readonly string[];
  /** The namespace of a node. Throws for an unknown node. */
  ns(node: string): string;
  /** Runs argv inside a node's namespace. */
  exec(node: string, argv: readonly string[], opts?: Omit<RunOptions, 'netns'>): Promise<CommandResult>;
  /** Removes everything this topology made (idempotent). */
  down(): Promise<void>;
}

/** Builds the spec. On any failure removes what was already made, then throws TopologyError. */
export async function upTopology(spec: TopologySpec, deps: TopologyDeps): Promise<Topology> {
  validateSpec(spec);
  const entries: TopologyEntry[] = [];
  // Journal first, then make; if making fails the object is not ours (it may be someone else's
  // namespace of the same name), so the entry goes again.
  const make = async (e: TopologyEntry, fn: () => Promise<unknown>): Promise<void> => {
    entries.push(e);
    if (deps.journal) await deps.journal([...entries]);
    try {
      await fn();
    } catch (err) {
      entries.pop();
      if (deps.journal) await deps.journal([...entries]);
      throw err;
    }
  };
  const { runner } = deps;
  const nsOf = (node: string): string => nsName(spec.prefix, node);
  try {
    // Namespaces: journaled all at once, then made in parallel (independent kernel objects); one
    // that fails to be made is dropped from the journal again (it may be someone else's).
    const nsEntries: TopologyEntry[] = spec.nodes.map((n) => ({ kind: 'netns', name: nsOf(n.name) }));
    entries.push(...nsEntries);
    if (deps.journal) await deps.journal([...entries]);
    const made = await Promise.allSettled(nsEntries.map((e) => runner.run(['ip', 'netns', 'add', e.name])));
    const failed = nsEntries.filter((_e, i) => made[i]!.status === 'rejected');
    if (failed.length > 0) {
      entries.splice(0, entries.length, ...entries.filter((e) => !failed.includes(e)));
      if (deps.journal) await deps.journal([...entries]);
      throw (made.find((m) => m.status === 'rejected') as PromiseRejectedResult).reason;
    }
    await Promise.all(spec.nodes.map((n) => configureNode(runner, nsOf(n.name), n)));
    const hostLinks = (spec.links ?? []).filter((l) => l.a.node === HOST || l.b.node === HOST);
    for (const l of hostLinks) {
      const hostEnd = l.a.node === HOST ? l.a : l.b;
      await make({ kind: 'host-link', name: hostEnd.ifName }, () => addLink(runner, l, nsOf));
    }
    await Promise.all((spec.links ?? []).filter((l) => !hostLinks.includes(l)).map((l) => addLink(runner, l, nsOf)));
    await Promise.all(
      spec.nodes.map(async (n) => {
        for (const r of n.routes ?? []) {
          await runner.run([
            'ip',
            '-n',
            nsOf(n.name),
            isIP(r.via) === 6 ? '-6' : '-4',
            'route',
            'add',
            r.dst,
            'via',
            r.via,
          ]);
        }
      }),
    );
    deps.log.info(
      { prefix: spec.prefix, namespaces: spec.nodes.length, links: spec.links?.length ?? 0 },
      'topology up',
    );
  } catch (err) {
    try {
      await teardown(entries, deps);
      if (deps.journal) await deps.journal([]);
    } catch (cleanupErr) {
      deps.log.error({ err: cleanupErr, prefix: spec.prefix }, 'cleanup after a failed topology build failed too');
    }
    throw new TopologyError(`building topology ${spec.prefix} failed: ${(err as Error).message}`, { cause: err });
  }
  let downed: Promise<void> | undefined;
  const known = new Set(spec.nodes.map((n) => n.name));
  const ns = (node: string): string => {
    if (!known.has(node)) throw new TopologyError(`topology ${spec.prefix} has no node ${JSON.stringify(node)}`);
    return nsOf(node);
  };
  return {
    spec,
    namespaces: spec.nodes.map((n) => nsOf(n.name)),
    ns,
    exec: (node, argv, opts = {}) => runner.run(argv, { ...opts, netns: ns(node) }),
    down() {
      downed ??= teardown(entries, deps);
      return downed;
    },
  };
}

/**
 * One veth pair with its addresses, both ends up. Made from inside the first end's namespace (`ip
 * -n`), so the caller's own namespace never sees it unless an end is HOST. `nsOf` maps node names to
 * namespaces.
 */
export async function addLink(runner: CommandRunner, l: LinkSpec, nsOf: (node: string) => string): Promise<void> {
  const [a, b] = l.b.node === HOST ? [l.b, l.a] : [l.a, l.b];
  const nsA = a.node === HOST ? undefined : nsOf(a.node);
  const nsB = nsOf(b.node);
  await runner.run([
    ...ipIn(nsA),
    'link',
    'add',
    'name',
    a.ifName,
    'type',
    'veth',
    'peer',
    'name',
    b.ifName,
    'netns',
    nsB,
  ]);
  // The two ends are independent (each in its own namespace): configured at once, and both
  // settled before a failure is thrown (no command still running while the caller tears down).
  const ends = await Promise.allSettled([configureEnd(runner, nsA, a), configureEnd(runner, nsB, b)]);
  const failed = ends.find((e): e is PromiseRejectedResult => e.status === 'rejected');
  if (failed) throw failed.reason;
}

/** lo up, sysctls (forwarding), loopback addresses and bridges of one node, inside its namespace. */
async function configureNode(runner: CommandRunner, ns: string, n: NodeSpec): Promise<void> {
  await runner.run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
  const sysctls: Record<string, string> = { ...(n.sysctls ?? {}) };
  if (n.forwarding) Object.assign(sysctls, { 'net.ipv4.ip_forward': '1', 'net.ipv6.conf.all.forwarding': '1' });
  const pairs = Object.entries(sysctls).map(([k, v]) => `${k}=${v}`);
  if (pairs.length > 0) await runner.run(['sysctl', '-q', '-w', ...pairs], { netns: ns });
  for (const c of n.loopback ?? []) await runner.run(addrArgv(ns, 'lo', c));
  for (const b of n.bridges ?? []) {
    await runner.run(['ip', '-n', ns, 'link', 'add', 'name', b.name, 'type', 'bridge']);
    await configureEnd(runner, ns, {
      node: n.name,
      ifName: b.name,
      ...(b.addresses ? { addresses: b.addresses } : {}),
    });
  }
}

function ipIn(ns: string | undefined): string[] {
  return ns === undefined ? ['ip'] : ['ip', '-n', ns];
}

function addrArgv(ns: string | undefined, dev: string, cidr: string): string[] {
  const v6 = cidrFamily(cidr, dev) === 6;
  return [...ipIn(ns), 'addr', 'add', cidr, 'dev', dev, ...(v6 ? ['nodad'] : [])];
}

async function configureEnd(runner: CommandRunner, ns: string | undefined, end: LinkEnd): Promise<void> {
  if (end.master !== undefined) await runner.run([...ipIn(ns), 'link', 'set', 'dev', end.ifName, 'master', end.master]);
  for (const c of end.addresses ?? []) await runner.run(addrArgv(ns, end.ifName, c));
  await runner.run([...ipIn(ns), 'link', 'set', 'dev', end.ifName, 'up']);
}

/**
 * Removes what the entries name, newest first: host-side links, then namespaces (after killing any
 * process still inside one: only processes started in a namespace this topology made can be there).
 * Idempotent; tries every entry and throws one TopologyError listing what could not be removed.
 */
export async function teardown(
  entries: readonly TopologyEntry[],
  deps: Pick<TopologyDeps, 'runner' | 'log'>,
): Promise<void> {
  const failures: string[] = [];
  for (const e of [...entries].reverse()) {
    try {
      if (e.kind === 'host-link') {
        const r = await deps.runner.run(['ip', 'link', 'del', 'dev', e.name], { allowFailure: true });
        if (r.exitCode !== 0 && !/Cannot find device|does not exist/.test(r.stderr))
          failures.push(`link ${e.name}: ${r.stderr.trim()}`);
        continue;
      }
      // A stopped daemon's helpers (e.g. a co-process in its own process group) leave a moment after
      // it, on EOF: give them that moment; what is still inside after it is killed, and said so.
      const pidsIn = async (): Promise<number[]> =>
        (await deps.runner.run(['ip', 'netns', 'pids', e.name], { allowFailure: true })).stdout
          .split(/\s+/)
          .filter(Boolean)
          .map(Number);
      let pids = await pidsIn();
      for (let i = 0; pids.length > 0 && i < 15; i++) {
        await sleep(100);
        pids = await pidsIn();
      }
      for (const pid of pids) {
        deps.log.warn({ netns: e.name, pid }, 'process still in a lab namespace at teardown: killing it');
        killQuietly(pid);
      }
      const r = await deps.runner.run(['ip', 'netns', 'del', e.name], { allowFailure: true });
      if (r.exitCode !== 0 && !/No such file or directory/.test(r.stderr))
        failures.push(`netns ${e.name}: ${r.stderr.trim()}`);
    } catch (err) {
      failures.push(`${e.kind} ${e.name}: ${(err as Error).message}`);
    }
  }
  if (failures.length > 0)
    throw new TopologyError(`teardown left ${failures.length} object(s): ${failures.join('; ')}`);
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}
