/**
 * Receive back-pressure (issue 8 §5): a raw peer pushes a 3M-prefix table (≈15 MB, more than the
 * kernel's socket buffers hold) into a session whose consumer (standing in for the RIB) is slowed down.
 * The session must not read the table ahead of the consumer: what it has read but not delivered stays
 * under the high-water mark plus one socket read, the socket is paused and resumed (TCP pushes back on
 * the peer, whose writes queue up), every prefix still arrives in order, and timers keep working while
 * paused — our keepalives go out every second, our hold timer (3 s) does not expire although the
 * peer's own keepalives sit behind the table — and once the peer really goes silent, it does expire.
 */
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { encodePathAttributes } from '../../bgp/codec/attributes-encode.js';
import { forEachNlri } from '../../bgp/codec/prefix.js';
import { packUpdates } from '../../bgp/codec/update-packer.js';
import { makeSessionConfig, Session, TcpTransport } from '../../bgp/session/index.js';
import { silentLogger } from '../../src/log.js';
import { waitFor } from '../helpers/bgp-daemons.js';
import { RawBgpPeer } from '../helpers/raw-bgp-peer.js';

const N = 3_000_000;
const HIGH = 256 * 1024;
const LOW = 64 * 1024;
/** One socket read is at most this (libuv reads 64 KiB) — what may land on top of a full backlog. */
const ONE_READ = 64 * 1024;
const WORK_MS_PER_UPDATE = 2;

function table(): Buffer[] {
  const addresses = new Uint8Array(N * 4);
  const view = new DataView(addresses.buffer);
  for (let i = 0; i < N; i++) view.setUint32(i * 4, (0x64400000 + i) >>> 0);
  const attributes = encodePathAttributes(
    { origin: 0, asPath: [{ type: 2, asns: [65010] }], nextHop: '127.0.0.2' },
    { fourOctetAs: true, extendedMessages: false },
  );
  return packUpdates({
    attributes,
    prefixes: { afi: 1, count: N, lengths: new Uint8Array(N).fill(32), addresses },
    addPath: false,
    maxMessageLength: 4096,
  });
}

describe('receive back-pressure', () => {
  it('pauses the socket at the high-water mark, resumes below the low-water mark, keeps timers working', async () => {
    const msgs = table();
    const total = msgs.reduce((s, m) => s + m.length, 0);
    const { port, server, accepted } = await RawBgpPeer.listen('127.0.0.1');
    const session = new Session(
      makeSessionConfig({
        peerAddress: '127.0.0.1',
        peerPort: port,
        localAs: 65001,
        peerAs: 65010,
        routerId: '10.0.0.1',
        holdTimeSeconds: 3,
        maxBacklogBytes: HIGH,
        resumeBacklogBytes: LOW,
      }),
      { log: silentLogger(), transport: new TcpTransport() },
    );
    try {
      session.start();
      const raw = await accepted;
      await raw.handshake({ asn: 65010, holdTime: 3, bgpId: '192.0.2.10' });
      await waitFor('Established', async () => session.state === 'Established', 5000, 10);
      const handshakeBytes = session.status.bytesIn ?? 0;

      let delivered = 0;
      let prefixes = 0;
      let consumed = handshakeBytes;
      let maxAhead = 0;
      let inOrder = true;
      session.on('update', (u) => {
        consumed += msgs[delivered]!.length;
        delivered++;
        forEachNlri(u.nlri, (_id, _len, buf, off) => {
          if (buf.readUInt32BE(off) !== (0x64400000 + prefixes) >>> 0) inOrder = false;
          prefixes++;
        });
        maxAhead = Math.max(maxAhead, (session.status.bytesIn ?? 0) - consumed);
        const until = performance.now() + WORK_MS_PER_UPDATE;
        while (performance.now() < until); // a busy RIB
      });

      const keepalivesBefore = raw.received.filter((m) => m.type === 4).length;
      const t0 = performance.now();
      let peerQueuedMax = 0;
      const sample = setInterval(() => (peerQueuedMax = Math.max(peerQueuedMax, raw.socket.writableLength)), 50);
      for (const m of msgs) raw.send(m);
      raw.sendKeepalive(); // the peer's keepalive, behind its whole table
      try {
        await waitFor(
          'whole table delivered',
          async () => prefixes === N || session.state !== 'Established',
          120_000,
          50,
        );
      } finally {
        clearInterval(sample);
      }
      const seconds = (performance.now() - t0) / 1000;
      const st = session.status;
      const keepalivesDuring = raw.received.filter((m) => m.type === 4).length - keepalivesBefore;
      console.log(
        `back-pressure: ${N} prefixes (${(total / 2 ** 20).toFixed(1)} MiB, ${msgs.length} UPDATEs) in ${seconds.toFixed(1)} s; ` +
          `read ahead of the consumer ≤ ${(maxAhead / 1024).toFixed(0)} KiB (high-water ${HIGH / 1024} KiB); paused ${st.receivePauses}×; ` +
          `peer's unsent queue up to ${(peerQueuedMax / 2 ** 20).toFixed(1)} MiB; our keepalives during the flood ${keepalivesDuring}`,
      );

      expect(session.state).toBe('Established');
      expect(st.flaps).toBe(0);
      expect(prefixes).toBe(N);
      expect(inOrder).toBe(true);
      // The flood outlasted the hold time several times over: only the re-arm kept the session up…
      expect(seconds).toBeGreaterThan(3 * 2);
      // …the read-ahead stayed bounded, by pausing (and resuming) the socket many times,
      expect(maxAhead).toBeLessThanOrEqual(HIGH + ONE_READ);
      expect(st.receivePauses!).toBeGreaterThan(3);
      expect(st.backlogMaxBytes!).toBeLessThanOrEqual(HIGH + ONE_READ);
      // …so TCP pushed back: the peer could not hand its table to the kernel at once,
      expect(peerQueuedMax).toBeGreaterThan(total / 4);
      // …and our keepalives kept going out (keepalive 1 s, jittered ×0.75..1).
      expect(keepalivesDuring).toBeGreaterThanOrEqual(Math.floor(seconds) - 1);

      // A peer that really goes silent still loses the session on hold-timer expiry (3 s).
      const silentAt = performance.now();
      await waitFor('hold timer expired', async () => session.state !== 'Established', 10_000, 50);
      const downAfter = (performance.now() - silentAt) / 1000;
      expect(downAfter).toBeGreaterThan(2);
      expect(downAfter).toBeLessThan(6);
      const note = await raw.notification(5000);
      expect([note.code, note.subcode]).toEqual([4, 0]);
    } finally {
      session.stop();
      server.close();
    }
  }, 150_000);
});
