import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { ExecaCommandRunner } from '../../src/kernel/index.js';
import type { TopologyDeps } from '../../src/lab/topology.js';
import { silentLogger } from '../../src/log.js';

/**
 * Test namespaces, veths and bridges. Names carry a per-process unique part (`mt<tag><pid><rand><n>`),
 * and everything made here is removed in `finally`, even when the test fails. The whole suite also
 * runs inside scripts/in-sandbox.sh, whose exit trap deletes anything left over.
 */
// Five characters: the pid modulo 36^3 in base 36, and one random byte. Truncating a longer id to
// fit IFNAMSIZ, as an earlier version did, cut the counter off and repeated names.
const RUN_ID = `${(process.pid % 46_656).toString(36).padStart(3, '0')}${randomBytes(1).toString('hex')}`;
let counter = 0;

/** A unique short name (≤ 15 chars, fits IFNAMSIZ) with a recognisable test prefix. */
export function uniqueName(tag = 'n'): string {
  counter += 1;
  const name = `mt${tag}${RUN_ID}${counter.toString(36)}`;
  if (name.length > 15)
    throw new Error(
      `test name ${name} is longer than IFNAMSIZ allows (15): use a shorter tag than ${JSON.stringify(tag)}`,
    );
  return name;
}

/**
 * A unique topology prefix (`[a-z][a-z0-9]*`) for src/lab's upTopology: `mt<tag><run id><n>`, so a
 * topology's namespaces (`<prefix>-<node>`) are recognisable as this test run's.
 */
export function uniquePrefix(tag = 't'): string {
  if (!/^[a-z]{1,4}$/.test(tag))
    throw new Error(`topology prefix tag ${JSON.stringify(tag)} must be 1-4 lowercase letters`);
  counter += 1;
  return `mt${tag}${RUN_ID}${counter.toString(36)}`;
}

/** What upTopology needs, for tests: the real command runner and a silent logger. */
export function labDeps(): TopologyDeps {
  const log = silentLogger();
  return { runner: new ExecaCommandRunner(log), log };
}

export async function run(cmd: string, args: readonly string[], input?: string): Promise<string> {
  const r = await execa(cmd, args, { input, reject: false });
  if (r.exitCode !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.exitCode}): ${r.stderr || r.stdout}`);
  }
  return r.stdout;
}

export async function createNetns(tag = 'ns'): Promise<string> {
  const ns = uniqueName(tag);
  await run('ip', ['netns', 'add', ns]);
  try {
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  } catch (err) {
    await deleteNetns(ns); // not handed out, so nobody else would delete it
    throw err;
  }
  return ns;
}

/** Kills every process left in the namespace, then deletes it. Never throws. */
export async function deleteNetns(ns: string): Promise<void> {
  const pids = await execa('ip', ['netns', 'pids', ns], { reject: false });
  for (const pid of pids.stdout.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
  await execa('ip', ['netns', 'del', ns], { reject: false });
}

/** Runs `fn` with a fresh namespace (loopback up) and always deletes it afterwards. */
export async function withNetns<T>(fn: (ns: string) => Promise<T>, tag = 'ns'): Promise<T> {
  const ns = await createNetns(tag);
  try {
    return await fn(ns);
  } finally {
    await deleteNetns(ns);
  }
}

/** Several namespaces at once; all are deleted afterwards. */
export async function withNetnses<T>(count: number, fn: (nses: string[]) => Promise<T>): Promise<T> {
  const nses: string[] = [];
  try {
    for (let i = 0; i < count; i++) nses.push(await createNetns(`m${i}`));
    return await fn(nses);
  } finally {
    for (const ns of nses) await deleteNetns(ns);
  }
}

/**
 * A veth pair between two namespaces with addresses, both ends up. `a`/`b` are CIDRs like
 * '10.99.0.1/24'. Returns the interface names. Deleted with its namespaces.
 */
export async function linkNetns(nsA: string, nsB: string, a: string, b: string): Promise<{ ifA: string; ifB: string }> {
  const ifA = uniqueName('va');
  const ifB = uniqueName('vb');
  await run('ip', ['link', 'add', ifA, 'netns', nsA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB]);
  await run('ip', ['-n', nsA, 'addr', 'add', a, 'dev', ifA]);
  await run('ip', ['-n', nsB, 'addr', 'add', b, 'dev', ifB]);
  await run('ip', ['-n', nsA, 'link', 'set', ifA, 'up']);
  await run('ip', ['-n', nsB, 'link', 'set', ifB, 'up']);
  return { ifA, ifB };
}

/** Runs a command inside a namespace. */
export async function inNetns(ns: string, cmd: string, args: readonly string[], input?: string): Promise<string> {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], input);
}

/**
 * A Linux bridge in `ns` (or in the sandbox's own namespace when `ns` is undefined), up, with an
 * optional address. Deleted with its namespace, or by `deleteLink`.
 */
export async function createBridge(
  ns: string | undefined,
  opts: { name?: string; cidr?: string } = {},
): Promise<string> {
  const name = opts.name ?? uniqueName('br');
  const ip = ns === undefined ? ['ip'] : ['ip', '-n', ns];
  await run(ip[0]!, [...ip.slice(1), 'link', 'add', name, 'type', 'bridge']);
  if (opts.cidr !== undefined) await run(ip[0]!, [...ip.slice(1), 'addr', 'add', opts.cidr, 'dev', name]);
  await run(ip[0]!, [...ip.slice(1), 'link', 'set', name, 'up']);
  return name;
}

/** Deletes a link if it still exists. Never throws for a link that is already gone. */
export async function deleteLink(ns: string | undefined, name: string): Promise<void> {
  const ip = ns === undefined ? [] : ['-n', ns];
  await execa('ip', [...ip, 'link', 'del', name], { reject: false });
}

/** Runs `fn` with a fresh bridge in `ns` and always deletes the bridge afterwards. */
export async function withBridge<T>(
  ns: string | undefined,
  fn: (bridge: string) => Promise<T>,
  cidr?: string,
): Promise<T> {
  const br = await createBridge(ns, cidr === undefined ? {} : { cidr });
  try {
    return await fn(br);
  } finally {
    await deleteLink(ns, br);
  }
}

/**
 * A veth pair: one end (`hostIf`) in `hostNs` (the sandbox's namespace when undefined), optionally
 * enslaved to `bridge`, the other end moved into `ns` and renamed `ifName` (default eth0), with an
 * optional address. Both ends are up. Deleting either namespace removes the pair.
 */
export async function addVethToNetns(
  ns: string,
  opts: { hostNs?: string; bridge?: string; ifName?: string; cidr?: string; hostIf?: string } = {},
): Promise<{ hostIf: string; ifName: string }> {
  const hostIf = opts.hostIf ?? uniqueName('vh');
  const tmp = uniqueName('vp');
  const ifName = opts.ifName ?? 'eth0';
  const hostIp = opts.hostNs === undefined ? [] : ['-n', opts.hostNs];
  await run('ip', [...hostIp, 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', tmp]);
  await run('ip', [...hostIp, 'link', 'set', tmp, 'netns', ns]);
  await run('ip', ['-n', ns, 'link', 'set', tmp, 'name', ifName]);
  if (opts.cidr !== undefined) await run('ip', ['-n', ns, 'addr', 'add', opts.cidr, 'dev', ifName]);
  await run('ip', ['-n', ns, 'link', 'set', ifName, 'up']);
  if (opts.bridge !== undefined) await run('ip', [...hostIp, 'link', 'set', hostIf, 'master', opts.bridge]);
  await run('ip', [...hostIp, 'link', 'set', hostIf, 'up']);
  return { hostIf, ifName };
}
