/**
 * Outgoing TCP for BGP. With TCP-MD5 or GTSM the socket is created by the native addon so the key and
 * the TTL are in place before the SYN leaves (a net.Socket only has an fd once it is connecting, which is
 * too late); the fd is then wrapped in a net.Socket and connected. Without them, plain net.connect.
 */
import net, { type Socket } from 'node:net';
import type { Logger } from 'pino';
import { MargayError } from '../../src/errors.js';
import {
  closeFd,
  createTcpSocket,
  isSockoptAvailable,
  SocketOptionError,
  setGtsm,
  setRecvBuffer,
  setTcpMd5,
} from '../native/index.js';
import type { ConnectOptions, Transport } from './types.js';

export class TcpTransport implements Transport {
  connect(o: ConnectOptions): Socket {
    if (o.md5Password === undefined && o.ttlSecurityHops === undefined) {
      return net.connect({ host: o.peerAddress, port: o.peerPort, localAddress: o.localAddress });
    }
    let fd: number;
    try {
      fd = createSecuredFd(o);
    } catch (err) {
      if (!(err instanceof MargayError)) throw err;
      // A setup failure becomes a failed connection attempt (logged, retried), not a crash.
      return failedSocket(err);
    }
    const socket = new net.Socket({
      fd,
      readable: true,
      writable: true,
      manualStart: true,
    } as net.SocketConstructorOpts);
    socket.connect({ host: o.peerAddress, port: o.peerPort });
    return socket;
  }
}

function createSecuredFd(o: ConnectOptions): number {
  const family = net.isIP(o.peerAddress) === 6 ? 6 : 4;
  const fd = createTcpSocket(family, o.localAddress);
  try {
    if (o.md5Password !== undefined) setTcpMd5(fd, o.peerAddress, o.md5Password);
    if (o.ttlSecurityHops !== undefined) setGtsm(fd, o.ttlSecurityHops);
  } catch (err) {
    closeFd(fd);
    throw err;
  }
  return fd;
}

/** A socket that reports `err` asynchronously, like a refused connect would. */
function failedSocket(err: Error): Socket {
  const s = new net.Socket();
  Object.defineProperty(s, 'connecting', { value: true, configurable: true });
  process.nextTick(() => s.destroy(err));
  return s;
}

/**
 * Caps the kernel's receive buffer (SO_RCVBUF, autotuning off): with the user-space high-water mark
 * this bounds everything read ahead of the consumer, so TCP pushes back on a fast peer early instead
 * of the kernel absorbing megabytes first. Needs the native addon; without it autotuning stays.
 */
export function capReceiveBuffer(socket: Socket, bytes: number, log: Logger): void {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (bytes <= 0 || fd === undefined || fd < 0) return;
  if (!isSockoptAvailable()) {
    log.debug('native addon not built: kernel receive buffer left to autotuning');
    return;
  }
  try {
    setRecvBuffer(fd, bytes);
  } catch (err) {
    if (!(err instanceof SocketOptionError)) throw err;
    log.warn({ err, bytes }, 'cannot cap the kernel receive buffer; back-pressure starts later');
  }
}
