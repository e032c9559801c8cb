/**
 * Outgoing TCP for BGP. With TCP-MD5 or GTSM the socket is created by the native addon so the key and
 * the TTL are in place before the SYN leaves (a net.Socket only has an fd once it is connecting, which is
 * too late); the fd is then wrapped in a net.Socket and connected. Without them, plain net.connect.
 */
import net, { type Socket } from 'node:net';
import { MargayError } from '../../src/errors.js';
import { closeFd, createTcpSocket, setGtsm, setTcpMd5 } from '../native/index.js';
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
