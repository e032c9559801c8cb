/**
 * The BGP listener: accepts connections on address:port (IPv4 and IPv6), hands each to the Session
 * configured for the remote address, or to a session made on demand for a listen range (dynamic
 * neighbours). Anything else gets a Cease 5 (connection rejected) and is closed.
 *
 * Security: a peer's TCP-MD5 key is installed on every listening socket for its address (a range's key
 * for its prefix), so the kernel itself drops segments with a missing or wrong signature. With GTSM the
 * listening sockets send with TTL 255 (inherited by accepted sockets, so the SYN-ACK already carries it)
 * and each accepted socket of a GTSM peer gets its minimum TTL before any BGP message is read.
 */
import { PrefixSyntaxError } from '../../src/net/index.js';
import net, { type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { parseAddress, parsePrefix, type ParsedPrefix } from '../codec/index.js';
import { MargayError } from '../../src/errors.js';
import { SocketOptionError, setGtsm, setMinTtl, setTcpMd5, setTtl } from '../native/index.js';
import type { Session } from './session.js';
import { connectionRejectedNotification } from './session.js';
import { childWithout } from './log-bindings.js';

export interface ListenRange {
  /** CIDR, e.g. '10.0.0.0/24'. */
  readonly prefix: string;
  readonly md5Password?: string | undefined;
  readonly ttlSecurityHops?: number | undefined;
  /** Makes (and starts) the session for a new dynamic neighbour, or undefined to refuse it. */
  readonly accept: (remoteAddress: string, remotePort: number) => Session | undefined;
}

export interface ListenerOptions {
  readonly addresses: readonly string[];
  readonly port: number;
  readonly log: Logger;
}

interface Range extends ListenRange {
  readonly parsed: ParsedPrefix;
}

/** '::ffff:10.0.0.1' → '10.0.0.1'. */
export function normalizeAddress(a: string): string {
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

function inPrefix(addr: Buffer, p: ParsedPrefix): boolean {
  if (addr.length !== p.address.length) return false;
  for (let bit = 0; bit < p.length; bit++) {
    const m = 0x80 >>> (bit & 7);
    if ((addr[bit >>> 3]! & m) !== (p.address[bit >>> 3]! & m)) return false;
  }
  return true;
}

function fdOf(x: Server | Socket): number | undefined {
  const fd = (x as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

export class BgpListener {
  readonly #servers: Server[] = [];
  readonly #peers = new Map<string, Session>();
  readonly #ranges: Range[] = [];
  readonly #log: Logger;

  constructor(private readonly opts: ListenerOptions) {
    this.#log = childWithout(opts.log, { component: 'bgp-listener' });
  }

  /** Bind every address. Port 0 picks a free port (see `ports`). */
  async listen(): Promise<void> {
    for (const host of this.opts.addresses) {
      const server = net.createServer({ pauseOnConnect: true, noDelay: true }, (s) => this.#onConnection(s));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host, port: this.opts.port, ipv6Only: false }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('error', (err) => this.#log.error({ err, host }, 'listener error'));
      this.#servers.push(server);
      for (const s of this.#peers.values()) this.#applyKey(server, s.config.peerAddress, s.config.md5Password);
      for (const r of this.#ranges) this.#applyKey(server, r.prefix.split('/')[0]!, r.md5Password, r.parsed.length);
      if (this.#needsTtl()) this.#applyTtl(server);
    }
  }

  /** Bound ports, in `addresses` order. */
  get ports(): number[] {
    return this.#servers.map((s) => (s.address() as net.AddressInfo).port);
  }

  addPeer(session: Session): void {
    const addr = normalizeAddress(session.config.peerAddress);
    this.#peers.set(addr, session);
    for (const srv of this.#servers) {
      this.#applyKey(srv, addr, session.config.md5Password);
      if (this.#needsTtl()) this.#applyTtl(srv);
    }
  }

  removePeer(session: Session): void {
    const addr = normalizeAddress(session.config.peerAddress);
    if (this.#peers.get(addr) !== session) return;
    this.#peers.delete(addr);
    if (this.#needsTtl()) for (const srv of this.#servers) this.#applyTtl(srv);
    if (session.config.md5Password === undefined) return;
    for (const srv of this.#servers) {
      const fd = fdOf(srv);
      if (fd !== undefined) setTcpMd5(fd, addr, undefined);
    }
  }

  addRange(range: ListenRange): void {
    const parsed = parsePrefix(range.prefix);
    if (!parsed) throw new PrefixSyntaxError(range.prefix, 'not a listen-range prefix');
    this.#ranges.push({ ...range, parsed });
    for (const srv of this.#servers) {
      this.#applyKey(srv, range.prefix.split('/')[0]!, range.md5Password, parsed.length);
      if (this.#needsTtl()) this.#applyTtl(srv);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.#servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.#servers.length = 0;
  }

  /** GTSM settings of everyone this listener may accept. */
  #gtsmHops(): (number | undefined)[] {
    return [
      ...[...this.#peers.values()].map((p) => p.config.ttlSecurityHops),
      ...this.#ranges.map((r) => r.ttlSecurityHops),
    ];
  }

  #needsTtl(): boolean {
    return this.#gtsmHops().some((h) => h !== undefined);
  }

  #applyKey(server: Server, address: string, key: string | undefined, prefixLen?: number): void {
    const fd = fdOf(server);
    if (key !== undefined && fd !== undefined) setTcpMd5(fd, address, key, prefixLen);
  }

  /**
   * TTL 255 on the listening socket (the SYN-ACK and accepted sockets inherit it). When every peer it
   * may accept uses GTSM, the minimum TTL goes on the listening socket too, so a far SYN never gets a
   * connection; otherwise it is set per accepted socket (a segment that arrives between the handshake
   * and that setsockopt would slip through, which is why the listener-wide setting is preferred).
   */
  #applyTtl(server: Server): void {
    const fd = fdOf(server);
    if (fd === undefined) return;
    setTtl(fd, 255);
    const hops = this.#gtsmHops();
    const all = hops.length > 0 && hops.every((h) => h !== undefined);
    setMinTtl(fd, all ? 256 - Math.max(...(hops as number[])) : 1);
  }

  #onConnection(socket: Socket): void {
    const remote = normalizeAddress(socket.remoteAddress ?? '');
    const port = socket.remotePort ?? 0;
    let session = this.#peers.get(remote);
    let hops = session?.config.ttlSecurityHops;
    if (!session) {
      const addr = parseAddress(remote);
      const range = addr ? this.#ranges.find((r) => inPrefix(addr, r.parsed)) : undefined;
      session = range?.accept(remote, port);
      hops = range?.ttlSecurityHops;
    }
    if (!session) {
      this.#log.info({ remote, port }, 'connection from an unconfigured peer refused');
      socket.on('error', (err) => this.#log.debug({ err }, 'refused connection error'));
      socket.end(connectionRejectedNotification());
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    if (hops !== undefined) {
      const fd = fdOf(socket);
      try {
        if (fd === undefined) throw new SocketOptionError('GTSM on an accepted socket without an fd');
        setGtsm(fd, hops);
      } catch (err) {
        if (!(err instanceof MargayError)) throw err;
        this.#log.error({ err, remote }, 'cannot apply GTSM to an incoming connection; closing it');
        socket.destroy();
        return;
      }
    }
    session.acceptIncoming(socket);
    socket.resume();
  }
}
