/**
 * A minimal BGP speaker built only on the codec, for tests that need real daemons to judge our bytes
 * (encoder acceptance) or to record theirs (golden captures). It accepts one TCP session, answers
 * OPEN + KEEPALIVE, sends KEEPALIVEs every second and lets the test push raw messages.
 */
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import {
  decodeMessage,
  decodeOptions,
  encodeKeepalive,
  encodeOpen,
  encodeShutdown,
  Framer,
  MAX_EXTENDED_MESSAGE_LEN,
  type BgpMessage,
  type Capability,
  type OpenMessage,
} from '../../bgp/codec/index.js';

export interface MiniSpeakerOptions {
  readonly host: string;
  readonly asn: number;
  readonly bgpId: number;
  readonly capabilities: readonly Capability[];
  /** Send these bytes instead of our OPEN (malformed-OPEN tests). */
  readonly openOverride?: Buffer | undefined;
}

export class MiniSpeaker {
  readonly received: BgpMessage[] = [];
  /** Why the session never came up, once known. */
  failure: unknown;
  readonly #server: Server;
  #sock: Socket | undefined;
  #keepalive: NodeJS.Timeout | undefined;
  #open: OpenMessage | undefined;
  #resolveUp: ((o: OpenMessage) => void) | undefined;
  #rejectUp: ((e: Error) => void) | undefined;
  #markClosed: (() => void) | undefined;
  readonly #closed = new Promise<void>((res) => (this.#markClosed = res));
  /** Resolves with the peer's OPEN once the peer's first KEEPALIVE arrived (session Established). */
  readonly established: Promise<OpenMessage>;

  constructor(private readonly o: MiniSpeakerOptions) {
    this.established = new Promise<OpenMessage>((res, rej) => {
      this.#resolveUp = res;
      this.#rejectUp = rej;
    });
    // Tests that expect the peer to refuse us never await `established`: keep the failure as state.
    this.established.then(undefined, (e: unknown) => {
      this.failure = e;
    });
    this.#server = createServer((s) => this.#accept(s));
    this.#server.on('error', (e) => this.#rejectUp?.(e));
    this.#server.listen(179, o.host);
  }

  #accept(s: Socket): void {
    if (this.#sock) {
      s.destroy();
      return;
    }
    this.#sock = s;
    const framer = new Framer();
    s.on('data', (chunk: Buffer) => {
      for (const m of framer.push(chunk)) {
        const msg = decodeMessage(m, decodeOptions({ extendedMessages: true }));
        this.received.push(msg);
        if (msg.type === 'open') {
          this.#open = msg;
          if (
            msg.capabilities.some((c) => c.kind === 'extended-message') &&
            this.o.capabilities.some((c) => c.kind === 'extended-message')
          ) {
            framer.setMaxLength(MAX_EXTENDED_MESSAGE_LEN);
          }
          s.write(
            this.o.openOverride ??
              encodeOpen({ asn: this.o.asn, holdTime: 90, bgpId: this.o.bgpId, capabilities: this.o.capabilities }),
          );
          s.write(encodeKeepalive());
          this.#keepalive = setInterval(() => s.write(encodeKeepalive()), 1000);
        } else if (msg.type === 'keepalive' && this.#open) {
          this.#resolveUp?.(this.#open);
        } else if (msg.type === 'notification') {
          this.#rejectUp?.(
            new Error(`peer sent NOTIFICATION ${msg.errorCode}/${msg.subcode} ${msg.data.toString('hex')}`),
          );
        }
      }
    });
    s.on('error', (e) => this.#rejectUp?.(e));
    s.on('close', () => {
      clearInterval(this.#keepalive);
      this.#markClosed?.();
    });
  }

  /** Write messages, waiting for the socket to drain. */
  async send(messages: readonly Buffer[]): Promise<void> {
    const s = this.#sock;
    if (!s) throw new Error('no session');
    for (const m of messages) if (!s.write(m)) await once(s, 'drain');
  }

  /** Resolves when the first accepted TCP session has closed (waits for one to be accepted). */
  closed(): Promise<void> {
    return this.#closed;
  }

  /** The NOTIFICATIONs the peer sent so far. */
  notifications(): BgpMessage[] {
    return this.received.filter((m) => m.type === 'notification');
  }

  async close(): Promise<void> {
    clearInterval(this.#keepalive);
    if (this.#sock && !this.#sock.destroyed) this.#sock.end(encodeShutdown(2, 'test done'));
    this.#sock?.destroy();
    await new Promise<void>((res) => this.#server.close(() => res()));
  }
}
