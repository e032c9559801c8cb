/**
 * A scriptable BGP peer for tests: it listens or connects, sends arbitrary bytes (well-formed or not) and
 * records every whole message it receives, decoding NOTIFICATIONs and OPENs. It has no FSM of its own:
 * each test scripts exactly what goes on the wire and asserts exactly what comes back.
 */
import net, { type Server, type Socket } from 'node:net';
import { decodeOpen, encodeOpen } from '../../bgp/codec/open.js';
import { encodeKeepalive } from '../../bgp/codec/route-refresh.js';
import type { Capability, OpenMessage } from '../../bgp/codec/types.js';

export interface RawMessage {
  readonly type: number;
  readonly bytes: Buffer;
  readonly open?: OpenMessage;
  readonly notification?: { readonly code: number; readonly subcode: number; readonly data: string };
}

export interface RawOpen {
  readonly asn: number;
  readonly holdTime?: number;
  /** Dotted quad. */
  readonly bgpId?: string;
  readonly capabilities?: readonly Capability[];
}

const MARKER = Buffer.alloc(16, 0xff);

/** A whole message from a type and a body (lengths computed; override with `length`). */
export function rawMessage(type: number, body: Buffer = Buffer.alloc(0), length?: number): Buffer {
  const head = Buffer.alloc(3);
  head.writeUInt16BE(length ?? 19 + body.length, 0);
  head[2] = type;
  return Buffer.concat([MARKER, head, body]);
}

export function idToNumber(id: string): number {
  return id.split('.').reduce((a, p) => a * 256 + Number(p), 0) >>> 0;
}

export function openBytes(o: RawOpen): Buffer {
  return encodeOpen({
    asn: o.asn,
    holdTime: o.holdTime ?? 90,
    bgpId: idToNumber(o.bgpId ?? '192.0.2.2'),
    capabilities: o.capabilities ?? [
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'four-octet-as', asn: o.asn },
      { kind: 'route-refresh' },
    ],
  });
}

export class RawBgpPeer {
  readonly received: RawMessage[] = [];
  #buf = Buffer.alloc(0);
  #waiters: (() => void)[] = [];
  #closed = false;
  lastError: Error | undefined;
  readonly closed: Promise<void>;
  #resolveClosed!: () => void;

  private constructor(readonly socket: Socket) {
    this.closed = new Promise((r) => (this.#resolveClosed = r));
    socket.on('data', (d: Buffer) => this.#onData(d));
    // A reset by the other side is expected in these tests: keep it for assertions; 'close' follows.
    socket.on('error', (err) => (this.lastError = err));
    socket.on('close', () => {
      this.#closed = true;
      this.#resolveClosed();
      this.#wake();
    });
  }

  /** Listen on host:0 and resolve with the port and a promise of the first accepted peer. */
  static async listen(host = '127.0.0.1'): Promise<{ port: number; server: Server; accepted: Promise<RawBgpPeer> }> {
    let resolve!: (p: RawBgpPeer) => void;
    const accepted = new Promise<RawBgpPeer>((r) => (resolve = r));
    const server = net.createServer((s) => resolve(new RawBgpPeer(s)));
    await new Promise<void>((r) => server.listen(0, host, () => r()));
    return { port: (server.address() as net.AddressInfo).port, server, accepted };
  }

  static async connect(host: string, port: number, localAddress?: string): Promise<RawBgpPeer> {
    const s = net.connect({ host, port, localAddress });
    await new Promise<void>((resolve, reject) => {
      s.once('connect', resolve);
      s.once('error', reject);
    });
    return new RawBgpPeer(s);
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }
  sendOpen(o: RawOpen): void {
    this.send(openBytes(o));
  }
  sendKeepalive(): void {
    this.send(encodeKeepalive());
  }

  /** Waits until a message matching `pred` has arrived (searching from index `from`). */
  async waitFor(pred: (m: RawMessage) => boolean, timeoutMs = 5000, from = 0): Promise<RawMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.received.slice(from).find(pred);
      if (hit) return hit;
      if (this.#closed)
        throw new Error(`connection closed; received types ${this.received.map((m) => m.type).join(',')}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; received types ${this.received.map((m) => m.type).join(',')}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  waitForType(type: number, timeoutMs = 5000, from = 0): Promise<RawMessage> {
    return this.waitFor((m) => m.type === type, timeoutMs, from);
  }

  /** The first NOTIFICATION, after which the connection must close. */
  async notification(timeoutMs = 5000): Promise<{ code: number; subcode: number; data: string }> {
    const m = await this.waitForType(3, timeoutMs);
    return m.notification!;
  }

  /** Standard handshake toward a session that connected to us or accepted us: OPEN, wait OPEN+KEEPALIVE, KEEPALIVE. */
  async handshake(o: RawOpen, timeoutMs = 5000): Promise<OpenMessage> {
    this.sendOpen(o);
    const open = await this.waitForType(1, timeoutMs);
    await this.waitForType(4, timeoutMs);
    this.sendKeepalive();
    return open.open!;
  }

  close(): void {
    this.socket.destroy();
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  #onData(d: Buffer): void {
    this.#buf = Buffer.concat([this.#buf, d]);
    while (this.#buf.length >= 19) {
      const len = this.#buf.readUInt16BE(16);
      if (len < 19 || this.#buf.length < len) break;
      const bytes = Buffer.from(this.#buf.subarray(0, len));
      this.#buf = this.#buf.subarray(len);
      const type = bytes[18]!;
      let m: RawMessage = { type, bytes };
      if (type === 3)
        m = { ...m, notification: { code: bytes[19]!, subcode: bytes[20]!, data: bytes.subarray(21).toString('hex') } };
      if (type === 1) m = { ...m, open: decodeOpen(bytes) };
      this.received.push(m);
    }
    this.#wake();
  }
}
