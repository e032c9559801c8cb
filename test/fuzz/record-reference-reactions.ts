/**
 * Records how BIRD, FRR and GoBGP react to each malformed case of differential-cases.ts (their NOTIFICATION,
 * or none within 1.5 s) into bgp/codec/fixtures/reference-reactions.json, which the codec's unit test
 * bgp/codec/reference-reactions.test.ts compares with our own reactions. Run as root in the sandbox:
 *   scripts/in-sandbox.sh node dist/test/fuzz/record-reference-reactions.js [bird,frr,gobgp]
 */
import { writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { CASES, CAPS, HOST, OUR_AS, THEIR_AS } from './differential-cases.js';
import { MiniSpeaker } from './mini-speaker.js';
import { startBird, startFrr, startGobgp, type DaemonHandle } from '../helpers/bgp-daemons.js';
import { addVethToNetns, createNetns, deleteNetns, run } from '../helpers/netns.js';

const PEER = '10.255.9.2';

export async function startPeer(kind: string, ns: string): Promise<DaemonHandle> {
  if (kind === 'bird') {
    return startBird(
      ns,
      `router id ${PEER};
protocol device {}
protocol bgp t { local ${PEER} as ${THEIR_AS}; neighbor ${HOST} as ${OUR_AS}; ipv4 { import all; export none; }; ipv6 { import all; export none; }; }`,
    );
  }
  if (kind === 'frr') {
    return startFrr(
      ns,
      `frr defaults traditional
router bgp ${THEIR_AS}
 bgp router-id ${PEER}
 no bgp ebgp-requires-policy
 neighbor ${HOST} remote-as ${OUR_AS}
 address-family ipv6 unicast
  neighbor ${HOST} activate
 exit-address-family`,
    );
  }
  return startGobgp(
    ns,
    `[global.config]
  as = ${THEIR_AS}
  router-id = "${PEER}"
  port = -1
[[neighbors]]
  [neighbors.config]
    neighbor-address = "${HOST}"
    peer-as = ${OUR_AS}
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
`,
  );
}

/** The daemon's reaction to one case: 'code/subcode data' of its NOTIFICATION, or 'none' within `waitMs`. */
export async function reactionOf(kind: string, ns: string, c: (typeof CASES)[number], waitMs = 1500): Promise<string> {
  const sp = new MiniSpeaker({
    host: HOST,
    asn: OUR_AS,
    bgpId: 0x0aff0901,
    capabilities: CAPS,
    openOverride: c.phase === 'open' ? c.bytes : undefined,
  });
  const h = await startPeer(kind, ns);
  try {
    if (c.phase === 'open') {
      await Promise.race([sp.closed(), new Promise((r) => setTimeout(r, 8000))]);
      await new Promise((r) => setTimeout(r, 300));
    } else {
      await Promise.race([
        sp.established,
        new Promise((_r, rej) => setTimeout(() => rej(new Error(`${kind}: not established`)), 15_000)),
      ]);
      await sp.send([c.bytes]);
      await new Promise((r) => setTimeout(r, waitMs));
    }
    const n = sp.notifications()[0];
    return n && n.type === 'notification' ? `${n.errorCode}/${n.subcode} ${n.data.toString('hex')}`.trim() : 'none';
  } finally {
    await sp.close();
    await h.stop();
  }
}

async function version(kind: string): Promise<string> {
  if (kind === 'bird') return (await execa('bird', ['--version'], { reject: false })).stderr.trim();
  if (kind === 'frr')
    return (await execa('/usr/lib/frr/bgpd', ['--version'], { reject: false })).stdout.split('\n')[0]!.trim();
  return (await execa('gobgpd', ['--version'], { reject: false })).stdout.trim();
}

async function main(): Promise<void> {
  const kinds = (process.argv[2] ?? 'bird,frr,gobgp').split(',');
  const ns = await createNetns('dif');
  const out: {
    daemons: Record<string, string>;
    cases: { name: string; phase: string; hex: string; reactions: Record<string, string> }[];
  } = { daemons: {}, cases: [] };
  try {
    for (const k of kinds) out.daemons[k] = await version(k);
    const { hostIf } = await addVethToNetns(ns, { cidr: `${PEER}/24` });
    await run('ip', ['addr', 'add', `${HOST}/24`, 'dev', hostIf]);
    for (const c of CASES) {
      const reactions: Record<string, string> = {};
      for (const k of kinds) reactions[k] = await reactionOf(k, ns, c);
      out.cases.push({ name: c.name, phase: c.phase, hex: c.bytes.toString('hex'), reactions });
      process.stdout.write(
        `${c.name.padEnd(40)} ${Object.entries(reactions)
          .map(([k, v]) => `${k}: ${v}`)
          .join(' | ')}\n`,
      );
    }
  } finally {
    await deleteNetns(ns);
  }
  await writeFile('bgp/codec/fixtures/reference-reactions.json', `${JSON.stringify(out, null, 1)}\n`);
}

if (process.argv[1]?.endsWith('record-reference-reactions.js')) await main();
