/**
 * Captures real BGP messages from BIRD 2, FRR and GoBGP for the codec's golden tests
 * (bgp/codec/fixtures/*.json). Each daemon runs in its own network namespace joined by a veth to the
 * sandbox's namespace, where a minimal recorder speaker (this file, built on the codec) accepts the
 * session, answers OPEN + KEEPALIVE, records everything the daemon sends for a few seconds, then ends the
 * session with an RFC 9003 shutdown NOTIFICATION. Run as root inside the sandbox:
 *
 *   scripts/in-sandbox.sh node dist/test/fuzz/capture-golden.js [bird,frr,gobgp]
 */
import { writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { execa } from 'execa';
import {
  decodeMessage,
  decodeOptions,
  encodeKeepalive,
  encodeOpen,
  encodeShutdown,
  Framer,
} from '../../bgp/codec/index.js';
import { startBird, startFrr, startGobgp, sleep, type DaemonHandle } from '../helpers/bgp-daemons.js';
import { addVethToNetns, createNetns, deleteNetns, run } from '../helpers/netns.js';

const HOST = '10.255.7.1';
const PEER = '10.255.7.2';
const PEER6 = '2001:db8:ff::2';
const RECORD_MS = 4000;

interface Fixture {
  readonly daemon: string;
  readonly version: string;
  readonly note: string;
  readonly messages: string[];
}

/** Accept one session on HOST:179 and record what the peer sends. */
function record(): { done: Promise<string[]>; close: () => void } {
  const got: string[] = [];
  let sock: Socket | undefined;
  const server = createServer((s) => {
    sock = s;
    const framer = new Framer();
    let timer: NodeJS.Timeout | undefined;
    s.on('data', (chunk: Buffer) => {
      for (const m of framer.push(chunk)) {
        got.push(m.toString('hex'));
        const msg = decodeMessage(m, decodeOptions());
        if (msg.type === 'open') {
          s.write(
            encodeOpen({
              asn: 65001,
              holdTime: 90,
              bgpId: 0x0aff0701,
              capabilities: [
                { kind: 'multiprotocol', afi: 1, safi: 1 },
                { kind: 'multiprotocol', afi: 2, safi: 1 },
                { kind: 'route-refresh' },
                { kind: 'enhanced-route-refresh' },
                { kind: 'four-octet-as', asn: 65001 },
                { kind: 'graceful-restart', restarting: false, notification: true, restartTime: 120, families: [] },
              ],
            }),
          );
          s.write(encodeKeepalive());
          timer = setInterval(() => s.write(encodeKeepalive()), 1000);
          setTimeout(() => {
            clearInterval(timer);
            s.end(encodeShutdown(2, 'margay golden capture done'));
          }, RECORD_MS);
        }
      }
    });
    s.on('close', () => {
      clearInterval(timer);
      server.close();
    });
  });
  const done = new Promise<string[]>((resolve, reject) => {
    server.on('error', reject);
    server.on('close', () => resolve(got));
  });
  server.listen(179, HOST);
  return { done, close: () => (sock?.destroy(), server.close()) };
}

async function startDaemon(kind: string, ns: string): Promise<{ h: DaemonHandle; version: string }> {
  switch (kind) {
    case 'bird': {
      const h = await startBird(
        ns,
        `router id ${PEER};
protocol device {}
protocol static s4 { ipv4; route 10.10.0.0/16 blackhole; route 10.20.1.0/24 blackhole; route 192.0.2.128/25 blackhole; }
protocol static s6 { ipv6; route 2001:db8:100::/48 blackhole; route 2001:db8:200:1::/64 blackhole; }
protocol bgp up {
  local ${PEER} as 4200000001; neighbor ${HOST} as 65001;
  graceful restart on; long lived graceful restart off; enable extended messages on;
  ipv4 { import none; export filter { bgp_community.add((65001,100)); bgp_large_community.add((4200000001,1,2)); bgp_ext_community.add((rt,65001,7)); bgp_med = 50; accept; }; };
  ipv6 { import none; export all; next hop address ${PEER6}; };
}`,
      );
      return { h, version: (await execa('bird', ['--version'], { reject: false })).stderr.trim() };
    }
    case 'frr': {
      const h = await startFrr(
        ns,
        `frr defaults traditional
route-map SET permit 10
 set community 65001:100 no-export
 set large-community 4200000001:1:2
 set metric 50
router bgp 4200000001
 bgp router-id ${PEER}
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor ${HOST} remote-as 65001
 address-family ipv4 unicast
  network 10.10.0.0/16
  network 10.20.1.0/24
  network 192.0.2.128/25
  neighbor ${HOST} route-map SET out
 exit-address-family
 address-family ipv6 unicast
  network 2001:db8:100::/48
  network 2001:db8:200:1::/64
  neighbor ${HOST} activate
 exit-address-family`,
      );
      return {
        h,
        version: (await execa('/usr/lib/frr/bgpd', ['--version'], { reject: false })).stdout.split('\n')[0]!.trim(),
      };
    }
    default: {
      const h = await startGobgp(
        ns,
        `[global.config]
  as = 4200000001
  router-id = "${PEER}"
  port = -1
[[neighbors]]
  [neighbors.config]
    neighbor-address = "${HOST}"
    peer-as = 65001
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
`,
      );
      const g = h as DaemonHandle & { gobgp: (...a: string[]) => Promise<string> };
      await g.gobgp('global', 'rib', 'add', '10.10.0.0/16', 'community', '65001:100', 'med', '50', '-a', 'ipv4');
      await g.gobgp('global', 'rib', 'add', '10.20.1.0/24', 'large-community', '4200000001:1:2', '-a', 'ipv4');
      await g.gobgp('global', 'rib', 'add', '192.0.2.128/25', 'origin', 'incomplete', '-a', 'ipv4');
      await g.gobgp('global', 'rib', 'add', '2001:db8:100::/48', 'nexthop', PEER6, '-a', 'ipv6');
      await g.gobgp('global', 'rib', 'add', '2001:db8:200:1::/64', 'nexthop', PEER6, '-a', 'ipv6');
      return { h, version: (await execa('gobgpd', ['--version'], { reject: false })).stdout.trim() };
    }
  }
}

async function capture(kind: string): Promise<Fixture> {
  const ns = await createNetns('cap');
  try {
    const { hostIf } = await addVethToNetns(ns, { cidr: `${PEER}/24` });
    await run('ip', ['addr', 'add', `${HOST}/24`, 'dev', hostIf]);
    await run('ip', ['-n', ns, 'addr', 'add', `${PEER6}/64`, 'dev', 'eth0', 'nodad']);
    const rec = record();
    const { h, version } = await startDaemon(kind, ns);
    try {
      const timeout = sleep(30_000).then(() => {
        rec.close();
        throw new Error(`${kind}: no session within 30 s: ${''}`);
      });
      const messages = await Promise.race([rec.done, timeout]);
      return {
        daemon: kind,
        version,
        note: `eBGP AS 4200000001 → recorder AS 65001, ${RECORD_MS} ms after OPEN, then Cease 2`,
        messages,
      };
    } finally {
      await h.stop();
    }
  } finally {
    await deleteNetns(ns);
  }
}

async function main(): Promise<void> {
  const kinds = (process.argv[2] ?? 'bird,frr,gobgp').split(',');
  for (const kind of kinds) {
    const f = await capture(kind);
    const file = `bgp/codec/fixtures/${kind}.json`;
    await writeFile(file, `${JSON.stringify(f, null, 1)}\n`);
    process.stdout.write(`${kind}: ${f.messages.length} messages → ${file}\n`);
  }
}

await main();
