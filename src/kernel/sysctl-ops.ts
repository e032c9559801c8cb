import { readFile, writeFile } from 'node:fs/promises';
import { InvariantError, KernelOpError } from '../errors.js';
import type { Logger } from '../log.js';
import type { CommandRunner } from './command-runner.js';

/**
 * Kernel parameters under /proc/sys/net, per network namespace. /proc/sys/net belongs to the network
 * namespace of the reading process, so a namespace is targeted with `ip netns exec NS sysctl ...`.
 * Keys are given dotted (`net.ipv4.ip_forward`) or as a path (`net/ipv4/conf/eth0.100/rp_filter`,
 * needed when an interface name holds a dot; see `confKey`). Keys are validated: only `net/...`,
 * no empty, `.` or `..` segments, no characters outside [A-Za-z0-9_.@:+-], so a key can never
 * name a file outside /proc/sys/net.
 */
export interface SysctlOps {
  get(key: string): Promise<string>;
  /** Several keys in one `sysctl`: canonical (slash) key → value, or undefined for a key that does not exist. */
  getMany(keys: readonly string[]): Promise<Map<string, string | undefined>>;
  set(key: string, value: string | number): Promise<void>;
  /** One `sysctl -w` for all entries; on failure the error names the keys that failed. */
  setMany(entries: Readonly<Record<string, string | number>>): Promise<void>;
}

const SEGMENT = /^[A-Za-z0-9_@:+-][A-Za-z0-9_.@:+-]*$/;
const VALUE = /^[A-Za-z0-9_.:/ \t+-]*$/;

/** The canonical (slash) form of a key, or an InvariantError saying why it is refused. */
export function normalizeSysctlKey(key: string): string {
  const path = key.includes('/') ? key : key.split('.').join('/');
  const segs = path.split('/');
  if (segs[0] !== 'net') throw new InvariantError(`sysctl key ${JSON.stringify(key)}: only net.* keys are allowed`);
  for (const s of segs) {
    if (!SEGMENT.test(s) || s === '.' || s === '..') {
      throw new InvariantError(`sysctl key ${JSON.stringify(key)}: segment ${JSON.stringify(s)} is not allowed`);
    }
  }
  if (segs.length < 3) throw new InvariantError(`sysctl key ${JSON.stringify(key)}: too short`);
  return path;
}

/** `net/ipv4/conf/<iface>/<setting>` (or ipv6), safe for interface names with dots. */
export function confKey(family: 4 | 6, iface: string, setting: string): string {
  return normalizeSysctlKey(`net/ipv${family}/conf/${iface}/${setting}`);
}

/** How `sysctl` prints a key: segments joined by dots, dots inside a segment shown as slashes. */
export function printedSysctlKey(key: string): string {
  return normalizeSysctlKey(key)
    .split('/')
    .map((s) => s.replace(/\./g, '/'))
    .join('.');
}

export function validateSysctlValue(key: string, value: string | number): string {
  const v = String(value);
  if (!VALUE.test(v)) throw new InvariantError(`sysctl ${key}: value ${JSON.stringify(v)} is not allowed`);
  return v;
}

export class ProcSysctlOps implements SysctlOps {
  /**
   * `direct: true` (only without `netns`: the process's own namespace) writes /proc/sys/net files
   * itself instead of starting `sysctl`: the CNI server sets a few per-veth keys on every pod ADD.
   */
  constructor(
    private readonly runner: CommandRunner,
    private readonly log: Logger,
    readonly netns?: string,
    private readonly opts: { readonly direct?: boolean } = {},
  ) {
    if (opts.direct === true && netns !== undefined)
      throw new InvariantError('direct sysctl writes only work in the own network namespace');
  }

  async get(key: string): Promise<string> {
    const k = normalizeSysctlKey(key);
    if (this.opts.direct === true) {
      const v = (await this.#readDirect([k])).get(k);
      if (v === undefined) throw new KernelOpError(['read', `/proc/sys/${k}`], null, 'No such file or directory');
      return v;
    }
    const r = await this.runner.run(['sysctl', '-n', k], this.#opts());
    return r.stdout.replace(/\n$/, '');
  }

  async getMany(keys: readonly string[]): Promise<Map<string, string | undefined>> {
    const norm = keys.map(normalizeSysctlKey);
    const out = new Map<string, string | undefined>(norm.map((k) => [k, undefined]));
    if (norm.length === 0) return out;
    if (this.opts.direct === true) return this.#readDirect(norm);
    // sysctl prints `a.b.c = v`, with dots inside a segment (eth0.100) shown as slashes.
    const printed = new Map(norm.map((k) => [printedSysctlKey(k), k]));
    const r = await this.runner.run(['sysctl', ...norm], { ...this.#opts(), allowFailure: true });
    for (const line of r.stdout.split('\n')) {
      const i = line.indexOf(' = ');
      if (i < 0) continue;
      const k = printed.get(line.slice(0, i));
      if (k !== undefined) out.set(k, line.slice(i + 3));
    }
    // A missing key is reported on stderr and left undefined; anything else is a failure.
    const other = r.stderr
      .split('\n')
      .filter((l) => l.trim() !== '' && !/cannot stat|No such file or directory/.test(l));
    if (r.exitCode !== 0 && other.length > 0) throw new KernelOpError(r.argv, r.exitCode, r.stderr);
    return out;
  }

  async set(key: string, value: string | number): Promise<void> {
    await this.setMany({ [key]: value });
  }

  async setMany(entries: Readonly<Record<string, string | number>>): Promise<void> {
    const pairs = Object.entries(entries).map(([k, v]) => `${normalizeSysctlKey(k)}=${validateSysctlValue(k, v)}`);
    if (pairs.length === 0) return;
    if (this.opts.direct === true) {
      // Concurrently: each write is 3 thread-pool hops (open, write, close), and an apply after a burst
      // of pods writes several keys per new interface. Asynchronous, not writeFileSync: `forwarding`
      // waits for the rtnl lock, which veth creation holds.
      const writes = Object.entries(entries).map(async ([k, v]) => {
        const path = `/proc/sys/${normalizeSysctlKey(k)}`;
        try {
          await writeFile(path, `${validateSysctlValue(k, v)}\n`);
        } catch (err) {
          throw new KernelOpError(['write', path], null, (err as Error).message, { cause: err });
        }
      });
      const failed = (await Promise.allSettled(writes)).find((r) => r.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
      if (this.log.isLevelEnabled('debug')) this.log.debug({ sysctls: entries }, 'sysctls written');
      return;
    }
    const r = await this.runner.run(['sysctl', '-q', '-w', ...pairs], { ...this.#opts(), allowFailure: true });
    if (r.exitCode !== 0 || r.stderr.trim() !== '') {
      throw new KernelOpError(r.argv, r.exitCode, r.stderr);
    }
    this.log.info({ netns: this.netns, sysctls: entries }, 'sysctls set');
  }

  /** Reads /proc/sys files concurrently; a missing one (interface gone) is undefined. */
  async #readDirect(keys: readonly string[]): Promise<Map<string, string | undefined>> {
    const values = await Promise.all(
      keys.map(async (k) => {
        const path = `/proc/sys/${k}`;
        try {
          return (await readFile(path, 'utf8')).replace(/\n$/, '');
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // typed result: no such key
          throw new KernelOpError(['read', path], null, (err as Error).message, { cause: err });
        }
      }),
    );
    return new Map(keys.map((k, i) => [k, values[i]]));
  }

  #opts(): { netns?: string } {
    return this.netns === undefined ? {} : { netns: this.netns };
  }
}
