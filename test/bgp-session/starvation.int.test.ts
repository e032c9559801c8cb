/**
 * Never starved (issue item 9): while one session receives 1M prefixes and its consumer does heavy
 * synchronous work on every UPDATE, a second session — to a real BIRD with hold time 3 s, in its own
 * namespace — stays Established: our keepalives keep going out and our hold timer keeps seeing BIRD's.
 */
import { describe, expect, it } from 'vitest';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { silentLogger } from '../../src/log.js';
import { encodePathAttributes } from '../../bgp/codec/attributes-encode.js';
import { forEachNlri } from '../../bgp/codec/prefix.js';
import { packUpdates } from '../../bgp/codec/update-packer.js';
import { makeSessionConfig, Session, TcpTransport } from '../../bgp/session/index.js';
import { startBird, waitFor } from '../helpers/bgp-daemons.js';
import { withNetns } from '../helpers/netns.js';
import { RawBgpPeer } from '../helpers/raw-bgp-peer.js';
import { linkToHost, unlinkFromHost } from './host-link.js';

const N = 1_000_000;
/** Simulated RIB work per UPDATE (on top of walking every prefix): ~1250 UPDATEs → ~8 s of CPU. */
const WORK_MS_PER_UPDATE = 6;

function floodMessages(): Buffer[] {
  const addresses = new Uint8Array(N * 4);
  const view = new DataView(addresses.buffer);
  for (let i = 0; i < N; i++) view.setUint32(i * 4, (0x64000000 + i) >>> 0);
  const attributes = encodePathAttributes(
    {
      origin: 0,
      asPath: [{ type: 2, asns: [65010, 65020, 65030] }],
      nextHop: '192.0.2.10',
      med: 10,
      communities: [0xfdea0001],
    },
    { fourOctetAs: true, extendedMessages: false },
  );
  return packUpdates({
    attributes,
    prefixes: { afi: 1, count: N, lengths: new Uint8Array(N).fill(32), addresses },
    addPath: false,
    maxMessageLength: 4096,
  });
}

describe('never starved', () => {
  // The intermittent failure seen in CI (2 of 3 runs, once retried twice) was not a session drop: BIRD
  // keeps "since" as a monotonic instant and prints it as wall-clock time through the current offset,
  // so the same instant reads …44.055 on one call and …44.056 on the next. Our side never saw a flap and
  // the loop never stalled. "since" is now compared with a 1 s tolerance, below any real re-establish
  // (our connect retry is 1 s; BIRD waits its error-wait time, ≥ 60 s, after a hold-timer expiry), next
  // to our own flap counter (any drop on BIRD's side closes the TCP connection, which counts as a flap).
  it('a hold-time-3 s session to BIRD stays Established while 1M prefixes arrive on another session', {
    timeout: 180_000,
  }, async () => {
    await withNetns(async (ns) => {
      const { hostIf } = await linkToHost(ns, '10.78.0.1/24', '10.78.0.2/24');
      const bird = await startBird(
        ns,
        `router id 10.78.0.2;
protocol device {}
protocol bgp margay {
  local 10.78.0.2 as 65002; neighbor 10.78.0.1 as 65001;
  hold time 3; keepalive time 1; passive on;
  ipv4 { import all; export none; };
}`,
      );
      const log = silentLogger();
      const transport = new TcpTransport();
      const toBird = new Session(
        makeSessionConfig({
          peerAddress: '10.78.0.2',
          localAddress: '10.78.0.1',
          localAs: 65001,
          peerAs: 65002,
          routerId: '10.78.0.1',
          holdTimeSeconds: 3,
          connectRetrySeconds: 1,
        }),
        { log, transport },
      );
      const { port, server, accepted } = await RawBgpPeer.listen('127.0.0.1');
      const flooded = new Session(
        makeSessionConfig({
          peerAddress: '127.0.0.1',
          peerPort: port,
          localAs: 65001,
          peerAs: 65010,
          routerId: '10.78.0.1',
        }),
        { log, transport },
      );
      try {
        toBird.start();
        await waitFor('session to BIRD', async () => toBird.state === 'Established', 15_000, 20);
        const since = await birdSince(bird.birdc.bind(bird));

        let prefixes = 0;
        let checksum = 0;
        flooded.on('update', (u) => {
          forEachNlri(u.nlri, (_id, len, buf, off) => {
            checksum = (checksum + buf[off + 3]! + len) | 0;
            prefixes++;
          });
          const until = performance.now() + WORK_MS_PER_UPDATE;
          while (performance.now() < until); // the consumer is busy: a RIB doing real work
        });
        flooded.start();
        const raw = await accepted;
        await raw.handshake({ asn: 65010, holdTime: 0, bgpId: '192.0.2.10' });
        await waitFor('flooded session', async () => flooded.state === 'Established', 5000, 10);

        const messages = floodMessages(); // the test's own work, before the loop is watched
        const delay = monitorEventLoopDelay({ resolution: 10 });
        delay.enable();
        let maxGap = 0;
        let last = performance.now();
        const tick = setInterval(() => {
          const now = performance.now();
          maxGap = Math.max(maxGap, now - last);
          last = now;
        }, 20);
        const birdStates: BirdState[] = [];
        const t0 = performance.now();
        for (const m of messages) raw.send(m);
        try {
          await waitFor(
            '1M prefixes delivered',
            async () => {
              birdStates.push(await birdSince(bird.birdc.bind(bird)));
              return prefixes === N;
            },
            120_000,
            250,
          );
        } finally {
          clearInterval(tick);
          delay.disable();
        }
        const maxDelayMs = delay.max / 1e6;
        const seconds = (performance.now() - t0) / 1000;
        // The consumer really was busy for far longer than the 3 s hold time…
        expect(seconds).toBeGreaterThan(3 * 2);
        // …yet the event loop never stalled for a whole keepalive interval (1 s),
        expect(maxGap).toBeLessThan(1000);
        expect(maxDelayMs).toBeLessThan(1000);
        // and the session to BIRD never went down on either side.
        expect(birdStates.length).toBeGreaterThan(0);
        for (const s of birdStates) {
          expect(s.state).toBe('up Established');
          expect(Math.abs(s.sinceMs - since.sinceMs)).toBeLessThan(1000);
        }
        expect(toBird.state).toBe('Established');
        expect(toBird.status.flaps).toBe(0);
        expect(toBird.status.keepalivesOut).toBeGreaterThanOrEqual(Math.floor(seconds) - 1);
        console.log(
          `never-starved: ${N} prefixes in ${seconds.toFixed(1)} s with ${WORK_MS_PER_UPDATE} ms work per UPDATE; max event-loop gap ${maxGap.toFixed(0)} ms (delay p99 ${(delay.percentile(99) / 1e6).toFixed(0)} ms, max ${maxDelayMs.toFixed(0)} ms); keepalives to BIRD ${toBird.status.keepalivesOut}`,
        );
      } finally {
        flooded.stop();
        toBird.stop();
        server.close();
        await bird.stop();
        await unlinkFromHost(hostIf);
      }
    });
  });
});

interface BirdState {
  readonly state: string;
  /** BIRD's "since" as milliseconds into the day (it prints a monotonic instant as wall-clock time). */
  readonly sinceMs: number;
}

/** BIRD's state and "since" for the protocol: a since that moves by a second or more is a flap. */
async function birdSince(birdc: (...a: string[]) => Promise<string>): Promise<BirdState> {
  const out = await birdc('show', 'protocols', 'margay');
  const line = out.split('\n').find((l) => l.startsWith('margay'));
  if (!line) throw new Error(`no margay protocol in: ${out}`);
  const f = line.trim().split(/\s+/); // margay BGP --- up 03:51:44.055 Established
  const m = /^(\d\d):(\d\d):(\d\d)(?:\.(\d{1,3}))?$/.exec(f[4] ?? '');
  if (!m) throw new Error(`unexpected BIRD since field in: ${line}`);
  const sinceMs =
    ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + Number((m[4] ?? '0').padEnd(3, '0'));
  return { state: `${f[3]} ${f.slice(5).join(' ')}`, sinceMs };
}
