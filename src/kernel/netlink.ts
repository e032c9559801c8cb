import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KernelOpError } from '../errors.js';
import type { Logger } from '../log.js';
import { encodeRouteOp, NoSuchDeviceError, type RouteOp } from './netlink-route.js';

/**
 * Route writes over rtnetlink from the agent's own process (native/netlink.c: the socket and the
 * bounded exchange; netlink-route.ts: the messages). Felix and BIRD program routes this way; before,
 * every route change went through the `ip -batch` co-process, a second process to wake on every
 * change (docs/kernel.md: about 1 ms of a route's propagation on a loaded two-core node).
 *
 * Optional: without the built addon (`npm run build:native`), or in another namespace than the
 * process's own (`ip -n`), IpRouteTable writes through `ip` as before. Listing stays with `ip -j`.
 */
interface Addon {
  open(nsPath?: string): number;
  talk(fd: number, buf: Buffer, firstSeq: number, count: number, timeoutMs: number): [number[], string[]];
  ifindex(fd: number, name: string): number;
  close(fd: number): void;
}

const ADDON_FILE = 'margay_netlink.node';
/**
 * Requests per exchange. The kernel answers every request of a send before we read any answer, so
 * all of them must fit the receive queue (1 MiB asked for; an answer costs ≈ 0.5–1 KiB of it).
 */
const CHUNK = 128;
/** The kernel answers a route request in microseconds; this only bounds a kernel that does not. */
const TIMEOUT_MS = 2000;

let addon: Addon | null | undefined;

/** Where the built addon may be: beside the source (vitest), or from dist/src/kernel and dist/bundle/* (three levels below the repo). */
function candidates(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  return [
    join(here, 'native', 'build', 'Release', ADDON_FILE),
    join(here, '..', '..', '..', 'src', 'kernel', 'native', 'build', 'Release', ADDON_FILE),
  ];
}

function loadAddon(): Addon | undefined {
  if (addon !== undefined) return addon ?? undefined;
  const path = candidates().find((p) => existsSync(p));
  try {
    addon = path === undefined ? null : (createRequire(import.meta.url)(path) as Addon);
  } catch {
    addon = null;
  }
  return addon ?? undefined;
}

/** The result of one op: undefined when applied, else the kernel's reason (as `ip` would print it). */
export type RouteOpResult = string | undefined;

export interface RouteWriter {
  /**
   * Applies every op in order (each on its own: a refused one does not stop the rest). A large batch
   * goes in chunks, with the event loop free between them.
   */
  write(ops: readonly RouteOp[]): Promise<RouteOpResult[]>;
  close(): void;
}

/**
 * One NETLINK_ROUTE socket, opened on first use: in the process's own network namespace, or in the
 * one at `nsPath` (a socket stays in the namespace it was made in; the addon enters it only to make
 * the socket).
 */
export class NetlinkRouteWriter implements RouteWriter {
  #fd: number | undefined;
  #seq = 1;

  private constructor(
    private readonly nl: Addon,
    private readonly log: Logger,
    private readonly nsPath: string | undefined,
  ) {}

  /** Undefined when the addon is not available. */
  static create(log: Logger, nsPath?: string): NetlinkRouteWriter | undefined {
    const a = loadAddon();
    return a === undefined ? undefined : new NetlinkRouteWriter(a, log, nsPath);
  }

  async write(ops: readonly RouteOp[]): Promise<RouteOpResult[]> {
    const out: RouteOpResult[] = new Array(ops.length).fill(undefined);
    // Each device is looked up once per chunk (a pod's veth named by 5,000 routes: one lookup).
    let known = new Map<string, number>();
    const ifindex = (dev: string): number => {
      let i = known.get(dev);
      if (i === undefined) {
        const fd = this.#open();
        i = this.#call(() => this.nl.ifindex(fd, dev));
        known.set(dev, i);
      }
      return i;
    };
    for (let start = 0; start < ops.length; start += CHUNK) {
      if (start > 0) {
        await new Promise<void>((r) => setImmediate(r));
        known = new Map();
      }
      const msgs: Buffer[] = [];
      const index: number[] = []; // message k answers ops[index[k]]
      const first = this.#nextSeq(Math.min(CHUNK, ops.length - start));
      for (let i = start; i < Math.min(ops.length, start + CHUNK); i++) {
        try {
          msgs.push(encodeRouteOp(ops[i]!, first + msgs.length, ifindex));
          index.push(i);
        } catch (err) {
          if (!(err instanceof NoSuchDeviceError)) throw err;
          out[i] = err.message;
        }
      }
      if (msgs.length === 0) continue;
      const [codes, reasons] = this.#talk(Buffer.concat(msgs), first, msgs.length);
      for (let k = 0; k < codes.length; k++) {
        if (codes[k] !== 0) out[index[k]!] = `RTNETLINK answers: ${reasons[k] || `errno ${codes[k]}`}`;
      }
    }
    return out;
  }

  close(): void {
    if (this.#fd !== undefined) this.nl.close(this.#fd);
    this.#fd = undefined;
  }

  /** Sequence numbers for `n` requests; wraps well below 2^31 (the addon takes int32). */
  #nextSeq(n: number): number {
    if (this.#seq + n >= 0x7fff0000) this.#seq = 1;
    const s = this.#seq;
    this.#seq += n;
    return s;
  }

  #open(): number {
    return this.#call(() => {
      this.#fd ??= this.nsPath === undefined ? this.nl.open() : this.nl.open(this.nsPath);
      return this.#fd;
    });
  }

  #talk(buf: Buffer, first: number, count: number): [number[], string[]] {
    return this.#call(() => this.nl.talk(this.#open(), buf, first, count, TIMEOUT_MS));
  }

  /** An addon call; a failure (no answer in time, a socket error) closes the socket and is a KernelOpError. */
  #call<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof KernelOpError) throw err;
      // A fresh socket next time: answers that arrive late carry sequence numbers no one waits for.
      this.close();
      this.log.warn({ err }, 'rtnetlink exchange failed');
      throw new KernelOpError(['rtnetlink', 'route'], null, (err as Error).message, { cause: err });
    }
  }
}
