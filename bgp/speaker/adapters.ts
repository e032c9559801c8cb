/**
 * The real ports behind the speaker: B3's Rib and B2's Session / BgpListener / TcpTransport. This is
 * the one place that adapts their exact surfaces to the speaker's narrow ports (ports.ts).
 */
import { InvariantError } from '../../src/errors.js';
import type { Socket } from 'node:net';
import type { Logger } from '../../src/log.js';
import type { OutNotification } from '../fsm/index.js';
import { Rib } from '../rib/index.js';
import { BgpListener, makeSessionConfig, normalizeAddress, Session, TcpTransport } from '../session/index.js';
import type { ConnectOptions, PeerStatus, SessionConfigInput, SessionEvents, Transport } from '../session/index.js';
import type { ListenerFactory, ListenerPort, RibFactory, SessionFactory, SessionPort } from './ports.js';

export const defaultRibFactory: RibFactory = (options) => new Rib(options);

/**
 * A Session that remembers its sockets (outgoing ones through its transport, incoming ones at the
 * hand-over) so the speaker can learn our local address on the established connection, which it needs
 * for next-hop-self. Session exposes no socket of its own.
 */
class TrackedSession extends Session {
  readonly sockets: Socket[] = [];
  override acceptIncoming(socket: Socket): boolean {
    this.#track(socket);
    return super.acceptIncoming(socket);
  }
  track(socket: Socket): void {
    this.#track(socket);
  }
  #track(socket: Socket): void {
    this.sockets.push(socket);
    socket.once('close', () => {
      const i = this.sockets.indexOf(socket);
      if (i >= 0) this.sockets.splice(i, 1);
    });
  }
  localAddr(): string | undefined {
    for (let i = this.sockets.length - 1; i >= 0; i--) {
      const s = this.sockets[i]!;
      if (!s.destroyed && s.localAddress) return normalizeAddress(s.localAddress);
    }
    return undefined;
  }
}

class SessionAdapter implements SessionPort {
  constructor(readonly inner: TrackedSession) {}
  on<E extends keyof SessionEvents>(event: E, fn: (...args: SessionEvents[E]) => void): unknown {
    return this.inner.on(event, fn as never);
  }
  start(): void {
    this.inner.start();
  }
  stop(notification?: OutNotification): void {
    this.inner.stop(notification);
  }
  send(messages: Buffer[]): boolean {
    return this.inner.send(messages);
  }
  sendRouteRefresh(afi: number, safi: number, subtype?: number): boolean {
    return this.inner.sendRouteRefresh(afi, safi, subtype);
  }
  status(): PeerStatus {
    return this.inner.status;
  }
  localAddress(): string | undefined {
    return this.inner.localAddr();
  }
  destroy(): void {
    this.inner.stop();
    this.inner.removeAllListeners();
  }
}

export function defaultSessionFactory(transport: Transport = new TcpTransport()): SessionFactory {
  return {
    create(input: SessionConfigInput, log: Logger): SessionPort {
      let session: TrackedSession | undefined;
      const tracking: Transport = {
        connect(o: ConnectOptions): Socket {
          const s = transport.connect(o);
          session?.track(s);
          return s;
        },
      };
      session = new TrackedSession(makeSessionConfig(input), { log, transport: tracking });
      return new SessionAdapter(session);
    },
  };
}

function innerOf(s: SessionPort): TrackedSession {
  if (!(s instanceof SessionAdapter))
    throw new InvariantError('the BGP listener needs sessions made by defaultSessionFactory');
  return s.inner;
}

export const defaultListenerFactory: ListenerFactory = {
  async listen(opts, log): Promise<ListenerPort> {
    const l = new BgpListener({ addresses: opts.addresses, port: opts.port, log });
    await l.listen();
    return {
      register: (s) => l.addPeer(innerOf(s)),
      unregister: (s) => l.removePeer(innerOf(s)),
      addRange: (range, accept) =>
        l.addRange({
          prefix: range.prefix,
          md5Password: range.md5Password,
          ttlSecurityHops: range.ttlSecurityHops,
          accept: (address) => {
            const s = accept(address);
            return s === undefined ? undefined : innerOf(s);
          },
        }),
      close: () => l.close(),
    };
  },
};

/** Everything BgpSpeaker needs besides the logger, config and optional RouteTable. */
export function defaultSpeakerPorts(): { sessions: SessionFactory; listener: ListenerFactory; ribFactory: RibFactory } {
  return { sessions: defaultSessionFactory(), listener: defaultListenerFactory, ribFactory: defaultRibFactory };
}
