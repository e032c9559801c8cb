/**
 * Sessions over loopback inside the sandbox's private network namespace: two Margay sessions that
 * connect to each other at once (collision, RFC 4271 §6.8), the listener refusing an unconfigured peer
 * (Cease 5), a dynamic neighbour from a listen range, back-off against a peer that always fails, and
 * UPDATE/ROUTE-REFRESH exchange with backpressure.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { packUpdates } from '../../bgp/codec/update-packer.js';
import { encodePathAttributes } from '../../bgp/codec/attributes-encode.js';
import type { RouteRefreshMessage, UpdateMessage } from '../../bgp/codec/types.js';
import {
  BgpListener,
  makeSessionConfig,
  Session,
  TcpTransport,
  type DownReason,
  type SessionConfigInput,
} from '../../bgp/session/index.js';
import { RawBgpPeer } from '../helpers/raw-bgp-peer.js';

const log = silentLogger();
const transport = new TcpTransport();
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function session(i: SessionConfigInput): Session {
  const s = new Session(makeSessionConfig(i), { log, transport });
  cleanups.push(() => s.stop());
  return s;
}
async function listener(address: string): Promise<BgpListener> {
  const l = new BgpListener({ addresses: [address], port: 0, log });
  await l.listen();
  cleanups.push(() => l.close());
  return l;
}
async function until(what: string, cond: () => boolean, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('two Margay sessions', () => {
  it('connect to each other at once: the collision keeps the connection opened by the higher BGP identifier', async () => {
    const la = await listener('127.0.0.1');
    const lb = await listener('127.0.0.1');
    const a = session({
      peerAddress: '127.0.0.1',
      peerPort: lb.ports[0],
      localAs: 65001,
      peerAs: 65002,
      routerId: '1.1.1.1',
      holdTimeSeconds: 9,
    });
    const b = session({
      peerAddress: '127.0.0.1',
      peerPort: la.ports[0],
      localAs: 65002,
      peerAs: 65001,
      routerId: '2.2.2.2',
      holdTimeSeconds: 9,
    });
    la.addPeer(a);
    lb.addPeer(b);
    a.start();
    b.start();
    await until('both Established', () => a.state === 'Established' && b.state === 'Established');
    // 2.2.2.2 > 1.1.1.1: the connection B opened survives, on both sides.
    expect(a.status.openedBy).toBe('peer');
    expect(b.status.openedBy).toBe('us');
    expect(a.localAddress).toBe('127.0.0.1');
    expect(b.status.localAddress).toBe('127.0.0.1');
    // Each side dumped its losing connection with Cease 7 (and that is not a failure).
    expect(a.status.notificationsOut + b.status.notificationsOut).toBeGreaterThanOrEqual(1);
    expect(a.status.failures + b.status.failures).toBe(0);
    // It stays up: no flap over a few keepalive periods (hold 9 s → keepalive 3 s).
    await new Promise((r) => setTimeout(r, 3500));
    expect(a.status.flaps + b.status.flaps).toBe(0);
    expect(a.status.keepalivesIn).toBeGreaterThanOrEqual(2);
  });

  it('exchange UPDATEs with backpressure and route refresh', async () => {
    const lb = await listener('127.0.0.1');
    const b = session({ peerAddress: '127.0.0.1', localAs: 65002, peerAs: 65001, routerId: '2.2.2.2', passive: true });
    lb.addPeer(b);
    const a = session({
      peerAddress: '127.0.0.1',
      peerPort: lb.ports[0],
      localAs: 65001,
      peerAs: 65002,
      routerId: '1.1.1.1',
    });
    const got: UpdateMessage[] = [];
    const refreshes: RouteRefreshMessage[] = [];
    let prefixes = 0;
    b.on('update', (u) => {
      got.push(u);
      prefixes += u.nlri.count;
    });
    b.on('routeRefresh', (r) => refreshes.push(r));
    b.start();
    a.start();
    await until('Established', () => a.state === 'Established' && b.state === 'Established');
    expect(a.negotiated?.extendedMessages).toBe(true);
    // 12 MB of UPDATEs: more than the kernel can absorb (sender sndbuf ≤ 4 MiB by autotuning, receiver
    // rcvbuf capped at 256 KiB plus its 1 MiB read-ahead), so send() must report back-pressure. 200k
    // prefixes (0.8 MB) no longer did on Node 24, whose sockets write straight into the kernel buffer.
    const N = 3_000_000;
    const addresses = new Uint8Array(N * 4);
    const lengths = new Uint8Array(N).fill(32);
    for (let i = 0; i < N; i++) new DataView(addresses.buffer).setUint32(i * 4, 0x0a000000 + i);
    const attributes = encodePathAttributes(
      { origin: 0, asPath: [{ type: 2, asns: [65001] }], nextHop: '192.0.2.1' },
      { fourOctetAs: true, extendedMessages: true },
    );
    const msgs = packUpdates({
      attributes,
      prefixes: { afi: 1, count: N, lengths, addresses },
      addPath: false,
      maxMessageLength: 65535,
    });
    let i = 0;
    let sawBackpressure = false;
    await new Promise<void>((resolve) => {
      const pump = (): void => {
        while (i < msgs.length) {
          const ok = a.send([msgs[i++]!]);
          if (!ok) {
            sawBackpressure = true;
            a.once('drain', pump);
            return;
          }
        }
        resolve();
      };
      pump();
    });
    await until('all prefixes received', () => prefixes === N, 20_000);
    expect(sawBackpressure).toBe(true);
    expect(a.status.updatesOut).toBe(msgs.length);
    expect(b.status.updatesIn).toBe(msgs.length);
    expect(a.sendRouteRefresh(1, 1)).toBe(true);
    await until('route refresh', () => refreshes.length === 1);
    expect(refreshes[0]).toMatchObject({ afi: 1, safi: 1, subtype: 0 });
  });

  it('one refused the other while backing off: they still come up (no alternating back-off livelock)', async () => {
    // A's first attempt reaches B before B knows A (Cease 5), so A backs off; B then calls A during
    // A's back-off. Refusing that (B backs off in turn, A's next call lands in B's back-off, ...)
    // kept a restarted mesh node from ever becoming ready. Fixed jitter: A waits 0.75 s × 2^n, B ~1 s × 2^n.
    const la = await listener('127.0.0.1');
    const lb = await listener('127.0.0.1');
    const mk = (i: SessionConfigInput, r: number): Session => {
      const s = new Session(makeSessionConfig(i), { log, transport, random: () => r });
      cleanups.push(() => s.stop());
      return s;
    };
    const a = mk(
      {
        peerAddress: '127.0.0.1',
        peerPort: lb.ports[0],
        localAs: 65001,
        peerAs: 65002,
        routerId: '1.1.1.1',
      },
      0,
    );
    const b = mk(
      {
        peerAddress: '127.0.0.1',
        peerPort: la.ports[0],
        localAs: 65002,
        peerAs: 65001,
        routerId: '2.2.2.2',
      },
      0.99,
    );
    la.addPeer(a);
    a.start();
    await until('A refused by B, backing off', () => a.status.failures === 1 && a.state === 'Idle');
    expect(a.status.lastError).toBe('notification-received (received 6/5)');
    lb.addPeer(b);
    b.start();
    await until('both Established', () => a.state === 'Established' && b.state === 'Established', 3000);
    expect(b.status.openedBy).toBe('us');
    expect(b.status.failures).toBe(0);
  });
});

describe('listener', () => {
  it('refuses an unconfigured peer with Cease 5 (connection rejected)', async () => {
    const l = await listener('127.0.0.1');
    l.addPeer(session({ peerAddress: '127.0.0.2', localAs: 65001, peerAs: 65002, routerId: '1.1.1.1', passive: true }));
    const raw = await RawBgpPeer.connect('127.0.0.1', l.ports[0]!, '127.0.0.3');
    cleanups.push(() => raw.close());
    expect(await raw.notification()).toEqual({ code: 6, subcode: 5, data: '' });
    await raw.closed;
  });

  it('accepts a dynamic neighbour inside a listen range, with the AS range it allows', async () => {
    const l = await listener('127.0.0.1');
    const made: Session[] = [];
    l.addRange({
      prefix: '127.0.0.0/24',
      accept: (address) => {
        const s = session({
          peerAddress: address,
          localAs: 65001,
          peerAs: { min: 65100, max: 65199 },
          routerId: '1.1.1.1',
          passive: true,
        });
        s.start();
        made.push(s);
        return s;
      },
    });
    const raw = await RawBgpPeer.connect('127.0.0.1', l.ports[0]!, '127.0.0.4');
    cleanups.push(() => raw.close());
    await raw.handshake({ asn: 65123, bgpId: '127.0.0.4' });
    await until('dynamic session Established', () => made[0]?.state === 'Established');
    expect(made[0]!.config.peerAddress).toBe('127.0.0.4');
    expect(made[0]!.negotiated?.peerAs).toBe(65123);
    // Outside the AS range: 2/2.
    const raw2 = await RawBgpPeer.connect('127.0.0.1', l.ports[0]!, '127.0.0.5');
    cleanups.push(() => raw2.close());
    raw2.sendOpen({ asn: 65001 + 1000, bgpId: '127.0.0.5' });
    expect((await raw2.notification()).subcode).toBe(2);
  });
});

describe('graceful restart', () => {
  it('a GR peer that reconnects while its session is Established has restarted: the old session ends, the new one comes up', async () => {
    const l = await listener('127.0.0.1');
    const s = session({
      peerAddress: '127.0.0.1',
      localAs: 65001,
      peerAs: 65002,
      routerId: '1.1.1.1',
      passive: true,
      gracefulRestart: { restartTimeSeconds: 120, restarting: false, notification: true, forwardingPreserved: [] },
    });
    const downs: DownReason[] = [];
    s.on('down', (w) => downs.push(w));
    l.addPeer(s);
    s.start();
    const gr = {
      asn: 65002,
      bgpId: '2.2.2.2',
      capabilities: [
        { kind: 'multiprotocol', afi: 1, safi: 1 },
        { kind: 'four-octet-as', asn: 65002 },
        {
          kind: 'graceful-restart',
          restarting: false,
          notification: true,
          restartTime: 90,
          families: [{ afi: 1, safi: 1, forwardingPreserved: true }],
        },
      ],
    } as const;
    const first = await RawBgpPeer.connect('127.0.0.1', l.ports[0]!);
    cleanups.push(() => first.close());
    await first.handshake(gr);
    await until('first Established', () => s.state === 'Established');
    expect(s.negotiated?.peerGracefulRestart).toMatchObject({ notification: true, restartTimeSeconds: 90 });
    const second = await RawBgpPeer.connect('127.0.0.1', l.ports[0]!);
    cleanups.push(() => second.close());
    await second.handshake({
      ...gr,
      capabilities: gr.capabilities.map((c) => (c.kind === 'graceful-restart' ? { ...c, restarting: true } : c)),
    });
    await until('second Established', () => s.state === 'Established' && downs.length === 1);
    expect(downs[0]!.reason).toBe('tcp-failed: peer reconnected (graceful restart)');
    expect(s.negotiated?.peerGracefulRestart?.restarting).toBe(true);
    await first.closed;
  });
});

describe('back-off', () => {
  it('a peer that rejects every OPEN is retried with growing delays, never at line rate', async () => {
    const { port, server } = await RawBgpPeer.listen('127.0.0.1');
    cleanups.push(() => void server.close());
    const attempts: number[] = [];
    server.on('connection', (sock) => {
      attempts.push(Date.now());
      // Answer every connection with a NOTIFICATION 2/2 at once.
      sock.on('error', (err) => expect(err).toBeInstanceOf(Error));
      sock.end(Buffer.concat([Buffer.alloc(16, 0xff), Buffer.from([0, 21, 3, 2, 2])]));
    });
    const s = session({
      peerAddress: '127.0.0.1',
      peerPort: port,
      localAs: 65001,
      peerAs: 65002,
      routerId: '1.1.1.1',
      connectRetrySeconds: 1,
    });
    s.start();
    await new Promise((r) => setTimeout(r, 4000));
    s.stop();
    // Back-off 1, 2, 4 s (×0.75..1 jitter): attempts at ~0, ~1, ~3 → at most 4 in 4 s, at least 2.
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    expect(attempts.length).toBeLessThanOrEqual(4);
    const gaps = attempts.slice(1).map((t, k) => t - attempts[k]!);
    for (let k = 1; k < gaps.length; k++) expect(gaps[k]!).toBeGreaterThan(gaps[k - 1]! * 1.3);
    expect(s.status.failures).toBeGreaterThanOrEqual(2);
    expect(s.status.lastError).toBe('notification-received (received 2/2)');
  });
});

describe('send hold timer (RFC 9687)', () => {
  it('a peer that stops reading is dropped with 8/0 once nothing could be written for sendHoldSeconds', async () => {
    const { port, server, accepted } = await RawBgpPeer.listen('127.0.0.1');
    cleanups.push(() => void server.close());
    const s = session({
      peerAddress: '127.0.0.1',
      peerPort: port,
      localAs: 65001,
      peerAs: 65002,
      routerId: '1.1.1.1',
      sendHoldSeconds: 2,
    });
    const downs: DownReason[] = [];
    s.on('down', (w) => downs.push(w));
    s.start();
    const raw = await accepted;
    cleanups.push(() => raw.close());
    await raw.handshake({ asn: 65002, bgpId: '2.2.2.2' });
    await until('Established', () => s.state === 'Established');
    raw.socket.pause(); // the peer stops reading: its receive window and our send buffer fill up
    const N = 800;
    const addresses = new Uint8Array(N * 4).map((_, k) => k);
    const attributes = encodePathAttributes(
      { origin: 0, asPath: [{ type: 2, asns: [65001] }], nextHop: '192.0.2.1' },
      { fourOctetAs: true, extendedMessages: false },
    );
    const msgs = packUpdates({
      attributes,
      prefixes: { afi: 1, count: N, lengths: new Uint8Array(N).fill(32), addresses },
      addPath: false,
      maxMessageLength: 4096,
    });
    const t0 = Date.now();
    const pump = (): void => {
      while (s.state === 'Established') if (!s.send(msgs)) return void s.once('drain', pump);
    };
    pump();
    await until('send hold expiry', () => downs.length > 0, 30_000);
    expect(downs[0]).toMatchObject({ reason: 'send-hold-timer-expired', sent: { code: 8, subcode: 0 }, error: true });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2000);
    expect(s.status.lastError).toBe('send-hold-timer-expired (sent 8/0)');
  });
});

describe('IPv6 transport', () => {
  it('two sessions over ::1 with TCP-MD5 and GTSM on both the outgoing socket and the listener', async () => {
    const l = await listener('::1');
    const key = 'v6-key';
    const b = session({
      peerAddress: '::1',
      localAs: 65002,
      peerAs: 65001,
      routerId: '2.2.2.2',
      passive: true,
      md5Password: key,
      ttlSecurityHops: 1,
      families: [0x0201],
    });
    l.addPeer(b);
    b.start();
    const a = session({
      peerAddress: '::1',
      peerPort: l.ports[0],
      localAs: 65001,
      peerAs: 65002,
      routerId: '1.1.1.1',
      md5Password: key,
      ttlSecurityHops: 1,
      families: [0x0201],
    });
    a.start();
    await until('Established over IPv6', () => a.state === 'Established' && b.state === 'Established');
    expect([...a.negotiated!.families]).toEqual([0x0201]);
    // A wrong key from the same address never gets a message through.
    a.stop();
    await until('b down', () => b.state !== 'Established');
    const c = session({
      peerAddress: '::1',
      peerPort: l.ports[0],
      localAs: 65001,
      peerAs: 65002,
      routerId: '1.1.1.1',
      md5Password: 'wrong',
      families: [0x0201],
    });
    c.start();
    await new Promise((r) => setTimeout(r, 2500));
    expect(c.state).not.toBe('Established');
    expect(c.status.messagesIn).toBe(0);
  });
});
